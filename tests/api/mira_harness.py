"""Helpers for Mira's end-to-end tests: start a real `mira serve` on a free
loopback port with its own data directory, speak HTTP to it, look into its
SQLite database and blob directory, and count checks.

    import mira_harness as H
    def main():
        srv = H.Server(H.tempdir("api"), workers=1)
        srv.start()
        key = srv.create_key("alice")
        r = srv.request("GET", "/api/avatars", key=key)
        H.eq("api-catalog-1.1", r.status, 200)
    H.run(main)          # prints "N passed, M failed", exits 1 on failure

Environment: MIRA_BIN (the built binary; default ../../build/mira relative to
this file), MIRA_SRC (source dir), MIRA_TEST_KEEP=1 keeps temp dirs.
Only the Python 3 standard library is used.
"""

import atexit
import ctypes
import hashlib
import hmac
import http.client
import inspect
import json as _json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("MIRA_SRC") or os.path.normpath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("MIRA_BIN") or os.path.join(SRC, "build", "mira")
KEEP = os.environ.get("MIRA_TEST_KEEP") == "1"

# What a job of each kind fails with while its engines are not built
# (src/engines/pipelines.c): the message names the missing engine. Video jobs
# render (src/engines/render.c) and complete; only the image kinds fail.
ENGINE_MESSAGES = {
    "generate": ["text-to-image is not available in this build of Mira", "engines/diffusion"],
    "edit": ["image editing is not available in this build of Mira", "engines/diffusion"],
    "inpaint": ["inpainting is not available in this build of Mira", "engines/inpaint"],
}

# The rig insert_avatar gives an avatar unless told otherwise: the first
# illustrated avatar at 128x128, so test videos render fast.
CARTOON_RIG = '{"kind":"cartoon","index":0,"w":128,"h":128}'

# Test photos for avatar creation (tests/fixtures/faces/README.md).
FACES = os.path.join(SRC, "tests", "fixtures", "faces")

VIDEO_FPS = 25

# ---------------------------------------------------------------- checks

_passed = 0
_failed = 0
_NONE = object()


def _caller_expr(depth):
    """Source text of the check call `depth` frames up (only on failure)."""
    try:
        f = sys._getframe(depth + 1)
        info = inspect.getframeinfo(f, context=1)
        return (info.code_context or ["?"])[0].strip()
    except Exception:  # pragma: no cover - best effort
        return "?"


def _short(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def check(case, ok, expr=None, got=_NONE, want=_NONE, _depth=1):
    """Counts one check; on failure prints `case: expr (got X, want Y)`."""
    global _passed, _failed
    if ok:
        _passed += 1
        return True
    _failed += 1
    msg = "%s: %s" % (case, expr or _caller_expr(_depth))
    if got is not _NONE or want is not _NONE:
        parts = []
        if got is not _NONE:
            parts.append("got " + _short(got))
        if want is not _NONE:
            parts.append("want " + _short(want))
        msg += " (" + ", ".join(parts) + ")"
    print("FAIL " + msg, flush=True)
    return False


def eq(case, got, want, expr=None):
    return check(case, got == want, expr, got, want, _depth=2)


def has(case, text, fragment, expr=None):
    """fragment occurs in text (text may be None or bytes)."""
    if isinstance(text, bytes) and isinstance(fragment, str):
        fragment = fragment.encode()
    ok = text is not None and fragment in text
    return check(case, ok, expr, text, "... %r ..." % (fragment,), _depth=2)


def counts():
    return _passed, _failed


def summary():
    """Prints the final line and returns the exit code."""
    print("%d passed, %d failed" % (_passed, _failed), flush=True)
    return 1 if _failed else 0


# ---------------------------------------------------------------- cleanup

_servers = []
_tmpdirs = []


def tempdir(name):
    d = tempfile.mkdtemp(prefix="mira-%s-" % name)
    _tmpdirs.append(d)
    return d


def cleanup():
    for s in list(_servers):
        try:
            s.kill()
        except Exception:
            pass
    if KEEP:
        for d in _tmpdirs:
            print("kept " + d, flush=True)
        return
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)
    _tmpdirs.clear()


atexit.register(cleanup)


class Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise Timeout("test file ran past its time limit")


def _on_term(signum, frame):
    raise SystemExit("terminated")


