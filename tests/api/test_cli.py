#!/usr/bin/env python3
"""The command line (issue 2): help texts, version, key management, the
first-start key, and clear errors for bad flags."""
import os
import re
import subprocess

import mira_harness as H
from mira_harness import check, eq, has

KEY_RE = re.compile(r"^mira_[0-9a-f]{48}$")


def mira(*args, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("MIRA_") or k in ("MIRA_BIN", "MIRA_SRC")}
    e.update(env or {})
    r = subprocess.run([H.BIN, *args], capture_output=True, text=True, timeout=30, env=e)
    return r.returncode, r.stdout, r.stderr


def help_texts():
    rc, out, _ = mira("--help")
    eq("cli-1.1", rc, 0)
    for cmd in ("serve", "keys create", "keys list", "keys revoke", "version"):
        has("cli-1.1", out, cmd)
    rc, _, err = mira()
    eq("cli-1.2", rc, 2, "no command is a usage error")
    has("cli-1.2", err, "usage: mira COMMAND")
    rc, out, _ = mira("serve", "--help")
    eq("cli-1.3", rc, 0)
    for flag in ("--listen", "MIRA_LISTEN", "--port", "MIRA_PORT", "--data", "MIRA_DATA", "--workers",
                 "--max-upload", "--public-url", "--tls-cert", "--rate-limit", "--request-timeout"):
        has("cli-1.3", out, flag)
    rc, out, _ = mira("keys", "--help")
    eq("cli-1.4", rc, 0)
    has("cli-1.4", out, "mira keys create --account NAME")
    rc, out, _ = mira("version")
    eq("cli-1.5", rc, 0)
    check("cli-1.5", re.match(r"^mira \d+\.\d+\.\d+\n$", out) is not None, "version line", out)
    rc, _, err = mira("frobnicate")
    eq("cli-1.6", rc, 2)
    has("cli-1.6", err, "unknown command 'frobnicate'")
    rc, _, err = mira("serve", "--port", "http")
    eq("cli-1.7", rc, 2)
    has("cli-1.7", err, "--port must be a number between 0 and 65535 (got 'http')")
    rc, _, err = mira("serve", "--bogus", "1")
    eq("cli-1.8", rc, 2)
    has("cli-1.8", err, "unknown option '--bogus'")
    rc, _, err = mira("serve", env={"MIRA_WORKERS": "many"})
    eq("cli-1.9", rc, 2, "bad env values are errors too")
    has("cli-1.9", err, "--workers must be a number")
    rc, _, err = mira("serve", "--video-preset", "turbo")
    eq("cli-1.10", rc, 2)
    has("cli-1.10", err, "unknown x264 preset 'turbo'")
    rc, _, err = mira("serve", env={"MIRA_VIDEO_CRF": "0"})
    eq("cli-1.10", rc, 2)
    has("cli-1.10", err, "--video-crf must be a number between 1 and 51")


def keys():
    data = os.path.join(H.tempdir("cli"), "data")
    rc, _, err = mira("keys", "create", "--data", data)
    check("cli-2.1", rc != 0, "create without --account fails", rc)
    has("cli-2.1", err, "--account NAME is required")
    rc, out, _ = mira("keys", "create", "--account", "acme", "--data", data)
    eq("cli-2.2", rc, 0)
    key = out.strip().splitlines()[-1]
    check("cli-2.2", KEY_RE.match(key) is not None, "the key is alone on the last line", key)
    rc, out, _ = mira("keys", "list", "--data", data)
    eq("cli-2.3", rc, 0)
    has("cli-2.3", out, "acme")
    has("cli-2.3", out, key[:12])
    check("cli-2.3", key not in out, "list never shows the whole key")
    with open(os.path.join(data, "mira.db"), "rb") as f:
        db = f.read()
    for name in os.listdir(data):
        if name.startswith("mira.db-"):
            with open(os.path.join(data, name), "rb") as f:
                db += f.read()
    check("cli-2.4", key.encode() not in db, "the key is not stored, only its hash")
    rc, _, err = mira("keys", "revoke", "cnosuchkeynosuchkeynosuch", "--data", data)
    check("cli-2.5", rc != 0, "revoking an unknown key fails", rc)
    rc, out, _ = mira("keys", "revoke", key[:12], "--data", data)
    eq("cli-2.6", rc, 0)
    rc, out, _ = mira("keys", "list", "--data", data)
    check("cli-2.6", re.search(r"acme\s+\S+Z\s+\S+Z", out) is not None, "list shows the revoke time", out)


