#!/usr/bin/env python3
"""Voices over HTTP (issue 3): the stock catalog seeded from the installed
engines, ?all=1, custom voice presets with account isolation, spoken
previews, and deletion."""
import hashlib
import struct
import urllib.parse

import mira_harness as H
from mira_harness import check, eq, has

B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def stock_id(engine, voice):
    """The stable id Mira derives for a stock voice (engines/speech/catalog.c)."""
    h = hashlib.sha256(("mira-voice:%s:%s" % (engine, voice)).encode()).digest()
    return "c" + "".join(B36[h[i] % 36] for i in range(1, 25))


def wav_info(data):
    """(sample_rate, samples) of a 16-bit mono WAV, or None."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    channels, rate = struct.unpack("<HI", data[22:28])
    bits = struct.unpack("<H", data[34:36])[0]
    size = struct.unpack("<I", data[40:44])[0]
    return rate, size // (channels * bits // 8)


def main():
    srv = H.Server(H.tempdir("voices"), workers=0).start()
    ka, kb = srv.create_key("alice"), srv.create_key("bob")

    # voices-1: the stock catalog
    r = srv.request("GET", "/api/voices", key=ka)
    eq("voices-1.1", r.status, 200)
    voices = (r.json or {}).get("voices", [])
    eq("voices-1.1", (r.json or {}).get("avatars"), voices, "the same list under both keys")
    check("voices-1.2", 20 <= len(voices) <= 40, "a curated catalog of 20-40 voices", len(voices))
    for v in voices:
        check("voices-1.3", H.ID_RE.match(v.get("id", "")) is not None, "id shape", v)
        check("voices-1.3", {"id", "name", "createdAt", "language"} <= set(v), "fields", v)
        check("voices-1.3", "—" in v.get("name", ""), "a human name", v.get("name"))
    ids = [v["id"] for v in voices]
    eq("voices-1.4", ids[0], stock_id("flite", "rms"), "the default English voice comes first")
    check("voices-1.4", stock_id("espeak-ng", "fr-fr+f3") in ids, "curated espeak-ng variants are listed")
    langs = {v["language"].split("-")[0] for v in voices}
    check("voices-1.5", len(langs) >= 15, "many languages", sorted(langs))
    r = srv.request("GET", "/api/voices?all=1", key=ka)
    eq("voices-1.6", r.status, 200)
    every = (r.json or {}).get("voices", [])
    check("voices-1.6", len(every) > len(voices) + 50, "?all=1 lists every installed voice", len(every))
    check("voices-1.6", stock_id("espeak-ng", "en-us") in [v["id"] for v in every], "plain espeak-ng en-us")

    # voices-2: custom presets
    base = stock_id("flite", "slt")
    r = srv.request("POST", "/api/voices", key=ka, json={"name": "Fast Sarah", "baseVoiceId": base, "rate": 260,
                                                         "pitch": 70})
    eq("voices-2.1", r.status, 200)
    mine = r.json or {}
    eq("voices-2.1", (mine.get("name"), mine.get("language"), mine.get("custom"), mine.get("baseVoiceId")),
       ("Fast Sarah", "en-US", True, base))
    eq("voices-2.1", mine.get("settings"), {"rate": 260, "pitch": 70})
    r = srv.request("GET", "/api/voices", key=ka)
    check("voices-2.2", mine.get("id") in [v["id"] for v in r.json["voices"]], "listed for its owner")
    r = srv.request("GET", "/api/voices", key=kb)
    check("voices-2.2", mine.get("id") not in [v["id"] for v in r.json["voices"]], "not for another account")
    r = srv.request("POST", "/api/voices", key=kb, json={"name": "x", "baseVoiceId": mine.get("id")})
    eq("voices-2.3", r.status, 404, "another account's voice is not a base")
    has("voices-2.3", r.error, "baseVoiceId")
    r = srv.request("POST", "/api/voices", key=ka, json={"name": "Deep Louis", "baseVoiceId": stock_id("espeak-ng", "fr-fr+m3"),
                                                         "variant": "f2", "volume": 150})
    eq("voices-2.4", r.status, 200, "an espeak-ng variant")
    eq("voices-2.4", (r.json or {}).get("gender"), "female")
    r2 = srv.request("POST", "/api/voices", key=ka, json={"name": "Slower", "baseVoiceId": mine.get("id"), "rate": 120})
    eq("voices-2.5", r2.status, 200, "a preset from a preset")
    eq("voices-2.5", (r2.json or {}).get("baseVoiceId"), base, "keeps the stock base")
    eq("voices-2.5", (r2.json or {}).get("settings"), {"rate": 120, "pitch": 70})
    before = srv.count("voices")
    for case, body, frag in [
            ("voices-3.1", {"baseVoiceId": base}, "missing required field 'name'"),
            ("voices-3.2", {"name": "x"}, "missing required field 'baseVoiceId'"),
            ("voices-3.3", {"name": "x", "baseVoiceId": base, "rate": 1000}, "field 'rate' must be between 80 and 450"),
            ("voices-3.4", {"name": "x", "baseVoiceId": base, "pitch": "high"}, "field 'pitch' must be an integer"),
            ("voices-3.5", {"name": "x", "baseVoiceId": base, "variant": "f3"}, "applies to espeak-ng voices only"),
            ("voices-3.6", {"name": "x", "baseVoiceId": stock_id("espeak-ng", "de+m3"), "variant": "no/such"},
             "field 'variant' must be an espeak-ng variant name"),
            ("voices-3.7", {"name": "x", "baseVoiceId": stock_id("espeak-ng", "de+m3"), "variant": "nosuchvariant"},
             "this voice cannot speak")]:
        r = srv.request("POST", "/api/voices", key=ka, json=body)
        eq(case, r.status, 400)
        has(case, r.error, frag)
    eq("voices-3.8", srv.count("voices"), before, "nothing written on a rejected create")

    # voices-4: previews
    r = srv.request("POST", "/api/voices/%s/preview" % base, key=ka)
    eq("voices-4.1", r.status, 200)
    eq("voices-4.1", r.headers.get("content-type"), "audio/wav")
    info = wav_info(r.body)
    check("voices-4.1", info is not None and info[1] / info[0] > 1.0, "a WAV of more than a second", info)
    text = "Testing one two three."
    slow = srv.request("POST", "/api/voices/%s/preview" % base, key=ka, json={"text": text})
    fast = srv.request("POST", "/api/voices/%s/preview?text=%s" % (mine.get("id"), urllib.parse.quote(text)), key=ka)
    eq("voices-4.2", (slow.status, fast.status), (200, 200))
    si, fi = wav_info(slow.body), wav_info(fast.body)
    check("voices-4.2", si and fi and fi[1] < si[1] * 0.85, "rate 260 speaks faster than the base", (si, fi))
    r = srv.request("POST", "/api/voices/%s/preview" % mine.get("id"), key=kb)
    eq("voices-4.3", r.status, 404, "another account's voice cannot be previewed")
    r = srv.request("POST", "/api/voices/%s/preview" % base, key=ka, json={"text": "x" * 301})
    eq("voices-4.4", r.status, 400)
    has("voices-4.4", r.error, "limit is 300")
    r = srv.request("POST", "/api/voices/%s/preview" % stock_id("espeak-ng", "de+f3"), key=ka)
    eq("voices-4.5", r.status, 200, "a German voice previews in German")

    # voices-5: deletion
    r = srv.request("DELETE", "/api/voices/%s" % mine.get("id"), key=kb)
    eq("voices-5.1", r.status, 404, "another account's voice")
    r = srv.request("DELETE", "/api/voices/%s" % base, key=ka)
    eq("voices-5.2", r.status, 422)
    has("voices-5.2", r.error, "stock voice and cannot be deleted")
    r = srv.request("DELETE", "/api/voices/%s" % mine.get("id"), key=ka)
    eq("voices-5.3", r.status, 200)
    r = srv.request("DELETE", "/api/voices/%s" % mine.get("id"), key=ka)
    eq("voices-5.4", r.status, 404, "gone")
    r = srv.request("DELETE", "/api/voices", key=ka)
    eq("voices-5.5", r.status, 405)
    r = srv.request("GET", "/api/voices", key=ka)
    check("voices-5.6", mine.get("id") not in [v["id"] for v in r.json["voices"]], "no longer listed")

    # voices-6: re-seeding at restart keeps ids and adds no duplicates
    n = srv.count("voices")
    srv.stop()
    srv.start()
    eq("voices-6.1", srv.count("voices"), n)
    r = srv.request("GET", "/api/voices", key=ka)
    eq("voices-6.1", [v["id"] for v in r.json["voices"] if not v.get("custom")], ids)
    srv.stop()


if __name__ == "__main__":
    H.run(main, limit_s=100)