def run(main, limit_s=110):
    """Runs main() with a time limit, cleans up, prints the summary, exits."""
    global _failed
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(limit_s)
    try:
        main()
    except BaseException as e:  # noqa: B902 - report anything, then clean up
        _failed += 1
        import traceback
        print("FAIL %s: %s: %s" % (main.__name__, type(e).__name__, e), flush=True)
        traceback.print_exc()
        for s in _servers:
            s.dump_log()
    finally:
        signal.alarm(0)
        if _failed:
            for s in _servers:
                s.dump_log(20)
        cleanup()
    sys.exit(summary())


def sections(*fns):
    """Runs each section; an exception fails that section and the rest go on."""
    global _failed
    for fn in fns:
        try:
            fn()
        except Timeout:
            raise
        except Exception as e:
            import traceback
            _failed += 1
            print("FAIL %s: %s: %s" % (fn.__name__, type(e).__name__, e), flush=True)
            traceback.print_exc()


# ---------------------------------------------------------------- ids, files

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_counter = random.randrange(36 ** 4)
ID_RE = re.compile(r"^c[0-9a-z]{24}$")


def _b36(v, width):
    out = []
    for _ in range(width):
        out.append(_B36[v % 36])
        v //= 36
    return "".join(reversed(out))


def new_id():
    """An id shaped like src/core/ids.c: 'c' + 8 time + 4 counter + 12 random."""
    global _counter
    _counter = (_counter + 1) % (36 ** 4)
    rnd = "".join(random.choice(_B36) for _ in range(12))
    return "c" + _b36(int(time.time() * 1000), 8) + _b36(_counter, 4) + rnd


def derive_id(key):
    """The stable id src/core/ids.c mira_id_derive makes from a key."""
    h = hashlib.sha256(key.encode()).digest()
    return "c" + "".join(_B36[h[i] % 36] for i in range(1, 25))


def now_ms():
    return int(time.time() * 1000)


def iso8601(ms):
    """As mira_iso8601: 2024-01-02T03:04:05.678Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def png_bytes(w=2, h=2, rgb=(200, 30, 30)):
    """A small valid PNG."""
    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg_bytes():
    """Enough of a JPEG for the sniffer (SOI + APP0)."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(40) + b"\xff\xd9"


def wav_bytes(samples=800, rate=8000, tone=0):
    """A tiny valid 16-bit mono PCM WAV; `tone` changes the sample values."""
    data = b"".join(struct.pack("<h", ((i * (tone + 1) * 37) % 2000) - 1000) for i in range(samples))
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def mp4_bytes(n=1000):
    """Bytes that start like an MP4 (ftyp box) followed by a known pattern."""
    head = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isommp41"
    return head + bytes((i * 7 + 3) % 256 for i in range(n - len(head)))