def first_start():
    srv = H.Server(H.tempdir("cli-first"), workers=0).start()
    srv.stop()
    with open(srv.log_out) as f:
        out = f.read()
    key = out.strip().splitlines()[-1] if out.strip() else ""
    check("cli-3.1", KEY_RE.match(key) is not None, "first start prints a key on its last line", out)
    r = srv.start().request("GET", "/api/avatars", key=key)
    eq("cli-3.2", r.status, 200, "the printed key works")
    srv.stop()
    with open(srv.log_out) as f:
        again = f.read()
    check("cli-3.3", "mira_" not in again, "a second start creates no key", again)
    eq("cli-3.4", srv.count("api_keys"), 1)


def speech_commands():
    """mira voices / mira speak (issue 3): the engines without a server."""
    import json
    import struct
    rc, out, _ = mira("voices")
    eq("cli-4.1", rc, 0)
    rows = out.strip().splitlines()[1:]
    eq("cli-4.1", len(rows), 36, "the curated catalog")
    check("cli-4.1", any("flite" in r and " rms " in r for r in rows), "flite rms listed")
    rc, out, _ = mira("voices", "--all")
    check("cli-4.2", rc == 0 and len(out.strip().splitlines()) > 100, "--all lists every installed voice")
    tmp = H.tempdir("cli-speak")
    wav, tl = os.path.join(tmp, "a.wav"), os.path.join(tmp, "a.json")
    rc, out, err = mira("speak", "--voice", "flite:rms", "--text", 'Hello there. <break time="400ms"/> Bye.',
                        "--out", wav, "--timeline", tl)
    eq("cli-4.3", rc, 0, err)
    with open(wav, "rb") as f:
        data = f.read()
    check("cli-4.3", data[:4] == b"RIFF" and struct.unpack("<I", data[24:28])[0] == 16000, "a 16 kHz WAV")
    with open(tl) as f:
        t = json.load(f)
    eq("cli-4.4", [w["text"] for w in t["words"]], ["Hello", "there", "Bye"])
    samples = (len(data) - 44) // 2
    check("cli-4.4", abs(t["durationMs"] - samples * 1000 // 16000) <= 1, "timeline duration = WAV length")
    check("cli-4.4", t["phonemes"][-1]["end"] == t["durationMs"] and t["visemes"][0]["start"] == 0,
          "phonemes and visemes cover the audio")
    rc, _, err = mira("speak", "--voice", "flite:nosuch", "--text", "x", "--out", wav)
    check("cli-4.5", rc == 1, "unknown voice fails", rc)
    has("cli-4.5", err, "unknown flite voice 'nosuch'")
    rc, _, err = mira("speak", "--voice", "flite:rms", "--out", wav)
    eq("cli-4.6", rc, 2, "missing --text is a usage error")


def face_command():
    """mira face (issue 4): boxes and 68 points, JSON shape, annotated PNG, --box."""
    import json
    fixtures = os.path.join(os.environ.get("MIRA_SRC", "."), "tests", "fixtures", "faces")
    img = os.path.join(fixtures, "astronaut.gray.png")
    with open(os.path.join(fixtures, "astronaut.json")) as f:
        ref = json.load(f)
    rc, out, err = mira("face", img, "--json")
    eq("cli-5.1", rc, 0, err)
    doc = json.loads(out or "{}")
    faces = doc.get("faces", [])
    eq("cli-5.1", [f["box"] for f in faces], ref["detections"]["haarcascade_frontalface_default"])
    eq("cli-5.2", faces[0]["landmarks"] if faces else None, ref["landmarks"][0]["points"], "dlib's rounded points")
    eq("cli-5.3", doc.get("verdict"), "ok")
    png = os.path.join(H.tempdir("cli-face"), "annotated.png")
    rc, out, err = mira("face", img, "--out", png, "--box", "177,66,95,95")
    eq("cli-5.4", rc, 0, err)
    with open(png, "rb") as f:
        check("cli-5.4", f.read(8) == b"\x89PNG\r\n\x1a\n", "an annotated PNG")
    has("cli-5.4", out, "face 1: box 177,66,95,95")
    rc, _, err = mira("face", img, "--box", "1,2,3")
    eq("cli-5.5", rc, 2)
    rc, _, err = mira("face", os.path.join(fixtures, "README.md"))
    eq("cli-5.6", rc, 1)
    has("cli-5.6", err, "is not a PNG, JPEG or WebP image")


def main():
    H.sections(help_texts, keys, first_start, speech_commands, face_command)


if __name__ == "__main__":
    H.run(main, limit_s=60)