def multipart(parts, boundary=None):
    """Builds a multipart/form-data body by hand.

    parts: (name, value) text fields and (name, filename, content_type, bytes)
    files. Returns (body, content_type_header)."""
    boundary = boundary or "----mira%016x" % random.getrandbits(64)
    out = []
    for p in parts:
        out.append(b"--" + boundary.encode() + b"\r\n")
        if len(p) == 2:
            name, value = p
            value = value.encode() if isinstance(value, str) else value
            out.append(b'Content-Disposition: form-data; name="%s"\r\n\r\n' % name.encode())
            out.append(value + b"\r\n")
        else:
            name, filename, ctype, data = p
            out.append(b'Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                       % (name.encode(), filename.encode()))
            out.append(b"Content-Type: " + ctype.encode() + b"\r\n\r\n")
            out.append(data + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out), "multipart/form-data; boundary=" + boundary


# ---------------------------------------------------------------- HTTP

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body
        self._json = _NONE

    @property
    def json(self):
        if self._json is _NONE:
            try:
                self._json = _json.loads(self.body.decode("utf-8"))
            except Exception:
                self._json = None
        return self._json

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def error(self):
        j = self.json
        return j.get("error") if isinstance(j, dict) else None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


_MISSING = object()


def http_request(base, method, target, *, key=None, bearer=None, json=_MISSING, body=None,
                 headers=None, parts=None, boundary=None, content_type=None, timeout=20):
    """One request on a fresh connection.

    target: a path on `base` ("/api/x?y") or an absolute http:// URL.
    json: a value to send as application/json; body: raw bytes; parts: a
    multipart list (see multipart()). key -> x-api-key; bearer ->
    Authorization: Bearer. headers override everything."""
    url = urllib.parse.urlsplit(target if "://" in target else base + target)
    path = url.path + ("?" + url.query if url.query else "")
    h = {}
    if key is not None:
        h["x-api-key"] = key
    if bearer is not None:
        h["Authorization"] = "Bearer " + bearer
    if json is not _MISSING:
        body = _json.dumps(json).encode()
        h["Content-Type"] = "application/json"
    elif parts is not None:
        body, h["Content-Type"] = multipart(parts, boundary)
    if content_type is not None:
        h["Content-Type"] = content_type
    h.update(headers or {})
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        if body is not None:
            h.setdefault("Content-Length", str(len(body)))
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {}
        for k, v in resp.getheaders():
            k = k.lower()
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        return Response(resp.status, hdrs, data)
    finally:
        conn.close()


def raw_exchange(port, data, timeout=10):
    """Sends raw bytes on a fresh connection and returns everything read until
    the server closes it (send Connection: close)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out.append(chunk)
        return b"".join(out)
    finally:
        s.close()


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _die_with_parent():
    # The server must not outlive a test process killed by ctest's timeout.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


# ---------------------------------------------------------------- server

class Server:
    """One `mira serve` process on a data directory (kept across restarts)."""

    def __init__(self, root, workers=1, threads=2, args=(), env=None, data=None):
        self.root = root
        self.data = data or os.path.join(root, "data")
        self.workers = workers
        self.threads = threads
        self.args = list(args)
        self.env = dict(env or {})
        self.proc = None
        self.port = None
        self.starts = 0
        self.log_out = self.log_err = None

    # -- lifecycle
    def start(self, env=None, args=None, port=None, wait=True):
        """Starts (or restarts) the server; env/args replace the defaults given."""
        if env is not None:
            self.env = dict(env)
        if args is not None:
            self.args = list(args)
        self.port = free_port() if port is None else port
        self.starts += 1
        self.log_out = os.path.join(self.root, "serve-%d.out" % self.starts)
        self.log_err = os.path.join(self.root, "serve-%d.err" % self.starts)
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("MIRA_") and k not in ("MIRA_BIN", "MIRA_SRC"):
                del e[k]
        e.update(self.env)
        cmd = [BIN, "serve", "--data", self.data, "--port", str(self.port), "--workers",
               str(self.workers), "--threads", str(self.threads)] + self.args
        with open(self.log_out, "wb") as out, open(self.log_err, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=e, stdin=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent)
        if self not in _servers:
            _servers.append(self)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mira serve exited with %s before it was ready:\n%s"
                                   % (self.proc.returncode, self.stderr()[-2000:]))
            if self.port:
                try:
                    r = self.request("GET", "/healthz", timeout=2)
                    if r.status == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("mira serve not ready after %ss:\n%s" % (timeout, self.stderr()[-2000:]))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGTERM and wait; returns (exit code, seconds taken)."""
        if not self.alive():
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "timeout"
        return rc, time.time() - t0

    def kill(self):
        """kill -9 and reap."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode if self.proc else None

    # -- logs
    def stderr(self):
        try:
            with open(self.log_err, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def stdout(self):
        try:
            with open(self.log_out, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def dump_log(self, lines=60):
        text = self.stderr().splitlines()[-lines:]
        if text:
            print("---- %s (last %d lines)" % (self.log_err, len(text)))
            print("\n".join(text), flush=True)

    # -- HTTP
    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, target, **kw):
        return http_request(self.base, method, target, **kw)

    # -- CLI
    def cli(self, *args):
        r = subprocess.run([BIN] + list(args) + ["--data", self.data], capture_output=True, timeout=30,
                           env={k: v for k, v in os.environ.items() if not k.startswith("MIRA_DATA")})
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def create_key(self, account):
        rc, out, err = self.cli("keys", "create", "--account", account)
        if rc != 0:
            raise RuntimeError("mira keys create failed (%d): %s" % (rc, err))
        return out.strip().splitlines()[-1]

    # -- database
    @property
    def db_path(self):
        return os.path.join(self.data, "mira.db")

    def db(self):
        c = sqlite3.connect(self.db_path, timeout=10, isolation_level=None)
        c.execute("PRAGMA busy_timeout=10000")
        c.execute("PRAGMA foreign_keys=ON")
        return c

    def query(self, sql, args=()):
        c = self.db()
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

    def exec(self, sql, args=()):
        c = self.db()
        try:
            c.execute(sql, args)
        finally:
            c.close()

    def count(self, table, where="1", args=()):
        return self.query("SELECT count(*) FROM %s WHERE %s" % (table, where), args)[0][0]

    def account_id(self, name):
        rows = self.query("SELECT id FROM accounts WHERE name=?", (name,))
        return rows[0][0] if rows else None

    def insert_avatar(self, account=None, name="Avatar", voice_id="", is_photo=False,
                      preview_media_id="", image_media_id="", created_at=None, rig=CARTOON_RIG):
        """account None: a stock avatar (account_id NULL). rig: the avatars.rig
        JSON (default CARTOON_RIG; "" for an avatar that cannot be animated)."""
        aid = new_id()
        self.exec("INSERT INTO avatars(id,account_id,name,voice_id,image_media_id,preview_media_id,"
                  "is_photo,created_at,rig) VALUES(?,?,?,?,?,?,?,?,?)",
                  (aid, account, name, voice_id, image_media_id, preview_media_id, 1 if is_photo else 0,
                   created_at or now_ms(), rig))
        return aid

    def stock_avatar_ids(self):
        """Ids of the avatars the server seeds at start-up (owned by no account,
        preview media owned by the "mira-stock" account)."""
        return [r[0] for r in self.query(
            "SELECT a.id FROM avatars a JOIN media m ON m.id=a.preview_media_id JOIN accounts c ON c.id=m.account_id"
            " WHERE a.account_id IS NULL AND c.name='mira-stock' ORDER BY a.created_at,a.rowid")]

    def insert_voice(self, account=None, name="Voice", language="en-US", gender="",
                     engine="espeak-ng", created_at=None, params='{"voice":"en-us"}'):
        """A voice row that really speaks (video jobs synthesise with it)."""
        vid = new_id()
        self.exec("INSERT INTO voices(id,account_id,name,language,gender,engine,engine_params,created_at)"
                  " VALUES(?,?,?,?,?,?,?,?)",
                  (vid, account, name, language, gender, engine, params, created_at or now_ms()))
        return vid

    def blob_path(self, key):
        return os.path.join(self.data, "blobs", key[-2] + key[-1], key)

    def put_blob(self, key, content):
        p = self.blob_path(key)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(content)

    def insert_media(self, account, content, content_type, state=2, file_name="file.bin",
                     blob=True):
        mid = new_id()
        if blob:
            self.put_blob(mid, content)
        self.exec("INSERT INTO media(id,account_id,file_name,content_type,size,state,created_at,"
                  "upload_expires_at) VALUES(?,?,?,?,?,?,?,?)",
                  (mid, account, file_name, content_type, len(content), state, now_ms(), 0))
        return mid

    def insert_job(self, account, kind, status, name="job", avatar_id="", params=None,
                   result_media_id="", error="", progress=0, created_at=None, lease_owner="",
                   lease_expires_at=0, attempts=0):
        """kind: 0 video, 1 image_generate, 2 image_edit, 3 image_inpaint;
        status: 0 started, 1 working, 2 complete, 3 failed, 4 error."""
        jid = new_id()
        t = created_at or now_ms()
        self.exec("INSERT INTO jobs(id,account_id,kind,status,progress,name,avatar_id,params,error,"
                  "attempts,lease_owner,lease_expires_at,result_media_id,created_at,updated_at,"
                  "finished_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  (jid, account, kind, status, progress, name, avatar_id, _json.dumps(params or {}),
                   error, attempts, lease_owner, lease_expires_at, result_media_id, t, t,
                   t if status >= 2 else 0))
        return jid

    def job_row(self, jid):
        c = self.db()
        c.row_factory = sqlite3.Row
        try:
            r = c.execute("SELECT * FROM jobs WHERE id=?", (jid,)).fetchone()
            return dict(r) if r else None
        finally:
            c.close()

    def media_row(self, mid):
        c = self.db()
        c.row_factory = sqlite3.Row
        try:
            r = c.execute("SELECT * FROM media WHERE id=?", (mid,)).fetchone()
            return dict(r) if r else None
        finally:
            c.close()

    def blob_files(self):
        """Every file under <data>/blobs, relative paths, sorted."""
        root = os.path.join(self.data, "blobs")
        out = []
        for d, _, files in os.walk(root):
            for f in files:
                out.append(os.path.relpath(os.path.join(d, f), root))
        return sorted(out)

    def tmp_files(self):
        d = os.path.join(self.data, "blobs", "tmp")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def busy_jobs(self):
        """Jobs this server still has to run or is running: queued ones, and
        working ones leased by this process (not rows a test inserted as
        leased by another node)."""
        if not self.alive():
            return 0
        return self.count("jobs", "status=0 OR (status=1 AND lease_owner LIKE ?)",
                          ("%%:%d:%%" % self.proc.pid,))

    def wait_idle(self, timeout=60):
        """Waits until the workers have nothing left to do (a rendering video
        writes temp files, media and blobs); True when idle."""
        if self.workers <= 0:
            return True
        deadline = time.time() + timeout
        while self.busy_jobs():
            if time.time() > deadline:
                return False
            time.sleep(0.05)
        return True

    def snapshot(self):
        """What a rejected request must leave unchanged. Taken once the job
        workers are idle, so only the request under test can change it."""
        self.wait_idle()
        return {"jobs": self.count("jobs"), "media": self.count("media"),
                "idempotency": self.count("idempotency"), "blobs": self.blob_files(),
                "outputs": self.output_media()}

    def output_media(self):
        """Ids of the media that finished jobs produced (a video's MP4, its
        thumbnail and captions), as opposed to what requests uploaded."""
        out = set()
        for (mid,) in self.query("SELECT result_media_id FROM jobs WHERE status=2 AND result_media_id!=''"):
            out.add(mid)
            for which in ("thumb", "captions"):
                out.add(derive_id("mira-%s:%s" % (which, mid)))
        have = {r[0] for r in self.query("SELECT id FROM media")}
        return sorted(out & have)

    @staticmethod
    def input_delta(before, after):
        """(jobs, media, blobs) added between two snapshot()s, leaving out what
        jobs produced while rendering: what the requests themselves wrote."""
        def inputs(snap):
            outs = set(snap["outputs"])
            blobs = [b for b in snap["blobs"] if os.path.basename(b) not in outs]
            return snap["jobs"], snap["media"] - len(outs), len(blobs)
        b, a = inputs(before), inputs(after)
        return tuple(x - y for x, y in zip(a, b))

    @staticmethod
    def snapshot_diff(before, after):
        """What changed between two snapshot()s: {} when nothing did."""
        d = {}
        for k in ("jobs", "media", "idempotency"):
            if after[k] != before[k]:
                d[k] = "%+d" % (after[k] - before[k])
        added = sorted(set(after["blobs"]) - set(before["blobs"]))
        removed = sorted(set(before["blobs"]) - set(after["blobs"]))
        if added:
            d["blobs added"] = added
        if removed:
            d["blobs removed"] = removed
        return d

    def integrity(self):
        return self.query("PRAGMA integrity_check")[0][0]

    # -- signed URLs
    def secret(self):
        with open(os.path.join(self.data, "secret.key")) as f:
            return bytes.fromhex(f.read().strip())

    def sign(self, method, path, expires):
        """The query string src/http/signed.c would make."""
        msg = ("%s\n%s\n%d" % (method, path, expires)).encode()
        sig = hmac.new(self.secret(), msg, hashlib.sha256).hexdigest()
        return "expires=%d&sig=%s" % (expires, sig)

    def signed_url(self, method, path, expires):
        return "%s%s?%s" % (self.base, path, self.sign(method, path, expires))

    # -- jobs
    def wait_job(self, key, jid, final=("inference_complete", "inference_failed", "inference_error"),
                 timeout=15):
        """Polls /api/video/{id}/status until a status in `final`; the last response."""
        deadline = time.time() + timeout
        r = None
        while time.time() < deadline:
            r = self.request("GET", "/api/video/%s/status" % jid, key=key)
            if r.status != 200 or (r.json or {}).get("status") in final:
                return r
            time.sleep(0.05)
        return r

    def wait_complete(self, key, jid, timeout=60):
        """Waits for a job that should complete (videos render for real: give
        them time); returns the last status object (a dict, maybe empty)."""
        r = self.wait_job(key, jid, timeout=timeout)
        return (r.json or {}) if r is not None and r.status == 200 else {}

    def video_bytes(self, key, jid):
        """A completed video's MP4 through its signed downloadUrl (b"" if none)."""
        meta = self.request("GET", "/api/video/%s" % jid, key=key)
        url = (meta.json or {}).get("downloadUrl") if meta.status == 200 else None
        if not url:
            return b""
        r = self.request("GET", url, timeout=60)
        return r.body if r.status == 200 else b""

    def metric(self, name_and_labels):
        """Value of one exposition line (exact name{labels}), or None."""
        r = self.request("GET", "/metrics")
        for line in r.text.splitlines():
            if line.startswith(name_and_labels + " "):
                return float(line.rsplit(" ", 1)[1])
        return None
