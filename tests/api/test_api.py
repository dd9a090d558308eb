#!/usr/bin/env python3
"""End-to-end tests of Mira's HTTP API against a real `mira serve`.

Every route in src/api/routes.c is exercised over real HTTP and answers 2xx
at least once (api-routes-1.1 fails when a route is added without a test).
Case ids: api-<area>-N.M. Most catalog records (avatars, voices) and finished
jobs are inserted with sqlite3 so their fields are exact; avatars are also
created from a photo over the API (api-avatars-*). Video jobs render for real
(small 128x128 cartoon rigs, so they are quick) and complete with an MP4,
a thumbnail and, for a script, captions; image jobs still end in
inference_failed with a message naming the missing engine.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mira_harness as H  # noqa: E402
from mira_harness import check, eq, has  # noqa: E402

MAX_UPLOAD = 393216  # above the 270 KB portrait in tests/fixtures/faces
T0 = 1700000000123  # fixed createdAt values so the ISO strings are exact

ENGINE = H.ENGINE_MESSAGES

srv = None
S = {}  # fixtures shared by the sections

# ------------------------------------------------------------------ routes


def parse_routes():
    with open(os.path.join(H.SRC, "src", "api", "routes.c")) as f:
        text = f.read()
    rows = re.findall(r'\{"([A-Z]+)", "([^"]+)", mira_api_\w+, ([^,]+),', text)
    PUBLIC.update((m, p) for m, p, flags in rows if "PUB" in flags)
    return [(m, p) for m, p, _ in rows]


PUBLIC = set()


ROUTES = []
COVERED = set()


def _route_of(method, path):
    path = path.split("?", 1)[0]
    for m, pat in ROUTES:
        rx = "^" + re.sub(r"\\\{[a-z]+\\\}", "[^/]+", re.escape(pat)) + "$"
        if re.match(rx, path) and (m == method or (m == "GET" and method == "HEAD")):
            return (m, pat)
    return None


def req(method, target, **kw):
    """srv.request, recording which route answered 2xx (for api-routes-1.1)."""
    r = srv.request(method, target, **kw)
    path = target.split("://", 1)[1].split("/", 1)[1] if "://" in target else target.lstrip("/")
    route = _route_of(method, "/" + path)
    if route and 200 <= r.status < 300:
        COVERED.add(route)
    return r


# ------------------------------------------------------------------ helpers

def error_shape(case, r, status, fragment):
    """An error reply: exact status, {"result":"error","error":...}, message fragment."""
    eq(case, r.status, status, "status of %s" % (r,))
    j = r.json
    check(case, isinstance(j, dict) and sorted(j) == ["error", "result"] and j["result"] == "error",
          "error body shape", j, {"result": "error", "error": "..."})
    if fragment is not None:
        has(case, r.error, fragment)
    eq(case, r.headers.get("content-type"), "application/json")


def rejected(case, method, path, status, fragment, **kw):
    """A rejected request: error reply, and no job/media/idempotency row or blob written."""
    before = srv.snapshot()
    r = req(method, path, **kw)
    error_shape(case, r, status, fragment)
    eq(case, srv.snapshot_diff(before, srv.snapshot()), {}, "nothing written (jobs, media, idempotency, blobs)")
    return r


def job_id_reply(case, r):
    eq(case, r.status, 200, "status of %s" % (r,))
    j = r.json or {}
    eq(case, sorted(j), ["jobId", "result"])
    eq(case, j.get("result"), "success")
    jid = j.get("jobId") or ""
    check(case, H.ID_RE.match(jid) is not None, "jobId is 25 [a-z0-9] starting with c", jid)
    return jid


def expect_engine_failure(case, key, jid, kind):
    r = srv.wait_job(key, jid)
    eq(case, r.status, 200)
    j = r.json or {}
    eq(case, sorted(j), ["error", "progress", "result", "status"])
    eq(case, j.get("result"), "success")
    eq(case, j.get("status"), "inference_failed")
    check(case, re.match(r"^\d{1,3}%$", j.get("progress", "")) is not None, "progress is NN%", j.get("progress"))
    for frag in ENGINE[kind]:
        has(case, j.get("error"), frag)
    # Miraflow's general lookup gives the same status object
    r2 = req("GET", "/api/image/" + jid, key=key)
    eq(case, (r2.status, r2.json), (200, j), "/api/image/{id} == /api/video/{id}/status")
    return j


def expect_video_complete(case, key, jid, timeout=60):
    """A video job renders and completes (progress 100%); its downloadUrl
    serves an MP4. Returns the MP4's bytes."""
    r = srv.wait_job(key, jid, timeout=timeout)
    eq(case, r.status, 200)
    j = r.json or {}
    eq(case, j, {"result": "success", "status": "inference_complete", "progress": "100%"},
       "job %s renders and completes" % jid)
    r2 = req("GET", "/api/image/" + jid, key=key)
    eq(case, (r2.status, r2.json), (200, j), "/api/image/{id} == /api/video/{id}/status")
    r = req("GET", "/api/video/" + jid, key=key)
    eq(case, r.status, 200, "GET /api/video/%s: %r" % (jid, r))
    url = (r.json or {}).get("downloadUrl", "")
    if not url:
        check(case, False, "completed video has a downloadUrl", r.json)
        return b""
    r = req("GET", url, timeout=60)
    eq(case, (r.status, r.headers.get("content-type")), (200, "video/mp4"), "downloadUrl of " + jid)
    has(case, r.body[:12], b"ftyp", "the download is an MP4 (ftyp box first)")
    return r.body


def jpeg_size(data):
    """(width, height) from a JPEG's SOFn segment, or None."""
    i = 2
    while data[:2] == b"\xff\xd8" and i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        seg = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + seg
    return None


def params_of(jid):
    row = srv.job_row(jid)
    return json.loads(row["params"]) if row else None


def upload(key, data, ctype, name="f.bin", put_type=None, finalize=True):
    """initialize -> PUT uploadUrl (no key) -> finalize; returns mediaId."""
    r = req("POST", "/api/media/initialize", key=key,
            json={"fileName": name, "contentType": ctype, "fileSize": len(data)})
    if r.status != 200:
        raise RuntimeError("initialize failed: %r" % r)
    mid, url = r.json["mediaId"], r.json["uploadUrl"]
    r = req("PUT", url, body=data, content_type=put_type or ctype)
    if r.status != 200:
        raise RuntimeError("PUT failed: %r" % r)
    if finalize:
        r = req("POST", "/api/media/finalize", key=key, json={"mediaId": mid})
        if r.status != 200:
            raise RuntimeError("finalize failed: %r" % r)
    return mid, url


def same_shape_404(case, r_other, other_id, r_missing, missing_id):
    """An other-account 404 reads exactly like a missing-id 404."""
    eq(case, r_other.status, 404)
    eq(case, r_missing.status, 404)
    a = (r_other.json or {}).copy()
    b = (r_missing.json or {}).copy()
    if isinstance(a.get("error"), str):
        a["error"] = a["error"].replace(other_id, "<id>")
    if isinstance(b.get("error"), str):
        b["error"] = b["error"].replace(missing_id, "<id>")
    eq(case, a, b, "404 body for another account's id == for a missing id")


# ------------------------------------------------------------------ fixtures

def setup():
    global srv
    root = H.tempdir("api")
    srv = H.Server(root, workers=1, threads=2, args=["--max-upload", str(MAX_UPLOAD)])
    srv.start()
    S["KA"] = srv.create_key("alice")
    S["KB"] = srv.create_key("bob")
    A, B = srv.account_id("alice"), srv.account_id("bob")
    S["A"], S["B"] = A, B
    S["SV"] = srv.insert_voice(None, "Stock Voice", "en-US", "female", created_at=T0)
    S["AV"] = srv.insert_voice(A, "Alice Voice", "de-DE", "", created_at=T0 + 1)
    S["BV"] = srv.insert_voice(B, "Bob Voice", "fr-FR", "male", created_at=T0 + 2)
    S["SA2"] = srv.insert_avatar(None, "Stock Silent", "", False, created_at=T0)
    S["SA"] = srv.insert_avatar(None, "Stock Anna", S["SV"], False, created_at=T0 + 10)
    S["PNG"] = H.png_bytes()
    S["PM"] = srv.insert_media(A, S["PNG"], "image/png", file_name="preview.png")
    S["A1"] = srv.insert_avatar(A, "Alice Photo", S["AV"], True, preview_media_id=S["PM"], created_at=T0 + 5)
    S["B1"] = srv.insert_avatar(B, "Bob Avatar", "", False, created_at=T0 + 6)
    S["WAV"] = H.wav_bytes()
    S["RIG"] = H.CARTOON_RIG


# ------------------------------------------------------------------ sections

def sec_system():
    r = req("GET", "/healthz")
    eq("api-system-1.1", r.status, 200)
    ver = subprocess.run([H.BIN, "version"], capture_output=True, text=True).stdout.split()[-1]
    eq("api-system-1.1", r.json, {"status": "ok", "version": ver})
    eq("api-system-1.1", r.headers.get("cache-control"), "no-store")

    r = req("GET", "/api/openapi.json")
    eq("api-system-1.2", r.status, 200)
    eq("api-system-1.2", r.headers.get("content-type"), "application/json")
    check("api-system-1.2", isinstance(r.json, dict) and "openapi" in r.json, "openapi.json parses and has 'openapi'",
          r.body[:200])

    r = req("GET", "/metrics")
    eq("api-system-1.3", r.status, 200)
    has("api-system-1.3", r.headers.get("content-type"), "text/plain")
    has("api-system-1.3", r.text, "# TYPE mira_http_requests_total counter")
    has("api-system-1.3", r.text, "mira_http_requests_total{")
    for st in ("inference_started", "inference_working", "inference_complete", "inference_failed", "inference_error"):
        check("api-system-1.3", re.search(r'^mira_jobs\{state="%s"\} \d+$' % st, r.text, re.M) is not None,
              "metrics has mira_jobs{state=\"%s\"}" % st)
    check("api-system-1.3", re.search(r"^mira_jobs_queue_depth \d+$", r.text, re.M) is not None,
          "metrics has mira_jobs_queue_depth")

    # counters move by exactly what we did
    label = 'mira_http_requests_total{route="GET /api/avatars",status="200"}'
    v0 = srv.metric(label) or 0
    for _ in range(3):
        req("GET", "/api/avatars", key=S["KA"])
    eq("api-system-1.4", srv.metric(label), v0 + 3)
    label = 'mira_http_requests_total{route="unmatched",status="404"}'
    v0 = srv.metric(label) or 0
    req("GET", "/no/such/route")
    eq("api-system-1.5", srv.metric(label), v0 + 1)
    label = 'mira_http_requests_total{route="GET /api/videos",status="401"}'
    v0 = srv.metric(label) or 0
    req("GET", "/api/videos")
    eq("api-system-1.6", srv.metric(label), v0 + 1)

    r = req("HEAD", "/healthz")
    eq("api-system-1.7", (r.status, r.body), (200, b""))
    r = req("GET", "/api/avatars?page=2&x=y", key=S["KA"])
    eq("api-system-1.8", r.status, 200, "a query string does not change the route")


def sec_routes():
    """Every route has a test; runs last (COVERED is filled by the others)."""
    missing = sorted(set(ROUTES) - COVERED)
    eq("api-routes-1.1", missing, [], "routes in routes.c never answered successfully in this test")
    check("api-routes-1.2", len(ROUTES) >= 18, "routes.c parsed", len(ROUTES))



def sec_auth():
    jid = H.new_id()
    bodies = {
        "/api/video/create": {"avatarId": S["SA"], "text": "hi"},
        "/api/image/generate": {"prompt": "p", "name": "n"},
        "/api/image/edit": {"prompt": "p", "name": "n", "referenceImageMediaId": jid},
        "/api/image/inpaint": {"prompt": "p", "name": "n"},
        "/api/media/initialize": {"fileName": "a.png", "contentType": "image/png", "fileSize": 3},
        "/api/media/finalize": {"mediaId": jid},
        "/api/avatars": {"name": "n", "mediaId": jid},
        "/api/voices": {"name": "n", "baseVoiceId": jid},
    }
    eq("api-auth-1.0", sorted(PUBLIC), sorted([("GET", "/api/openapi.json"), ("GET", "/files/{id}"), ("GET", "/healthz"),
                                               ("GET", "/metrics"), ("PUT", "/api/media/{id}/upload")]),
       "the routes that need no API key")
    authed = [(m, p) for m, p in ROUTES if (m, p) not in PUBLIC]
    check("api-auth-1.0", len(authed) >= 13, "authenticated routes parsed from routes.c", authed)
    for i, (m, pat) in enumerate(authed, 1):
        path = pat.replace("{id}", jid)
        body = bodies.get(pat) if m in ("POST", "PUT") else None
        kw = {"json": body} if body is not None else {}
        case = "api-auth-1.%d" % i
        before = srv.snapshot()
        r = req(m, path, **kw)
        error_shape(case, r, 401, "missing API key: send it in the x-api-key header")
        r = req(m, path, key="mira_" + "0" * 48, **kw)
        error_shape(case, r, 401, "invalid API key")
        eq(case, r.json, {"result": "error", "error": "invalid API key"})
        r = req(m, path, bearer="not-a-key", **kw)
        error_shape(case, r, 401, "invalid API key")
        eq(case, srv.snapshot_diff(before, srv.snapshot()), {}, "nothing written by unauthenticated requests")

    r = req("GET", "/api/avatars", bearer=S["KA"])
    eq("api-auth-2.1", r.status, 200, "Authorization: Bearer works")
    r = req("GET", "/api/avatars", headers={"Authorization": "bearer " + S["KA"]})
    eq("api-auth-2.2", r.status, 200, "the Bearer scheme is case-insensitive")
    r = req("GET", "/api/avatars", headers={"Authorization": "Basic " + S["KA"]})
    error_shape("api-auth-2.3", r, 401, "missing API key")
    r = req("GET", "/api/avatars", headers={"x-api-key": ""})
    error_shape("api-auth-2.4", r, 401, "missing API key")
    r = req("GET", "/api/avatars", key=S["KA"] + "x")
    error_shape("api-auth-2.5", r, 401, "invalid API key")
    # bearer and x-api-key see the same account
    ra = req("GET", "/api/voices", key=S["KB"])
    rb = req("GET", "/api/voices", bearer=S["KB"])
    eq("api-auth-2.6", rb.json, ra.json)

    # a revoked key (never used, so not cached) is refused at once
    k3 = srv.create_key("carol")
    rc, out, err = srv.cli("keys", "revoke", k3[:12])
    eq("api-auth-2.7", rc, 0, "keys revoke exit code: " + err)
    r = req("GET", "/api/avatars", key=k3)
    error_shape("api-auth-2.7", r, 401, "invalid API key")

    # public routes need no key
    for p in ("/healthz", "/metrics", "/api/openapi.json"):
        eq("api-auth-2.8", req("GET", p).status, 200, "GET %s without a key" % p)


def sec_catalog():
    KA, KB = S["KA"], S["KB"]
    r = req("GET", "/api/avatars", key=KA)
    eq("api-catalog-1.1", r.status, 200)
    eq("api-catalog-1.1", sorted(r.json or {}), ["avatars"])
    av = (r.json or {}).get("avatars", [])
    # the server seeds its own stock avatars at start-up (src/api/avatar_seed.c,
    # api-catalog-1.8); here the ones this test inserted come first and last
    seeded = srv.stock_avatar_ids()
    S["SEEDED"] = seeded
    ours = (S["SA2"], S["SA"], S["A1"], S["B1"])
    eq("api-catalog-1.2", [a.get("id") for a in av if a.get("id") in ours], [S["SA2"], S["SA"], S["A1"]],
       "stock first (by createdAt), then own")
    eq("api-catalog-1.2", [a.get("id") for a in av], [S["SA2"], S["SA"]] + seeded + [S["A1"]],
       "the seeded stock avatars (createdAt 2026-01-01) sort between ours and the account's own")
    by = {a.get("id"): a for a in av}
    eq("api-catalog-1.3", by.get(S["SA"]),
       {"id": S["SA"], "name": "Stock Anna", "createdAt": H.iso8601(T0 + 10), "voiceId": S["SV"], "isPhoto": False})
    eq("api-catalog-1.4", by.get(S["SA2"]),
       {"id": S["SA2"], "name": "Stock Silent", "createdAt": H.iso8601(T0), "voiceId": None, "isPhoto": False})
    a1 = dict(by.get(S["A1"]) or {})
    purl = a1.pop("previewUrl", None)
    eq("api-catalog-1.5", a1,
       {"id": S["A1"], "name": "Alice Photo", "createdAt": H.iso8601(T0 + 5), "voiceId": S["AV"], "isPhoto": True})
    check("api-catalog-1.6", purl is not None and re.match(
        r"^%s/files/%s\?expires=\d+&sig=[0-9a-f]{64}$" % (re.escape(srv.base), S["PM"]), purl) is not None,
        "previewUrl is a signed /files URL", purl)
    if purl:
        r = req("GET", purl)
        eq("api-catalog-1.6", (r.status, r.headers.get("content-type"), r.body), (200, "image/png", S["PNG"]))

    r = req("GET", "/api/avatars", key=KB)
    bav = (r.json or {}).get("avatars", [])
    eq("api-catalog-1.7", [a.get("id") for a in bav if a.get("id") in ours], [S["SA2"], S["SA"], S["B1"]],
       "bob sees stock + his own, not alice's")
    eq("api-catalog-1.7", [a.get("id") for a in bav], [S["SA2"], S["SA"]] + seeded + [S["B1"]])

    # the seeded stock avatars: one photo and the illustrated ones, each with a
    # preview (a PNG owned by the "mira-stock" account) and a default voice
    stock = [a for a in av if a.get("id") in seeded]
    check("api-catalog-1.8", len(seeded) >= 2, "stock avatars are seeded at start-up", seeded)
    eq("api-catalog-1.8", [a.get("id") for a in bav if a.get("id") in seeded], seeded, "the same for every account")
    eq("api-catalog-1.8", sum(1 for a in stock if a.get("isPhoto")), 1, "one photo avatar (the astronaut)")
    check("api-catalog-1.8", any(a.get("name", "").startswith("Eileen") and a.get("isPhoto") for a in stock),
          "the astronaut photo avatar", [a.get("name") for a in stock])
    voices = {v.get("id") for v in (req("GET", "/api/voices", key=KA).json or {}).get("voices", [])}
    for a in stock:
        eq("api-catalog-1.9", sorted(a), ["createdAt", "id", "isPhoto", "name", "previewUrl", "voiceId"], a.get("name"))
        check("api-catalog-1.9", (a.get("createdAt") or "").startswith("2026-01-01T00:00:00."), "seeded createdAt", a)
        check("api-catalog-1.9", a.get("voiceId") in voices, "default voice is a listed voice", a)
        check("api-catalog-1.9", H.ID_RE.match(a.get("id", "")) is not None, "id shape", a)
    if stock:
        r = req("GET", stock[0].get("previewUrl", "/missing"))
        eq("api-catalog-1.10", (r.status, r.headers.get("content-type"), r.body[:8]),
           (200, "image/png", b"\x89PNG\r\n\x1a\n"), "a stock avatar's preview")
    eq("api-catalog-1.11", srv.count("accounts", "name='mira-stock'"), 1, "the stock media's owner account exists")

    r = req("GET", "/api/voices", key=KA)
    eq("api-catalog-2.1", r.status, 200)
    j = r.json or {}
    eq("api-catalog-2.1", sorted(j), ["avatars", "voices"])
    eq("api-catalog-2.2", j.get("voices"), j.get("avatars"), "same array under both keys")
    # the engines' stock catalog is there too (tests/api/test_voices.py); here
    # only the voices this test inserted matter
    ours = (S["SV"], S["AV"], S["BV"])
    vs = [v for v in j.get("voices", []) if v.get("id") in ours]
    eq("api-catalog-2.3", [v.get("id") for v in vs], [S["SV"], S["AV"]])
    if len(vs) == 2:
        eq("api-catalog-2.4", vs[0], {"id": S["SV"], "name": "Stock Voice", "createdAt": H.iso8601(T0),
                                      "language": "en-US", "gender": "female"})
        eq("api-catalog-2.5", vs[1], {"id": S["AV"], "name": "Alice Voice", "createdAt": H.iso8601(T0 + 1),
                                      "language": "de-DE", "custom": True, "settings": {}},
           "no gender key when unknown; own voices are marked custom")
    r = req("GET", "/api/voices", key=KB)
    eq("api-catalog-2.6", [v.get("id") for v in (r.json or {}).get("voices", []) if v.get("id") in ours], [S["SV"], S["BV"]])
    eq("api-catalog-2.6", [v.get("id") for v in (r.json or {}).get("avatars", []) if v.get("id") in ours], [S["SV"], S["BV"]])

    # custom voice presets (tests/api/test_voices.py has the details): create,
    # hear, delete; another account's preset is a 404 shaped like a missing id
    base = next((v.get("id") for v in j.get("voices", []) if v.get("id") not in ours and not v.get("custom")), "")
    r = req("POST", "/api/voices", key=KA, json={"name": "Quick", "baseVoiceId": base, "rate": 220})
    eq("api-catalog-3.1", r.status, 200, "create a voice preset: %r" % (r,))
    vid = (r.json or {}).get("id", "")
    eq("api-catalog-3.1", ((r.json or {}).get("custom"), (r.json or {}).get("baseVoiceId")), (True, base))
    r = req("POST", "/api/voices/%s/preview" % vid, key=KA, json={"text": "Hi."})
    eq("api-catalog-3.2", (r.status, r.headers.get("content-type"), r.body[:4]), (200, "audio/wav", b"RIFF"))
    g = H.new_id()
    same_shape_404("api-catalog-3.3", req("DELETE", "/api/voices/" + vid, key=KB), vid,
                   req("DELETE", "/api/voices/" + g, key=KB), g)
    r = req("DELETE", "/api/voices/" + vid, key=KA)
    eq("api-catalog-3.4", (r.status, r.json), (200, {"result": "success", "id": vid}))
    eq("api-catalog-3.4", req("DELETE", "/api/voices/" + vid, key=KA).status, 404, "deleted twice")


def sec_status_shapes():
    # an account of its own, so these jobs stay out of alice's listings
    KA = srv.create_key("dave")
    A = srv.account_id("dave")
    far = H.now_ms() + 3600 * 1000
    w = srv.insert_job(A, 1, 1, progress=45, lease_owner="elsewhere:1:w0", lease_expires_at=far, attempts=1)
    r = req("GET", "/api/video/%s/status" % w, key=KA)
    eq("api-status-1.1", (r.status, r.json), (200, {"result": "success", "status": "inference_working", "progress": "45%"}))
    r = req("GET", "/api/image/" + w, key=KA)
    eq("api-status-1.2", (r.status, r.json), (200, {"result": "success", "status": "inference_working", "progress": "45%"}))
    e = srv.insert_job(A, 2, 4, error="disk on fire")
    r = req("GET", "/api/video/%s/status" % e, key=KA)
    eq("api-status-1.3", r.json, {"result": "success", "status": "inference_error", "progress": "0%", "error": "disk on fire"})
    f = srv.insert_job(A, 0, 3, error="bad audio", progress=12)
    r = req("GET", "/api/video/%s/status" % f, key=KA)
    eq("api-status-1.4", r.json, {"result": "success", "status": "inference_failed", "progress": "12%", "error": "bad audio"})
    c = srv.insert_job(A, 0, 2, progress=0)
    r = req("GET", "/api/video/%s/status" % c, key=KA)
    eq("api-status-1.5", r.json, {"result": "success", "status": "inference_complete", "progress": "100%"},
       "complete is always 100%")
    r = req("GET", "/api/image/" + c, key=KA)
    eq("api-status-1.6", r.json, {"result": "success", "status": "inference_complete", "progress": "100%"},
       "a complete video job looks up as a status object, not an image")


def sec_videos():
    A, B, KA, KB = S["A"], S["B"], S["KA"], S["KB"]
    content = H.mp4_bytes(1000)
    S["MP4"] = content
    m1 = srv.insert_media(A, content, "video/mp4", file_name="v1.mp4")
    m2 = srv.insert_media(A, H.mp4_bytes(300), "video/mp4", file_name="v2.mp4")
    v1 = srv.insert_job(A, 0, 2, name="Hello video", avatar_id=S["SA"], result_media_id=m1, created_at=T0 + 100)
    v2 = srv.insert_job(A, 0, 2, name="Second", avatar_id=S["A1"], result_media_id=m2, created_at=T0 + 200)
    vf = srv.insert_job(A, 0, 3, name="Broken", avatar_id=S["SA"], error="x")
    vi = srv.insert_job(A, 1, 2, name="Img", params={"prompt": "p"}, result_media_id=m2)
    S.update(V1=v1, M1=m1, VF=vf)

    r = req("GET", "/api/videos", key=KA)
    eq("api-video-1.1", r.status, 200)
    eq("api-video-1.1", sorted(r.json or {}), ["videos"])
    vids = (r.json or {}).get("videos", [])
    eq("api-video-1.2", [v.get("id") for v in vids], [v2, v1], "completed video jobs only, newest first")
    eq("api-video-1.3", vids[1] if len(vids) >= 2 else None,
       {"id": v1, "name": "Hello video", "sourceAvatarId": S["SA"], "createdAt": H.iso8601(T0 + 100)})
    r = req("GET", "/api/videos", key=KB)
    eq("api-video-1.4", r.json, {"videos": []}, "bob sees none of alice's videos")

    r = req("GET", "/api/video/" + v1, key=KA)
    eq("api-video-2.1", r.status, 200)
    j = dict(r.json or {})
    url = j.pop("downloadUrl", "")
    eq("api-video-2.1", j, {"id": v1, "name": "Hello video", "sourceAvatarId": S["SA"], "createdAt": H.iso8601(T0 + 100)})
    m = re.match(r"^%s/files/%s\?expires=(\d+)&sig=([0-9a-f]{64})$" % (re.escape(srv.base), m1), url)
    check("api-video-2.2", m is not None, "downloadUrl is a signed /files URL", url)
    if m:
        exp = int(m.group(1))
        # Links expire at the end of the hour 24 h ahead (cacheable): 24 to 25 h.
        now = time.time()
        check("api-video-2.2", now + 86400 - 5 <= exp <= now + 86400 + 3600 and exp % 3600 == 0,
              "downloadUrl expires on the hour, 24 to 25 h ahead", exp)
        eq("api-video-2.3", url.split("?", 1)[1], srv.sign("GET", "/files/" + m1, exp),
           "signature is HMAC-SHA256(secret, GET\\n/files/ID\\nEXPIRES)")

    # download with the API key
    r = req("GET", "/api/video/%s/download" % v1, key=KA)
    eq("api-video-3.1", (r.status, r.headers.get("content-type"), r.body == content), (200, "video/mp4", True))
    eq("api-video-3.1", r.headers.get("content-length"), "1000")
    for case, rng, want, cr in (("api-video-3.2", "bytes=10-19", content[10:20], "bytes 10-19/1000"),
                                ("api-video-3.3", "bytes=990-", content[990:], "bytes 990-999/1000"),
                                ("api-video-3.4", "bytes=-5", content[-5:], "bytes 995-999/1000"),
                                ("api-video-3.5", "bytes=0-0", content[:1], "bytes 0-0/1000")):
        r = req("GET", "/api/video/%s/download" % v1, key=KA, headers={"Range": rng})
        eq(case, r.status, 206, "Range %s" % rng)
        eq(case, r.headers.get("content-range"), cr)
        eq(case, r.body, want)
    r = req("GET", "/api/video/%s/download" % v1, key=KA, headers={"Range": "bytes=5000-6000"})
    eq("api-video-3.6", r.status, 416, "unsatisfiable range")
    eq("api-video-3.6", r.headers.get("content-range"), "bytes */1000")
    r = req("GET", "/api/video/%s/download" % v1, key=KA, headers={"Range": "bytes=0-1,5-6"})
    eq("api-video-3.9", (r.status, r.body == content), (200, True), "several ranges: the whole file")
    # bigger than one 64 KiB read: the stream and ranges across chunk boundaries stay exact
    bigc = bytes((i * 31 + i // 256) % 256 for i in range(200000))
    mb = srv.insert_media(A, bigc, "video/mp4", file_name="big.mp4")
    vb = srv.insert_job(A, 0, 2, name="Big", avatar_id=S["SA"], result_media_id=mb, created_at=T0 + 50)
    r = req("GET", "/api/video/%s/download" % vb, key=KA)
    eq("api-video-3.10", (r.status, len(r.body), r.body == bigc), (200, 200000, True))
    r = req("GET", "/api/video/%s/download" % vb, key=KA, headers={"Range": "bytes=65000-140000"})
    eq("api-video-3.11", (r.status, r.headers.get("content-range"), r.body == bigc[65000:140001]),
       (206, "bytes 65000-140000/200000", True))
    r = req("HEAD", "/api/video/%s/download" % v1, key=KA)
    eq("api-video-3.7", (r.status, r.headers.get("content-length"), r.body), (200, "1000", b""))
    raw = H.raw_exchange(srv.port, ("HEAD /api/video/%s/download HTTP/1.1\r\nHost: t\r\nx-api-key: %s\r\n"
                                    "Connection: close\r\n\r\n" % (v1, KA)).encode())
    head, _, rest = raw.partition(b"\r\n\r\n")
    eq("api-video-3.8", (head.split(b"\r\n")[0], rest), (b"HTTP/1.1 200 OK", b""), "HEAD sends no body on the wire")

    # the signed URL, no key
    if m:
        r = req("GET", url)
        eq("api-video-4.1", (r.status, r.headers.get("content-type"), r.body == content), (200, "video/mp4", True))
        r = req("GET", url, headers={"Range": "bytes=500-599"})
        eq("api-video-4.2", (r.status, r.headers.get("content-range"), r.body),
           (206, "bytes 500-599/1000", content[500:600]))
        r = req("GET", url, headers={"Range": "bytes=-1"})
        eq("api-video-4.3", (r.status, r.body), (206, content[-1:]))
        r = req("HEAD", url)
        eq("api-video-4.4", (r.status, r.headers.get("content-length")), (200, "1000"))
        bad = url[:-1] + ("0" if url[-1] != "0" else "1")
        error_shape("api-video-4.5", req("GET", bad), 401, "download URL rejected: signature is invalid")
        bad = url.replace("expires=%d" % exp, "expires=%d" % (exp + 1))
        error_shape("api-video-4.6", req("GET", bad), 401, "download URL rejected: signature is invalid")
    past = int(time.time()) - 60
    r = req("GET", srv.signed_url("GET", "/files/" + m1, past))
    error_shape("api-video-4.7", r, 401, "download URL rejected: link expired at " + H.iso8601(past * 1000))
    error_shape("api-video-4.8", req("GET", "/files/" + m1), 401,
                "download URL rejected: link is not signed (expires and sig required)")
    error_shape("api-video-4.8", req("GET", "/files/" + m1, key=KA), 401, "link is not signed")
    ghost = H.new_id()
    r = req("GET", srv.signed_url("GET", "/files/" + ghost, int(time.time()) + 600))
    error_shape("api-video-4.9", r, 404, "file %s not found" % ghost)
    pend = srv.insert_media(A, b"\x89PNG\r\n\x1a\nxxxx", "image/png", state=0)
    r = req("GET", srv.signed_url("GET", "/files/" + pend, int(time.time()) + 600))
    error_shape("api-video-4.10", r, 404, "file %s not found" % pend)

    # not (yet) a video
    for p in ("/api/video/%s", "/api/video/%s/download"):
        r = req("GET", p % vf, key=KA)
        error_shape("api-video-5.1", r, 404,
                    "video '%s' is not ready: its status is inference_failed; poll /api/video/%s/status" % (vf, vf))
        r = req("GET", p % vi, key=KA)
        error_shape("api-video-5.2", r, 404, "video '%s' not found (it is an image_generate job)" % vi)
        g = H.new_id()
        r = req("GET", p % g, key=KA)
        eq("api-video-5.3", (r.status, r.json), (404, {"result": "error", "error": "video '%s' not found" % g}))
        r = req("GET", p % "nope", key=KA)
        eq("api-video-5.4", (r.status, r.json), (404, {"result": "error", "error": "video 'nope' not found"}))
    r = req("GET", "/api/video/%s/status" % v1, key=KA)
    eq("api-video-5.5", r.json, {"result": "success", "status": "inference_complete", "progress": "100%"})


def sec_images():
    A, KA, KB = S["A"], S["KA"], S["KB"]
    png = H.png_bytes(3, 3, (1, 2, 3))
    im = srv.insert_media(A, png, "image/png", file_name="sunset.png")
    ij = srv.insert_job(A, 1, 2, name="Sunset", params={"prompt": "a red sunset", "aspectRatio": "16:9"},
                        result_media_id=im, created_at=T0 + 300)
    S["IJ"] = ij
    r = req("GET", "/api/image/" + ij, key=KA)
    eq("api-image-1.1", r.status, 200)
    j = dict(r.json or {})
    url = j.pop("downloadUrl", "")
    eq("api-image-1.2", j, {"id": ij, "name": "Sunset", "prompt": "a red sunset", "createdAt": H.iso8601(T0 + 300),
                            "mediaId": im, "status": "inference_complete"})
    check("api-image-1.3", re.match(r"^%s/files/%s\?expires=\d+&sig=[0-9a-f]{64}$" % (re.escape(srv.base), im), url)
          is not None, "downloadUrl is a signed /files URL", url)
    r = req("GET", url)
    eq("api-image-1.4", (r.status, r.headers.get("content-type"), r.body), (200, "image/png", png))
    g = H.new_id()
    r = req("GET", "/api/image/" + g, key=KA)
    eq("api-image-1.5", (r.status, r.json), (404, {"result": "error", "error": "job '%s' not found" % g}))
    r = req("GET", "/api/image/not-an-id", key=KA)
    error_shape("api-image-1.6", r, 404, "job 'not-an-id' not found")
    r = req("GET", "/api/video/%s/status" % g, key=KA)
    eq("api-image-1.7", (r.status, r.json), (404, {"result": "error", "error": "job '%s' not found" % g}))


def sec_creates():
    KA, KB = S["KA"], S["KB"]
    r = req("POST", "/api/image/generate", key=KA, json={"prompt": "a cat", "name": "Cat"})
    jid = job_id_reply("api-create-1.1", r)
    row = srv.job_row(jid) or {}
    eq("api-create-1.2", (row.get("kind"), row.get("name"), row.get("account_id"), row.get("avatar_id")),
       (1, "Cat", S["A"], ""))
    eq("api-create-1.2", params_of(jid), {"aspectRatio": "1:1", "prompt": "a cat"})
    expect_engine_failure("api-create-1.3", KA, jid, "generate")

    r = req("POST", "/api/image/generate", key=KA,
            json={"prompt": "wide", "name": "W", "aspectRatio": "16:9", "negativePrompt": "blur", "seed": 4294967295})
    jid = job_id_reply("api-create-1.4", r)
    eq("api-create-1.4", params_of(jid),
       {"aspectRatio": "16:9", "negativePrompt": "blur", "prompt": "wide", "seed": 4294967295})
    for ar in ("1:1", "9:16", "4:3", "3:4"):
        r = req("POST", "/api/image/generate", key=KA, json={"prompt": "p", "name": "n", "aspectRatio": ar})
        eq("api-create-1.5", r.status, 200, "aspectRatio %s accepted" % ar)
    r = req("POST", "/api/image/generate", key=KA, json={"prompt": "p", "name": "n", "aspectRatio": None, "seed": None})
    jid = job_id_reply("api-create-1.6", r)
    eq("api-create-1.6", params_of(jid), {"aspectRatio": "1:1", "prompt": "p"}, "null fields count as absent")

    # request Content-Type variants that carry JSON
    r = req("POST", "/api/image/generate", key=KA, body=b'{"prompt":"p","name":"n"}',
            content_type="application/json; charset=utf-8")
    job_id_reply("api-create-1.7", r)
    r = req("POST", "/api/image/generate", key=KA, body=b'{"prompt":"p","name":"n"}',
            content_type="application/x-www-form-urlencoded")
    job_id_reply("api-create-1.8", r)
    r = req("POST", "/api/image/generate", key=KA, body=b'{"prompt":"p","name":"n"}')
    job_id_reply("api-create-1.9", r)  # no Content-Type at all

    # video from a script
    r = req("POST", "/api/video/create", key=KA,
            json={"avatarId": S["SA"], "voiceId": S["SV"], "text": "Hello there", "name": "Greeting", "im2vid_full": True})
    jid = job_id_reply("api-create-2.1", r)
    row = srv.job_row(jid) or {}
    eq("api-create-2.2", (row.get("kind"), row.get("name"), row.get("avatar_id")), (0, "Greeting", S["SA"]))
    eq("api-create-2.2", params_of(jid), {"im2vid_full": True, "text": "Hello there", "voiceId": S["SV"],
                                          "voiceEngine": "espeak-ng", "voiceParams": '{"voice":"en-us"}',
                                          "avatarRig": S["RIG"]},
       "the voice and the avatar's rig are copied into the job")
    mp4 = expect_video_complete("api-create-2.3", KA, jid)
    S["GREET"], S["GREET_MP4"] = jid, mp4
    row = srv.job_row(jid) or {}
    eq("api-create-2.3", (row.get("status"), row.get("error"), row.get("attempts")), (2, "", 1))
    eq("api-create-2.3", ((srv.media_row(row.get("result_media_id", "")) or {}).get("account_id"),
                          (srv.media_row(row.get("result_media_id", "")) or {}).get("content_type")),
       (S["A"], "video/mp4"), "the result is a video/mp4 medium of the account")
    r = req("POST", "/api/video/create", key=KA, json={"avatarId": S["SA"], "text": "Hi"})
    jid = job_id_reply("api-create-2.4", r)
    eq("api-create-2.4", params_of(jid), {"im2vid_full": False, "text": "Hi", "voiceId": S["SV"],
                                          "voiceEngine": "espeak-ng", "voiceParams": '{"voice":"en-us"}',
                                          "avatarRig": S["RIG"]},
       "voiceId defaults to the avatar's voice")
    eq("api-create-2.4", (srv.job_row(jid) or {}).get("name"), "Untitled video")
    r = req("POST", "/api/video/create", key=KA, json={"avatarId": S["A1"], "voiceId": S["AV"], "text": "own"})
    job_id_reply("api-create-2.5", r)
    r = req("POST", "/api/video/create", key=KA, json={"avatarId": S["SA"], "text": "a" * 5000})
    job_id_reply("api-create-2.6", r)  # exactly at the limit
    # the limit is 5000 characters: 3000 non-ASCII characters are within it
    r = req("POST", "/api/video/create", key=KA, json={"avatarId": S["SA"], "text": "\u00e9" * 3000})
    eq("api-create-2.7", (r.status, r.json and r.json.get("result")), (200, "success"),
       "3000-character non-ASCII script accepted (limit counts characters): %r" % (r,))
    r = req("POST", "/api/video/create", key=KB, json={"avatarId": S["SA"], "voiceId": S["SV"], "text": "bob"})
    jid = job_id_reply("api-create-2.8", r)  # stock avatar and voice: visible to bob too
    eq("api-create-2.8", (srv.job_row(jid) or {}).get("account_id"), S["B"])

    # no key: each create is a new job
    a = job_id_reply("api-create-3.1", req("POST", "/api/image/generate", key=KA, json={"prompt": "x", "name": "y"}))
    b = job_id_reply("api-create-3.1", req("POST", "/api/image/generate", key=KA, json={"prompt": "x", "name": "y"}))
    check("api-create-3.1", a != b, "without Idempotency-Key two creates are two jobs", (a, b))


def sec_validation():
    KA = S["KA"]
    A = S["A"]
    G = "/api/image/generate"
    ok = {"prompt": "p", "name": "n"}
    rejected("api-valid-1.1", "POST", G, 400, "invalid JSON at line 1", key=KA, body=b'{"prompt":',
             content_type="application/json")
    rejected("api-valid-1.2", "POST", G, 400, "request body is empty; send a JSON object", key=KA, body=b"",
             content_type="application/json")
    rejected("api-valid-1.3", "POST", G, 400, "request body must be a JSON object", key=KA, body=b"[1,2]",
             content_type="application/json")
    r = rejected("api-valid-1.4", "POST", G, 400, "invalid JSON", key=KA,
                 body=b'{"prompt":"a","prompt":"b","name":"n"}', content_type="application/json")
    has("api-valid-1.4", r.error, "duplicate")
    rejected("api-valid-1.5", "POST", G, 400, "field 'prompt' must be a string", key=KA, json={"prompt": 5, "name": "n"})
    rejected("api-valid-1.6", "POST", G, 400, "missing required field 'prompt'", key=KA, json={"name": "n"})
    rejected("api-valid-1.7", "POST", G, 400, "missing required field 'name'", key=KA, json={"prompt": "p"})
    rejected("api-valid-1.8", "POST", G, 400, "field 'prompt' must not be empty", key=KA, json={"prompt": "", "name": "n"})
    rejected("api-valid-1.9", "POST", G, 400, "field 'prompt' is 2001 characters long; the limit is 2000", key=KA,
             json={"prompt": "p" * 2001, "name": "n"})
    rejected("api-valid-1.10", "POST", G, 400, "field 'aspectRatio' must be one of 1:1, 16:9, 9:16, 4:3, 3:4", key=KA,
             json=dict(ok, aspectRatio="2:1"))
    rejected("api-valid-1.11", "POST", G, 400, "field 'aspectRatio' must be a string", key=KA, json=dict(ok, aspectRatio=169))
    rejected("api-valid-1.12", "POST", G, 400, "field 'seed' must be an integer", key=KA, json=dict(ok, seed="7"))
    rejected("api-valid-1.13", "POST", G, 400, "field 'seed' must be between 0 and 4294967295", key=KA, json=dict(ok, seed=-1))
    rejected("api-valid-1.14", "POST", G, 400, "field 'seed' must be between 0 and 4294967295", key=KA,
             json=dict(ok, seed=4294967296))
    rejected("api-valid-1.15", "POST", G, 400, "field 'name' is 256 characters long; the limit is 255", key=KA,
             json={"prompt": "p", "name": "n" * 256})
    rejected("api-valid-1.16", "POST", G, 400, "field 'negativePrompt' must be a string", key=KA,
             json=dict(ok, negativePrompt=3))
    rejected("api-valid-1.17", "POST", G, 415,
             "unsupported Content-Type 'text/plain': send application/json or multipart/form-data", key=KA,
             body=b'{"prompt":"p","name":"n"}', content_type="text/plain")
    big = json.dumps({"prompt": "p" * (1 << 20), "name": "n"}).encode()
    rejected("api-valid-1.18", "POST", G, 413, "JSON body is %d bytes; the limit is 1048576" % len(big), key=KA,
             body=big, content_type="application/json")
    rejected("api-valid-1.19", "POST", G, 400, "Idempotency-Key must be 1 to 255 characters", key=KA, json=ok,
             headers={"Idempotency-Key": "k" * 256})
    rejected("api-valid-1.20", "POST", G, 400, "field 'seed' must be an integer", key=KA, json=dict(ok, seed=1.5))

    V = "/api/video/create"
    wav_ready = srv.insert_media(A, S["WAV"], "audio/wav", file_name="a.wav")
    wav_pending = srv.insert_media(A, S["WAV"], "audio/wav", state=0, blob=False)
    png_ready = srv.insert_media(A, S["PNG"], "image/png", file_name="p.png")
    S.update(WAV_READY=wav_ready, PNG_READY=png_ready)
    g = H.new_id()
    rejected("api-valid-2.1", "POST", V, 400, "missing required field 'avatarId'", key=KA, json={"text": "hi"})
    rejected("api-valid-2.2", "POST", V, 400, "field 'avatarId' must be a string", key=KA, json={"avatarId": 7, "text": "hi"})
    r = rejected("api-valid-2.3", "POST", V, 404, None, key=KA, json={"avatarId": g, "text": "hi"})
    eq("api-valid-2.3", r.json, {"result": "error", "error": "avatarId '%s' not found" % g})
    rejected("api-valid-2.4", "POST", V, 404, "avatarId 'nope' not found", key=KA, json={"avatarId": "nope", "text": "hi"})
    rejected("api-valid-2.5", "POST", V, 400, "provide either 'text' (a script, with 'voiceId') or an audio track", key=KA,
             json={"avatarId": S["SA"]})
    rejected("api-valid-2.6", "POST", V, 400, "provide only one of 'text', 'mediaId' or an audio file", key=KA,
             json={"avatarId": S["SA"], "text": "hi", "mediaId": wav_ready})
    rejected("api-valid-2.7", "POST", V, 400, "field 'text' must not be empty", key=KA, json={"avatarId": S["SA"], "text": ""})
    rejected("api-valid-2.8", "POST", V, 400, "field 'text' is 5001 characters long; the limit is 5000", key=KA,
             json={"avatarId": S["SA"], "text": "t" * 5001})
    rejected("api-valid-2.9", "POST", V, 400,
             "missing required field 'voiceId' (avatar '%s' has no default voice)" % S["SA2"], key=KA,
             json={"avatarId": S["SA2"], "text": "hi"})
    rejected("api-valid-2.10", "POST", V, 404, "voiceId '%s' not found" % g, key=KA,
             json={"avatarId": S["SA"], "text": "hi", "voiceId": g})
    rejected("api-valid-2.11", "POST", V, 400, "field 'im2vid_full' must be a boolean (true or false)", key=KA,
             json={"avatarId": S["SA"], "text": "hi", "im2vid_full": "yes"})
    rejected("api-valid-2.12", "POST", V, 400, "field 'im2vid_full' must be a boolean (true or false)", key=KA,
             json={"avatarId": S["SA"], "text": "hi", "im2vid_full": 1})
    rejected("api-valid-2.13", "POST", V, 404, "mediaId '%s' not found" % g, key=KA,
             json={"avatarId": S["SA"], "mediaId": g})
    rejected("api-valid-2.14", "POST", V, 415, "mediaId '%s' is image/png; an audio file is required" % png_ready,
             key=KA, json={"avatarId": S["SA"], "mediaId": png_ready})
    rejected("api-valid-2.15", "POST", V, 422,
             "mediaId '%s' is not finalized: call /api/media/finalize first" % wav_pending, key=KA,
             json={"avatarId": S["SA"], "mediaId": wav_pending})
    rejected("api-valid-2.16", "POST", V, 400, "field 'name' must be a string", key=KA,
             json={"avatarId": S["SA"], "text": "hi", "name": 5})
    rejected("api-valid-2.17", "POST", V, 400, "field 'voiceId' must be a string", key=KA,
             json={"avatarId": S["SA"], "text": "hi", "voiceId": ["x"]})

    E = "/api/image/edit"
    rejected("api-valid-3.1", "POST", E, 400, "missing required field 'referenceImageMediaId' (or upload image files)",
             key=KA, json=ok)
    rejected("api-valid-3.2", "POST", E, 400, "field 'referenceImageMediaIds' must be an array of media ids", key=KA,
             json=dict(ok, referenceImageMediaIds="x"))
    rejected("api-valid-3.3", "POST", E, 400, "field 'referenceImageMediaIds' must be an array of media ids", key=KA,
             json=dict(ok, referenceImageMediaIds=[1]))
    rejected("api-valid-3.4", "POST", E, 400, "at most 4 reference images", key=KA,
             json=dict(ok, referenceImageMediaIds=[png_ready] * 5))
    rejected("api-valid-3.5", "POST", E, 415,
             "referenceImageMediaId '%s' is audio/wav; an image is required" % wav_ready, key=KA,
             json=dict(ok, referenceImageMediaId=wav_ready))
    rejected("api-valid-3.6", "POST", E, 404, "referenceImageMediaId '%s' not found" % g, key=KA,
             json=dict(ok, referenceImageMediaIds=[png_ready, g]))
    rejected("api-valid-3.7", "POST", E, 400, "missing required field 'prompt'", key=KA,
             json={"name": "n", "referenceImageMediaId": png_ready})
    I = "/api/image/inpaint"
    rejected("api-valid-4.1", "POST", I, 400, "missing required field 'originalImageMediaId'", key=KA, json=ok)
    rejected("api-valid-4.2", "POST", I, 400, "missing required field 'maskImageMediaId'", key=KA,
             json=dict(ok, originalImageMediaId=png_ready))
    rejected("api-valid-4.3", "POST", I, 404, "maskImageMediaId '%s' not found" % g, key=KA,
             json=dict(ok, originalImageMediaId=png_ready, maskImageMediaId=g))
    rejected("api-valid-4.4", "POST", I, 415, "originalImageMediaId '%s' is audio/wav; an image is required" % wav_ready,
             key=KA, json=dict(ok, originalImageMediaId=wav_ready, maskImageMediaId=png_ready))
    rejected("api-valid-4.5", "POST", I, 400, "field 'aspectRatio' must be one of", key=KA,
             json=dict(ok, originalImageMediaId=png_ready, maskImageMediaId=png_ready, aspectRatio="1:2"))

    M = "/api/media/initialize"
    rejected("api-valid-5.1", "POST", M, 400, "missing required field 'fileName'", key=KA, json={})
    rejected("api-valid-5.2", "POST", M, 400, "missing required field 'contentType'", key=KA, json={"fileName": "a.png"})
    rejected("api-valid-5.3", "POST", M, 400, "missing required field 'fileSize'", key=KA,
             json={"fileName": "a.png", "contentType": "image/png"})
    rejected("api-valid-5.4", "POST", M, 400, "field 'fileSize' must be an integer", key=KA,
             json={"fileName": "a.png", "contentType": "image/png", "fileSize": "10"})
    rejected("api-valid-5.5", "POST", M, 400, "field 'fileSize' must be between 1 and 9223372036854775807", key=KA,
             json={"fileName": "a.png", "contentType": "image/png", "fileSize": 0})
    rejected("api-valid-5.6", "POST", M, 415,
             "contentType 'text/plain' is not supported; upload PNG, JPEG or WebP images or WAV, MP3, M4A, OGG or FLAC audio",
             key=KA, json={"fileName": "a.txt", "contentType": "text/plain", "fileSize": 10})
    rejected("api-valid-5.7", "POST", M, 413,
             "fileSize %d exceeds the upload limit of %d bytes" % (MAX_UPLOAD + 1, MAX_UPLOAD), key=KA,
             json={"fileName": "a.png", "contentType": "image/png", "fileSize": MAX_UPLOAD + 1})
    rejected("api-valid-5.8", "POST", M, 400, "field 'fileName' must be a string", key=KA,
             json={"fileName": 1, "contentType": "image/png", "fileSize": 10})
    r = req("POST", M, key=KA, json={"fileName": "a.png", "contentType": "image/png", "fileSize": MAX_UPLOAD})
    eq("api-valid-5.9", r.status, 200, "fileSize exactly at --max-upload is accepted")
    F = "/api/media/finalize"
    rejected("api-valid-5.10", "POST", F, 400, "missing required field 'mediaId'", key=KA, json={})
    rejected("api-valid-5.11", "POST", F, 404, "media %s not found" % g, key=KA, json={"mediaId": g})
    rejected("api-valid-5.12", "POST", F, 404, "mediaId 'bad' not found", key=KA, json={"mediaId": "bad"})

    # 404: no route
    for case, m, p in (("api-valid-6.1", "GET", "/api/nope"), ("api-valid-6.2", "GET", "/api/avatars/"),
                       ("api-valid-6.3", "POST", "/api/video"), ("api-valid-6.4", "GET", "/")):
        r = req(m, p, key=KA)
        eq(case, (r.status, r.json), (404, {"result": "error", "error": "no route for %s %s" % (m, p)}))
    # 405 with Allow (answered before authentication)
    x = H.new_id()
    for i, (m, p, allow) in enumerate((
            ("DELETE", "/api/avatars", "GET, POST"), ("PUT", "/api/avatars", "GET, POST"), ("PUT", "/api/voices", "GET, POST"),
            ("POST", "/api/videos", "GET"), ("PUT", "/api/video/create", "POST, GET"),
            ("DELETE", "/api/video/" + x, "GET"), ("POST", "/api/video/%s/download" % x, "GET"),
            ("POST", "/api/video/%s/status" % x, "GET"), ("PUT", "/api/image/generate", "POST, GET"),
            ("DELETE", "/api/image/edit", "POST, GET"), ("PATCH", "/api/image/inpaint", "POST, GET"),
            ("GET", "/api/media/initialize", "POST"), ("GET", "/api/media/finalize", "POST"),
            ("GET", "/api/media/%s/upload" % x, "PUT"), ("POST", "/files/" + x, "GET"),
            ("POST", "/api/openapi.json", "GET"), ("POST", "/healthz", "GET"), ("DELETE", "/metrics", "GET"),
            ("HEAD", "/api/media/initialize", "POST"), ("GET", "/api/avatars/" + x, "DELETE"),
            ("POST", "/api/video/%s/thumbnail" % x, "GET"), ("DELETE", "/api/video/%s/captions.vtt" % x, "GET")), 1):
        case = "api-valid-7.%d" % i
        r = req(m, p, body=b"{}" if m in ("POST", "PUT", "PATCH") else None)
        eq(case, r.status, 405, "%s %s" % (m, p))
        eq(case, r.headers.get("allow"), allow)
        if m != "HEAD":
            eq(case, r.json, {"result": "error", "error": "method %s is not allowed on %s (allowed: %s)" % (m, p, allow)})


def sec_media():
    KA, A = S["KA"], S["A"]
    png = S["PNG"]
    r = req("POST", "/api/media/initialize", key=KA, json={"fileName": "ref.png", "contentType": "image/png", "fileSize": len(png)})
    eq("api-media-1.1", r.status, 200)
    j = r.json or {}
    eq("api-media-1.1", sorted(j), ["mediaId", "uploadUrl"])
    mid, url = j.get("mediaId", ""), j.get("uploadUrl", "")
    check("api-media-1.2", H.ID_RE.match(mid) is not None, "mediaId shape", mid)
    m = re.match(r"^%s/api/media/%s/upload\?expires=(\d+)&sig=([0-9a-f]{64})$" % (re.escape(srv.base), mid), url)
    check("api-media-1.3", m is not None, "uploadUrl is a signed PUT URL on this server", url)
    if m:
        exp = int(m.group(1))
        check("api-media-1.3", abs(exp - (time.time() + 3600)) < 300, "uploadUrl expires in 1 h", exp)
        eq("api-media-1.4", url.split("?", 1)[1], srv.sign("PUT", "/api/media/%s/upload" % mid, exp))
    row = srv.media_row(mid) or {}
    eq("api-media-1.5", (row.get("state"), row.get("content_type"), row.get("size"), row.get("file_name"), row.get("account_id")),
       (0, "image/png", len(png), "ref.png", A))
    r = req("PUT", url, body=png, content_type="image/png")  # no API key
    eq("api-media-1.6", (r.status, r.json), (200, {"success": True}))
    eq("api-media-1.6", (srv.media_row(mid) or {}).get("state"), 1)
    try:
        with open(srv.blob_path(mid), "rb") as f:
            stored = f.read()
    except OSError as e:
        stored = e
    eq("api-media-1.7", stored, png, "blob stored at <data>/blobs/<k[-2]k[-1]>/<key>")
    r = req("POST", "/api/media/finalize", key=KA, json={"mediaId": mid})
    eq("api-media-1.8", (r.status, r.json), (200, {"success": True}))
    eq("api-media-1.8", (srv.media_row(mid) or {}).get("state"), 2)
    r = req("POST", "/api/media/finalize", key=KA, json={"mediaId": mid})
    eq("api-media-1.9", (r.status, r.json), (200, {"success": True}), "finalize twice is fine")
    before = srv.snapshot()
    r = req("PUT", url, body=png, content_type="image/png")
    error_shape("api-media-1.10", r, 422, "medium %s is already finalized; initialize a new upload" % mid)
    eq("api-media-1.10", srv.snapshot_diff(before, srv.snapshot()), {})
    r = req("GET", srv.signed_url("GET", "/files/" + mid, int(time.time()) + 60))
    eq("api-media-1.11", (r.status, r.headers.get("content-type"), r.body), (200, "image/png", png))

    # use it: image edit
    r = req("POST", "/api/image/edit", key=KA, json={"prompt": "make it blue", "name": "Blue", "referenceImageMediaId": mid})
    jid = job_id_reply("api-media-2.1", r)
    eq("api-media-2.1", params_of(jid), {"aspectRatio": "1:1", "prompt": "make it blue", "referenceImageMediaIds": [mid]})
    expect_engine_failure("api-media-2.2", KA, jid, "edit")
    # a JPEG through an alias type; several references
    jpg = H.jpeg_bytes()
    mj, _ = upload(KA, jpg, "image/jpg", "b.jpg", put_type="image/jpeg")
    eq("api-media-2.3", (srv.media_row(mj) or {}).get("content_type"), "image/jpeg", "contentType stored canonical")
    r = req("POST", "/api/image/edit", key=KA,
            json={"prompt": "p", "name": "n", "referenceImageMediaId": mid, "referenceImageMediaIds": [mj]})
    jid = job_id_reply("api-media-2.4", r)
    eq("api-media-2.4", (params_of(jid) or {}).get("referenceImageMediaIds"), [mid, mj])
    # inpaint from two uploads
    mask, _ = upload(KA, H.png_bytes(2, 2, (255, 255, 255)), "image/png", "mask.png", put_type="application/octet-stream")
    r = req("POST", "/api/image/inpaint", key=KA,
            json={"prompt": "fill", "name": "Fill", "originalImageMediaId": mid, "maskImageMediaId": mask})
    jid = job_id_reply("api-media-2.5", r)
    eq("api-media-2.5", params_of(jid), {"aspectRatio": "1:1", "prompt": "fill", "originalImageMediaId": mid,
                                         "maskImageMediaId": mask})
    expect_engine_failure("api-media-2.6", KA, jid, "inpaint")
    # audio: declared with an alias, PUT with another alias, used for a video
    wav = S["WAV"]
    aud, _ = upload(KA, wav, "audio/x-wav", "voice.wav", put_type="audio/wave")
    eq("api-media-3.1", (srv.media_row(aud) or {}).get("content_type"), "audio/wav")
    r = req("POST", "/api/video/create", key=KA, json={"avatarId": S["SA"], "mediaId": aud, "name": "Lip sync"})
    jid = job_id_reply("api-media-3.2", r)
    eq("api-media-3.2", params_of(jid), {"im2vid_full": False, "mediaId": aud, "avatarRig": S["RIG"]})
    # the queue (one worker) still holds the long scripts of api-create-2.6/2.7
    S["AUDVID"] = jid
    S["AUDVID_MP4"] = expect_video_complete("api-media-3.3", KA, jid, timeout=90)
    S["AUD"] = aud
    S["MEDIA_PNG"] = mid

    # signatures: nothing may change on a rejected PUT
    r = req("POST", "/api/media/initialize", key=KA, json={"fileName": "p.png", "contentType": "image/png", "fileSize": len(png)})
    pid, purl = r.json["mediaId"], r.json["uploadUrl"]
    path = "/api/media/%s/upload" % pid
    pexp = int(re.search(r"expires=(\d+)", purl).group(1))

    def put_rejected(case, target, status, frag, body=png, **kw):
        before = srv.snapshot()
        r = req("PUT", target, body=body, **kw)
        error_shape(case, r, status, frag)
        eq(case, srv.snapshot_diff(before, srv.snapshot()), {}, "nothing written")
        eq(case, (srv.media_row(pid) or {}).get("state"), 0, "medium still pending")
        return r

    past = int(time.time()) - 60
    put_rejected("api-media-4.1", srv.signed_url("PUT", path, past), 401,
                 "upload URL rejected: link expired at " + H.iso8601(past * 1000), content_type="image/png")
    put_rejected("api-media-4.2", purl.replace("expires=%d" % pexp, "expires=%d" % (pexp + 1)), 401,
                 "upload URL rejected: signature is invalid", content_type="image/png")
    tampered = purl[:-1] + ("0" if purl[-1] != "0" else "1")
    put_rejected("api-media-4.3", tampered, 401, "upload URL rejected: signature is invalid", content_type="image/png")
    put_rejected("api-media-4.4", srv.base + path, 401,
                 "upload URL rejected: link is not signed (expires and sig required)", content_type="image/png")
    put_rejected("api-media-4.5", srv.base + path, 401, "link is not signed", content_type="image/png", key=KA)
    other = "/api/media/%s/upload" % mid
    put_rejected("api-media-4.6", srv.base + other + "?" + purl.split("?", 1)[1], 401, "signature is invalid",
                 content_type="image/png")
    put_rejected("api-media-4.7", purl + "&sig=" + "0" * 64, 401, "signature is invalid", content_type="image/png")
    put_rejected("api-media-4.8", srv.signed_url("GET", path, pexp), 401, "signature is invalid",
                 content_type="image/png")  # a GET signature is not a PUT signature
    ghost = H.new_id()
    r = req("PUT", srv.signed_url("PUT", "/api/media/%s/upload" % ghost, int(time.time()) + 60), body=png)
    error_shape("api-media-4.9", r, 404, "media %s not found" % ghost)
    # size and type
    put_rejected("api-media-5.1", purl, 400, "received %d bytes but fileSize was declared as %d" % (len(png) - 1, len(png)),
                 body=png[:-1], content_type="image/png")
    put_rejected("api-media-5.2", purl, 413, "received %d bytes but fileSize was declared as %d" % (len(png) + 1, len(png)),
                 body=png + b"x", content_type="image/png")
    put_rejected("api-media-5.3", purl, 415, "Content-Type 'image/jpeg' does not match the declared contentType image/png",
                 content_type="image/jpeg")
    put_rejected("api-media-5.4", purl, 415, "Content-Type 'text/plain' does not match the declared contentType image/png",
                 content_type="text/plain")
    before = srv.snapshot()
    r = req("POST", "/api/media/finalize", key=KA, json={"mediaId": pid})
    error_shape("api-media-5.5", r, 422,
                "medium %s has no uploaded bytes yet: PUT the file to its uploadUrl first" % pid)
    eq("api-media-5.5", srv.snapshot_diff(before, srv.snapshot()), {})
    r = req("PUT", purl, body=png)  # no Content-Type: finalize sniffs anyway
    eq("api-media-5.6", (r.status, r.json), (200, {"success": True}))
    r = req("POST", "/api/media/finalize", key=KA, json={"mediaId": pid})
    eq("api-media-5.6", r.status, 200)

    # bytes that do not match the declared type; the upload can be retried
    garbage = bytes(len(wav))
    r = req("POST", "/api/media/initialize", key=KA, json={"fileName": "g.wav", "contentType": "audio/wav", "fileSize": len(wav)})
    gid, gurl = r.json["mediaId"], r.json["uploadUrl"]
    eq("api-media-6.1", req("PUT", gurl, body=garbage, content_type="application/octet-stream").status, 200)
    r = req("POST", "/api/media/finalize", key=KA, json={"mediaId": gid})
    error_shape("api-media-6.2", r, 415,
                "the uploaded bytes are not a recognised image or audio format, not the declared audio/wav")
    eq("api-media-6.2", (srv.media_row(gid) or {}).get("state"), 1, "still uploaded, not ready")
    r = req("POST", "/api/video/create", key=KA, json={"avatarId": S["SA"], "mediaId": gid})
    error_shape("api-media-6.3", r, 422, "mediaId '%s' is not finalized" % gid)
    eq("api-media-6.4", req("PUT", gurl, body=wav, content_type="audio/wav").status, 200, "PUT again after a failed finalize")
    r = req("POST", "/api/media/finalize", key=KA, json={"mediaId": gid})
    eq("api-media-6.4", (r.status, (srv.media_row(gid) or {}).get("state")), (200, 2))
    # declared PNG, JPEG bytes of the same length
    jpg = H.jpeg_bytes()
    r = req("POST", "/api/media/initialize", key=KA, json={"fileName": "x.png", "contentType": "image/png", "fileSize": len(jpg)})
    xid, xurl = r.json["mediaId"], r.json["uploadUrl"]
    req("PUT", xurl, body=jpg)
    r = req("POST", "/api/media/finalize", key=KA, json={"mediaId": xid})
    error_shape("api-media-6.5", r, 415, "the uploaded bytes are image/jpeg, not the declared image/png")


def sec_multipart():
    KA, A = S["KA"], S["A"]
    png, wav = S["PNG"], S["WAV"]
    V, E, I, G = "/api/video/create", "/api/image/edit", "/api/image/inpaint", "/api/image/generate"

    before = srv.snapshot()
    r = req("POST", V, key=KA, parts=[("avatarId", S["SA"]), ("name", "Sung"), ("audio", "voice.wav", "audio/wav", wav)])
    jid = job_id_reply("api-multi-1.1", r)
    mid = (params_of(jid) or {}).get("mediaId", "")
    eq("api-multi-1.2", params_of(jid), {"im2vid_full": False, "mediaId": mid, "avatarRig": S["RIG"]})
    row = srv.media_row(mid) or {}
    eq("api-multi-1.3", (row.get("state"), row.get("content_type"), row.get("size"), row.get("file_name"), row.get("account_id")),
       (2, "audio/wav", len(wav), "voice.wav", A))
    after = srv.snapshot()
    eq("api-multi-1.4", H.Server.input_delta(before, after), (1, 1, 1), "one job, one medium, one blob (besides its outputs)")
    try:
        with open(srv.blob_path(mid), "rb") as f:
            eq("api-multi-1.4", f.read(), wav)
    except OSError as e:
        check("api-multi-1.4", False, "blob of the uploaded audio exists", str(e))
    expect_video_complete("api-multi-1.5", KA, jid)
    for i, (field, flag, want) in enumerate((("audioFile", "true", True), ("file", "1", True), ("audio", "0", False)), 1):
        r = req("POST", V, key=KA, parts=[("avatarId", S["SA"]), ("im2vid_full", flag), (field, "a.wav", "audio/wav", wav)])
        jid = job_id_reply("api-multi-1.%d" % (5 + i), r)
        eq("api-multi-1.%d" % (5 + i), (params_of(jid) or {}).get("im2vid_full"), want)

    r = req("POST", E, key=KA, parts=[("prompt", "p"), ("name", "n"), ("referenceImage", "a.png", "image/png", png)])
    jid = job_id_reply("api-multi-2.1", r)
    ids = (params_of(jid) or {}).get("referenceImageMediaIds", [])
    eq("api-multi-2.1", len(ids), 1)
    eq("api-multi-2.1", (srv.media_row(ids[0]) if ids else {}).get("content_type"), "image/png")
    expect_engine_failure("api-multi-2.2", KA, jid, "edit")
    r = req("POST", E, key=KA, parts=[("prompt", "p"), ("name", "n"), ("images", "a.png", "image/png", png),
                                      ("images", "b.jpg", "image/jpeg", H.jpeg_bytes()),
                                      ("referenceImageMediaId", S["MEDIA_PNG"])])
    jid = job_id_reply("api-multi-2.3", r)
    ids = (params_of(jid) or {}).get("referenceImageMediaIds", [])
    eq("api-multi-2.3", len(ids), 3)
    eq("api-multi-2.3", ids[:1], [S["MEDIA_PNG"]], "id fields first, then uploaded files")

    r = req("POST", I, key=KA, parts=[("prompt", "p"), ("name", "n"), ("seed", "42"), ("originalImage", "o.png", "image/png", png),
                                      ("maskImage", "m.png", "image/png", H.png_bytes(1, 1, (0, 0, 0)))])
    jid = job_id_reply("api-multi-3.1", r)
    p = params_of(jid) or {}
    eq("api-multi-3.1", p.get("seed"), 42, "multipart integers arrive as numbers")
    check("api-multi-3.1", H.ID_RE.match(p.get("originalImageMediaId", "")) and H.ID_RE.match(p.get("maskImageMediaId", ""))
          and p.get("originalImageMediaId") != p.get("maskImageMediaId"), "two new media ids", p)
    expect_engine_failure("api-multi-3.2", KA, jid, "inpaint")
    r = req("POST", I, key=KA, parts=[("prompt", "p"), ("name", "n"), ("originalImageMediaId", S["MEDIA_PNG"]),
                                      ("mask", "m.png", "image/png", png)])
    jid = job_id_reply("api-multi-3.3", r)
    eq("api-multi-3.3", (params_of(jid) or {}).get("originalImageMediaId"), S["MEDIA_PNG"])
    r = req("POST", G, key=KA, parts=[("prompt", "p"), ("name", "n"), ("aspectRatio", "4:3")])
    jid = job_id_reply("api-multi-3.4", r)
    eq("api-multi-3.4", params_of(jid), {"aspectRatio": "4:3", "prompt": "p"})

    # rejections: nothing written
    two = [("avatarId", S["SA"]), ("audio", "a.wav", "audio/wav", wav), ("audio", "b.wav", "audio/wav", wav)]
    rejected("api-multi-4.1", "POST", V, 400, "send one audio file, not 2", key=KA, parts=two)
    rejected("api-multi-4.2", "POST", V, 415, "file field 'audio' must be WAV, MP3, M4A, OGG or FLAC audio", key=KA,
             parts=[("avatarId", S["SA"]), ("audio", "a.wav", "audio/wav", png)])
    rejected("api-multi-4.3", "POST", E, 415, "file field 'referenceImage' must be a PNG, JPEG or WebP image", key=KA,
             parts=[("prompt", "p"), ("name", "n"), ("referenceImage", "a.png", "image/png", wav)])
    bigwav = H.wav_bytes(samples=MAX_UPLOAD // 2 + 100)
    rejected("api-multi-4.4", "POST", V, 413, "file 'audio' is %d bytes; the upload limit is %d" % (len(bigwav), MAX_UPLOAD),
             key=KA, parts=[("avatarId", S["SA"]), ("audio", "big.wav", "audio/wav", bigwav)])
    rejected("api-multi-4.5", "POST", I, 400, "give 'originalImageMediaId' once: a media id or one file", key=KA,
             parts=[("prompt", "p"), ("name", "n"), ("originalImageMediaId", S["MEDIA_PNG"]),
                    ("originalImage", "o.png", "image/png", png), ("maskImage", "m.png", "image/png", png)])
    rejected("api-multi-4.6", "POST", E, 400, "at most 4 reference images", key=KA,
             parts=[("prompt", "p"), ("name", "n")] + [("images", "%d.png" % i, "image/png", png) for i in range(5)])
    rejected("api-multi-4.7", "POST", V, 400, "multipart/form-data body without a valid boundary", key=KA,
             body=b"--x\r\n", content_type="multipart/form-data")
    rejected("api-multi-4.8", "POST", V, 400, "malformed multipart body: multipart body has no boundary line", key=KA,
             body=b"hello", content_type="multipart/form-data; boundary=zzz")
    rejected("api-multi-4.9", "POST", G, 413, "malformed multipart body: more than 16 multipart parts", key=KA,
             parts=[("f%d" % i, "v") for i in range(17)])
    rejected("api-multi-4.10", "POST", G, 400, "field 'seed' must be an integer", key=KA,
             parts=[("prompt", "p"), ("name", "n"), ("seed", "x")])
    rejected("api-multi-4.11", "POST", V, 400, "field 'im2vid_full' must be a boolean", key=KA,
             parts=[("avatarId", S["SA"]), ("im2vid_full", "maybe"), ("audio", "a.wav", "audio/wav", wav)])
    rejected("api-multi-4.12", "POST", V, 400, "provide only one of 'text', 'mediaId' or an audio file", key=KA,
             parts=[("avatarId", S["SA"]), ("text", "hi"), ("audio", "a.wav", "audio/wav", wav)])
    # rejections that come after a file was already stored: the stored file must be undone too
    rejected("api-multi-5.1", "POST", I, 415, "file field 'maskImage' must be a PNG, JPEG or WebP image", key=KA,
             parts=[("prompt", "p"), ("name", "n"), ("originalImage", "o.png", "image/png", png),
                    ("maskImage", "m.png", "image/png", b"not an image at all")])
    rejected("api-multi-5.2", "POST", E, 415, "file field 'images' must be a PNG, JPEG or WebP image", key=KA,
             parts=[("prompt", "p"), ("name", "n"), ("images", "a.png", "image/png", png),
                    ("images", "b.png", "image/png", wav)])
    rejected("api-multi-5.3", "POST", V, 400, "Idempotency-Key must be 1 to 255 characters", key=KA,
             parts=[("avatarId", S["SA"]), ("audio", "a.wav", "audio/wav", wav)], headers={"Idempotency-Key": "k" * 256})


def sec_render():
    """Rendered videos: the MP4, its thumbnail and captions (beyond Miraflow)."""
    KA, KB = S["KA"], S["KB"]
    greet, aud = S.get("GREET", ""), S.get("AUDVID", "")
    mp4 = S.get("GREET_MP4", b"")
    g = H.new_id()
    # the MP4 over the API key too, with ranges
    r = req("GET", "/api/video/%s/download" % greet, key=KA)
    eq("api-render-1.1", (r.status, r.headers.get("content-type"), r.body == mp4 and len(mp4) > 0),
       (200, "video/mp4", True), "download with the key == the signed downloadUrl")
    r = req("GET", "/api/video/%s/download" % greet, key=KA, headers={"Range": "bytes=4-7"})
    eq("api-render-1.2", (r.status, r.body, r.headers.get("content-range")), (206, b"ftyp", "bytes 4-7/%d" % len(mp4)))
    r = req("GET", "/api/video/" + greet, key=KA)
    j = dict(r.json or {})
    j.pop("downloadUrl", None)
    row = srv.job_row(greet) or {}
    eq("api-render-1.3", j, {"id": greet, "name": "Greeting", "sourceAvatarId": S["SA"],
                             "createdAt": H.iso8601(row.get("created_at", 0))})
    vids = [v.get("id") for v in (req("GET", "/api/videos", key=KA).json or {}).get("videos", [])]
    check("api-render-1.4", greet in vids and aud in vids, "rendered videos are listed", vids)
    if shutil.which("ffprobe") and mp4:
        path = os.path.join(srv.root, "greet.mp4")
        with open(path, "wb") as f:
            f.write(mp4)
        out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", path],
                             capture_output=True, text=True).stdout
        st = {x.get("codec_type"): x for x in (json.loads(out or "{}").get("streams") or [])}
        v, a = st.get("video", {}), st.get("audio", {})
        eq("api-render-1.5", (v.get("codec_name"), v.get("width"), v.get("height"), v.get("r_frame_rate"),
                              a.get("codec_name")), ("h264", 128, 128, "25/1", "aac"),
           "H.264 at the rig's 128x128, 25 fps, with AAC")

    # thumbnail: a JPEG the size of the video
    for case, jid in (("api-render-2.1", greet), ("api-render-2.2", aud)):
        r = req("GET", "/api/video/%s/thumbnail" % jid, key=KA)
        eq(case, (r.status, r.headers.get("content-type")), (200, "image/jpeg"), "thumbnail of %s: %r" % (jid, r))
        eq(case, (r.body[:3], jpeg_size(r.body)), (b"\xff\xd8\xff", (128, 128)), "a 128x128 JPEG")
        h = req("HEAD", "/api/video/%s/thumbnail" % jid, key=KA)
        eq(case, (h.status, h.headers.get("content-length"), h.body), (200, str(len(r.body)), b""), "HEAD")
    # captions: WebVTT cues with the script's words; none for an audio track
    r = req("GET", "/api/video/%s/captions.vtt" % greet, key=KA)
    eq("api-render-3.1", (r.status, r.headers.get("content-type")), (200, "text/vtt; charset=utf-8"))
    check("api-render-3.1", r.body.startswith(b"WEBVTT"), "starts with WEBVTT", r.body[:60])
    check("api-render-3.2", re.search(r"^\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", r.text, re.M) is not None,
          "has a cue timing line", r.text[:300])
    has("api-render-3.2", r.text, "Hello")
    has("api-render-3.2", r.text, "there")
    r = req("GET", "/api/video/%s/captions.vtt" % aud, key=KA)
    error_shape("api-render-3.3", r, 404, "this video has no captions (it was made from an audio track, which has no words)")
    # a video record without companion files (inserted, not rendered)
    error_shape("api-render-3.4", req("GET", "/api/video/%s/thumbnail" % S["V1"], key=KA), 404, "this video has no thumbnail")
    error_shape("api-render-3.4", req("GET", "/api/video/%s/captions.vtt" % S["V1"], key=KA), 404,
                "this video has no captions")
    # not (yet) a video, another kind, missing, another account's, no key
    for suffix in ("thumbnail", "captions.vtt"):
        p = "/api/video/%s/" + suffix
        error_shape("api-render-4.1", req("GET", p % S["VF"], key=KA), 404,
                    "video '%s' is not ready: its status is inference_failed; poll /api/video/%s/status" % (S["VF"], S["VF"]))
        error_shape("api-render-4.2", req("GET", p % S["IJ"], key=KA), 404,
                    "video '%s' not found (it is an image_generate job)" % S["IJ"])
        r = req("GET", p % g, key=KA)
        eq("api-render-4.3", (r.status, r.json), (404, {"result": "error", "error": "video '%s' not found" % g}))
        same_shape_404("api-render-4.4", req("GET", p % greet, key=KB), greet, req("GET", p % g, key=KB), g)
        error_shape("api-render-4.5", req("GET", p % greet), 401, "missing API key")


def face(name):
    with open(os.path.join(H.FACES, name), "rb") as f:
        return f.read()


def avatar_rejected(case, status, fragment, key=None, **kw):
    """A refused avatar creation: error reply, nothing written (avatars included)."""
    n = srv.count("avatars")
    r = rejected(case, "POST", "/api/avatars", status, fragment, key=key or S["KA"], timeout=60, **kw)
    eq(case, srv.count("avatars"), n, "no avatar row written")
    return r


def sec_avatars():
    """Avatars from a photo (face checked), deletion, and avatars that cannot be animated."""
    KA, KB, A = S["KA"], S["KB"], S["A"]
    AV = "/api/avatars"
    g = H.new_id()
    portrait = face("230501201_1.jpg")

    # 1: a portrait as a multipart file
    before, n = srv.snapshot(), srv.count("avatars")
    t0 = H.now_ms()
    r = req("POST", AV, key=KA, parts=[("name", "Portrait"), ("image", "230501201_1.jpg", "image/jpeg", portrait)],
            timeout=60)
    eq("api-avatars-1.1", r.status, 200, "create from a portrait: %r" % (r,))
    j = r.json or {}
    eq("api-avatars-1.1", (sorted(j), j.get("result")), (["avatar", "result"], "success"))
    av = dict(j.get("avatar") or {})
    aid = av.get("id", "")
    check("api-avatars-1.2", H.ID_RE.match(aid) is not None, "avatar id shape", aid)
    purl, created = av.pop("previewUrl", ""), av.pop("createdAt", "")
    eq("api-avatars-1.2", av, {"id": aid, "name": "Portrait", "isPhoto": True, "voiceId": None})
    check("api-avatars-1.2", H.iso8601(t0 - 1000) <= created <= H.iso8601(H.now_ms() + 1000), "createdAt is now", created)
    row = dict(zip(("account_id", "is_photo", "rig", "image", "preview"), (srv.query(
        "SELECT account_id,is_photo,rig,image_media_id,preview_media_id FROM avatars WHERE id=?", (aid,)) or [()])[0]))
    eq("api-avatars-1.3", (row.get("account_id"), row.get("is_photo")), (A, 1), "the account's own photo avatar")
    try:
        rig = json.loads(row.get("rig") or "")
    except ValueError:
        rig = {}
    lm = rig.get("landmarks") or []
    check("api-avatars-1.3", rig.get("kind") == "photo" and rig.get("image") == row.get("image") == row.get("preview")
          and len(lm) == 136 and all(isinstance(v, (int, float)) for v in lm), "a photo rig: the stored frame + 68 landmarks",
          row.get("rig", "")[:200])
    w, h = rig.get("w", 1), rig.get("h", 1)
    check("api-avatars-1.3", w % 2 == 0 and h % 2 == 0 and 64 <= w <= 1920 and 64 <= h <= 1920, "even frame size", (w, h))
    check("api-avatars-1.3", all(0 <= lm[i] <= w and 0 <= lm[i + 1] <= h for i in range(0, len(lm), 2)),
          "landmarks inside the frame", lm[:8])
    mrow = srv.media_row(row.get("image") or "") or {}
    eq("api-avatars-1.4", (mrow.get("account_id"), mrow.get("content_type"), mrow.get("state")), (A, "image/png", 2),
       "the frame is a PNG medium of the account")
    check("api-avatars-1.4", re.match(r"^%s/files/%s\?expires=\d+&sig=[0-9a-f]{64}$" % (re.escape(srv.base), row.get("image")),
                                      purl or "") is not None, "previewUrl is a signed /files URL of the frame", purl)
    pr = req("GET", purl or "/missing")
    eq("api-avatars-1.4", (pr.status, pr.headers.get("content-type"), pr.body[:8]), (200, "image/png", b"\x89PNG\r\n\x1a\n"))
    d = srv.snapshot_diff(before, srv.snapshot())
    eq("api-avatars-1.5", (d.get("media"), len(d.get("blobs added", [])), sorted(d)), ("+1", 1, ["blobs added", "media"]),
       "one medium and one blob (the frame); no job, no temp file")
    eq("api-avatars-1.5", srv.count("avatars"), n + 1)
    la = (req("GET", AV, key=KA).json or {}).get("avatars", [])
    eq("api-avatars-1.6", [a.get("id") for a in la][-1:], [aid], "listed at once, after the account's older ones")
    got = dict(la[-1]) if la else {}
    got.pop("previewUrl", None)
    eq("api-avatars-1.6", got, dict(av, createdAt=created))
    lb = (req("GET", AV, key=KB).json or {}).get("avatars", [])
    check("api-avatars-1.6", aid not in [a.get("id") for a in lb], "not listed for another account")

    # 2: an uploaded medium by id, with a default voice; it animates
    mid, _ = upload(KA, portrait, "image/jpeg", "me.jpg")
    r = req("POST", AV, key=KA, json={"name": "Me again", "mediaId": mid, "voiceId": S["AV"]}, timeout=60)
    eq("api-avatars-2.1", r.status, 200, "create from mediaId: %r" % (r,))
    a2 = (r.json or {}).get("avatar") or {}
    aid2 = a2.get("id", "")
    eq("api-avatars-2.1", (a2.get("name"), a2.get("voiceId"), a2.get("isPhoto")), ("Me again", S["AV"], True))
    r = req("POST", "/api/video/create", key=KA, json={"avatarId": aid2, "text": "Hi.", "name": "From my photo"})
    vj = job_id_reply("api-avatars-2.2", r)
    rig2 = (srv.query("SELECT rig FROM avatars WHERE id=?", (aid2,)) or [("",)])[0][0]
    eq("api-avatars-2.2", (params_of(vj) or {}).get("avatarRig"), rig2, "the photo rig is copied into the job")
    eq("api-avatars-2.2", (params_of(vj) or {}).get("voiceId"), S["AV"], "the avatar's default voice")
    # deleting the avatar does not break the video already queued from it
    r = req("DELETE", AV + "/" + aid2, key=KA)
    eq("api-avatars-2.3", (r.status, r.json), (200, {"result": "success", "id": aid2}))
    mp4 = expect_video_complete("api-avatars-2.4", KA, vj, timeout=90)
    check("api-avatars-2.4", len(mp4) > 1000, "a video from the created (and since deleted) avatar", len(mp4))

    # 3: refusals change nothing
    avatar_rejected("api-avatars-3.1", 422, "no face found",
                    parts=[("image", "scene.jpg", "image/jpeg", face("Basic_Linear_Transform_Tutorial_gamma_correction.jpg"))])
    avatar_rejected("api-avatars-3.2", 422, "several faces",
                    parts=[("image", "two.jpg", "image/jpeg", face("inpaint_basics.jpg"))])
    avatar_rejected("api-avatars-3.3", 422, "too small", parts=[("image", "small.jpg", "image/jpeg", face("messi5.jpg"))])
    avatar_rejected("api-avatars-3.4", 422, None, parts=[("image", "dot.png", "image/png", S["PNG"])])
    avatar_rejected("api-avatars-3.5", 415, "file field 'image' must be a PNG, JPEG or WebP image",
                    parts=[("image", "a.png", "image/png", S["WAV"])])
    avatar_rejected("api-avatars-3.6", 422, "the image cannot be decoded",
                    parts=[("image", "broken.jpg", "image/jpeg", H.jpeg_bytes())])
    avatar_rejected("api-avatars-3.7", 400, "provide the photo once", json={"name": "nothing"})
    avatar_rejected("api-avatars-3.7", 400, "provide the photo once",
                    parts=[("mediaId", mid), ("image", "p.jpg", "image/jpeg", portrait)])
    avatar_rejected("api-avatars-3.7", 400, "provide the photo once",
                    parts=[("image", "p.jpg", "image/jpeg", portrait), ("image", "q.jpg", "image/jpeg", portrait)])
    r = avatar_rejected("api-avatars-3.8", 404, None, json={"mediaId": g})
    eq("api-avatars-3.8", r.json, {"result": "error", "error": "mediaId '%s' not found" % g})
    ro = avatar_rejected("api-avatars-3.9", 404, None, key=KB, json={"mediaId": mid})
    same_shape_404("api-avatars-3.9", ro, mid, r, g)
    avatar_rejected("api-avatars-3.10", 415, "mediaId '%s' is audio/wav; an image is required" % S["WAV_READY"],
                    json={"mediaId": S["WAV_READY"]})
    r = avatar_rejected("api-avatars-3.11", 404, "voiceId '%s' not found" % g, json={"mediaId": mid, "voiceId": g})
    ro = avatar_rejected("api-avatars-3.11", 404, None, key=KB, json={"mediaId": S["MEDIA_PNG"], "voiceId": S["AV"]})
    has("api-avatars-3.11", ro.error, "not found")
    avatar_rejected("api-avatars-3.12", 400, "field 'name' is 256 characters long; the limit is 255",
                    json={"name": "n" * 256, "mediaId": mid})
    avatar_rejected("api-avatars-3.12", 400, "field 'name' must be a string", json={"name": 5, "mediaId": mid})
    big = face("astronaut.png")
    avatar_rejected("api-avatars-3.13", 413, "file 'image' is %d bytes; the upload limit is %d" % (len(big), MAX_UPLOAD),
                    parts=[("image", "astronaut.png", "image/png", big)])
    eq("api-avatars-3.14", srv.tmp_files(), [], "no staged upload left in blobs/tmp")

    # 4: deletion: own only; stock avatars stay; others' are 404s shaped like missing ids
    n = srv.count("avatars")
    same_shape_404("api-avatars-4.1", req("DELETE", AV + "/" + aid, key=KB), aid, req("DELETE", AV + "/" + g, key=KB), g)
    r = req("DELETE", AV + "/nope", key=KA)
    eq("api-avatars-4.1", (r.status, r.json), (404, {"result": "error", "error": "avatar 'nope' not found"}))
    for sid in [S["SA"]] + S.get("SEEDED", [])[:1]:
        error_shape("api-avatars-4.2", req("DELETE", AV + "/" + sid, key=KA), 422,
                    "avatar '%s' is a stock avatar and cannot be deleted" % sid)
    error_shape("api-avatars-4.3", req("DELETE", AV + "/" + aid), 401, "missing API key")
    error_shape("api-avatars-4.3", req("POST", AV, parts=[("image", "p.jpg", "image/jpeg", portrait)]), 401,
                "missing API key")
    eq("api-avatars-4.4", srv.count("avatars"), n, "refused deletions delete nothing")
    r = req("DELETE", AV + "/" + aid, key=KA)
    eq("api-avatars-4.5", (r.status, r.json), (200, {"result": "success", "id": aid}))
    eq("api-avatars-4.5", srv.count("avatars"), n - 1)
    ids = [a.get("id") for a in (req("GET", AV, key=KA).json or {}).get("avatars", [])]
    check("api-avatars-4.6", aid not in ids and aid2 not in ids, "deleted avatars are no longer listed", ids[-3:])
    r = req("DELETE", AV + "/" + aid, key=KA)
    eq("api-avatars-4.7", (r.status, r.json), (404, {"result": "error", "error": "avatar '%s' not found" % aid}))
    rejected("api-avatars-4.8", "POST", "/api/video/create", 404, "avatarId '%s' not found" % aid, key=KA,
             json={"avatarId": aid, "text": "hi", "voiceId": S["SV"]})

    # 5: avatars without a usable rig cannot be animated: a 422 at create time, nothing written
    bad = [("api-avatars-5.1", "", "the avatar has no rig"),
           ("api-avatars-5.2", '{"kind":"cartoon","index":999,"w":128,"h":128}', "no illustrated avatar 999"),
           ("api-avatars-5.3", '{"kind":"cartoon","index":0,"w":127,"h":128}', "bad frame size 127x128"),
           ("api-avatars-5.4", '{"kind":"photo","image":"%s","w":128,"h":128}' % S["MEDIA_PNG"], "68 landmarks"),
           ("api-avatars-5.5", '{"kind":"hologram","w":128,"h":128}', "unknown kind 'hologram'"),
           ("api-avatars-5.6", "not json", "not a JSON object")]
    for case, rig, frag in bad:
        nr = srv.insert_avatar(A, "Unrigged", S["AV"], created_at=T0 + 7, rig=rig)
        r = rejected(case, "POST", "/api/video/create", 422, "avatar '%s' cannot be animated: " % nr, key=KA,
                     json={"avatarId": nr, "text": "hi"})
        has(case, r.error, frag)
        rejected(case, "POST", "/api/video/create", 422, "avatar '%s' cannot be animated" % nr, key=KA,
                 parts=[("avatarId", nr), ("audio", "a.wav", "audio/wav", S["WAV"])])
        # another account learns nothing about it
        same_shape_404(case, req("POST", "/api/video/create", key=KB, json={"avatarId": nr, "text": "hi", "voiceId": S["SV"]}),
                       nr, req("POST", "/api/video/create", key=KB, json={"avatarId": g, "text": "hi", "voiceId": S["SV"]}), g)
        eq(case, req("DELETE", AV + "/" + nr, key=KA).status, 200, "an unrigged avatar can be deleted")


def sec_idempotency():
    KA, KB = S["KA"], S["KB"]
    G, V = "/api/image/generate", "/api/video/create"
    before = srv.snapshot()
    body = {"prompt": "same", "name": "Same", "seed": 5}
    r1 = req("POST", G, key=KA, json=body, headers={"Idempotency-Key": "gen-1"})
    j1 = job_id_reply("api-idem-1.1", r1)
    r2 = req("POST", G, key=KA, body=b'{ "seed": 5, "name": "Same",  "prompt": "same" }',
             content_type="application/json", headers={"Idempotency-Key": "gen-1"})
    j2 = job_id_reply("api-idem-1.2", r2)
    eq("api-idem-1.2", j2, j1, "same key + same request (keys reordered) -> same jobId")
    r3 = req("POST", G, key=KA, parts=[("prompt", "same"), ("name", "Same"), ("seed", "5")],
             headers={"Idempotency-Key": "gen-1"})
    eq("api-idem-1.3", (r3.json or {}).get("jobId"), j1, "the same request as multipart -> same jobId")
    after = srv.snapshot()
    eq("api-idem-1.4", (after["jobs"] - before["jobs"], after["idempotency"] - before["idempotency"]), (1, 1))
    eq("api-idem-1.4", srv.count("jobs", "name='Same'"), 1, "only one job row exists")
    rejected("api-idem-1.5", "POST", G, 422, "Idempotency-Key 'gen-1' was already used with a different request", key=KA,
             json=dict(body, prompt="different"), headers={"Idempotency-Key": "gen-1"})
    rejected("api-idem-1.6", "POST", "/api/video/create", 422, "Idempotency-Key 'gen-1' was already used", key=KA,
             json={"avatarId": S["SA"], "text": "same"}, headers={"Idempotency-Key": "gen-1"})
    rb = req("POST", G, key=KB, json=body, headers={"Idempotency-Key": "gen-1"})
    jb = job_id_reply("api-idem-1.7", rb)
    check("api-idem-1.7", jb != j1, "keys are per account: bob gets his own job", (jb, j1))
    eq("api-idem-1.7", (srv.job_row(jb) or {}).get("account_id"), S["B"])

    # multipart with a file, replayed with a different boundary
    wav = H.wav_bytes(tone=3)
    parts = [("avatarId", S["SA"]), ("name", "Idem video"), ("audio", "v.wav", "audio/wav", wav)]
    before = srv.snapshot()
    r1 = req("POST", V, key=KA, parts=parts, boundary="boundaryAAAA", headers={"Idempotency-Key": "vid-1"})
    j1 = job_id_reply("api-idem-2.1", r1)
    mid = (params_of(j1) or {}).get("mediaId")
    r2 = req("POST", V, key=KA, parts=parts, boundary="otherBoundary-1234", headers={"Idempotency-Key": "vid-1"})
    eq("api-idem-2.2", (r2.status, (r2.json or {}).get("jobId")), (200, j1), "replay with another boundary -> same jobId")
    after = srv.snapshot()
    delta = H.Server.input_delta(before, after)  # the job's rendered outputs left out
    eq("api-idem-2.3", srv.count("jobs", "name='Idem video'"), 1, "only one job row")
    eq("api-idem-2.4", delta[2], 1, "the replay's file is not kept")
    eq("api-idem-2.5", delta[1], 1, "the replay leaves no media row behind (its blob was removed)")
    eq("api-idem-2.6", (srv.media_row(mid) or {}).get("state"), 2, "the original upload serves the job")
    check("api-idem-2.6", os.path.exists(srv.blob_path(mid or "xx")), "original blob kept")
    rejected("api-idem-2.7", "POST", V, 422, "Idempotency-Key 'vid-1' was already used with a different request", key=KA,
             parts=[("avatarId", S["SA"]), ("name", "Idem video"), ("audio", "v.wav", "audio/wav", H.wav_bytes(tone=4))],
             headers={"Idempotency-Key": "vid-1"})


def sec_idempotency_race():
    """Concurrent creates with one Idempotency-Key make one job (and keep one upload)."""
    import threading
    KA = S["KA"]
    results = []

    def go(kw):
        try:
            r = srv.request("POST", kw.pop("path"), key=KA, **kw)
            results.append((r.status, (r.json or {}).get("jobId")))
        except Exception as e:  # recorded, checked below
            results.append((repr(e), None))

    def race(n, **kw):
        results.clear()
        ts = [threading.Thread(target=go, args=(dict(kw),)) for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        return list(results)

    res = race(8, path="/api/image/generate", json={"prompt": "race", "name": "Race"}, headers={"Idempotency-Key": "race-1"})
    eq("api-idem-3.1", [s for s, _ in res], [200] * 8)
    eq("api-idem-3.1", len(set(j for _, j in res)), 1, "one jobId for 8 concurrent requests")
    eq("api-idem-3.2", srv.count("jobs", "name='Race'"), 1)
    before = srv.snapshot()
    wav = H.wav_bytes(tone=9)
    res = race(6, path="/api/video/create", parts=[("avatarId", S["SA"]), ("name", "Race video"),
                                                    ("audio", "race.wav", "audio/wav", wav)],
               headers={"Idempotency-Key": "race-2"})
    eq("api-idem-3.3", [s for s, _ in res], [200] * 6)
    eq("api-idem-3.3", len(set(j for _, j in res)), 1, "one jobId for 6 concurrent multipart requests")
    after = srv.snapshot()
    eq("api-idem-3.4", H.Server.input_delta(before, after), (1, 1, 1),
       "one job, one medium, one blob (besides the job's rendered outputs)")


def sec_cross_account():
    KA, KB, A = S["KA"], S["KB"], S["A"]
    g = H.new_id()
    V1, IJ = S["V1"], S["IJ"]
    for case, path in (("api-cross-1.1", "/api/video/%s"), ("api-cross-1.2", "/api/video/%s/download"),
                       ("api-cross-1.3", "/api/video/%s/status"), ("api-cross-1.4", "/api/image/%s")):
        for jid in (V1, IJ):
            ra = req("GET", path % jid, key=KA)
            check(case, ra.status == 200 or (path.startswith("/api/video/%s") and jid == IJ and "status" not in path),
                  "alice sees her own %s" % (path % jid), ra)
            same_shape_404(case, req("GET", path % jid, key=KB), jid, req("GET", path % g, key=KB), g)
    r = req("GET", "/api/videos", key=KB)
    check("api-cross-1.5", V1 not in json.dumps(r.json), "alice's video not in bob's list", r.json)

    # bob creating with alice's records
    def bob(case, body, field, own_id):
        before = srv.snapshot()
        ro = req("POST", "/api/video/create" if "avatarId" in body else "/api/image/edit", key=KB, json=body)
        eq(case, srv.snapshot_diff(before, srv.snapshot()), {}, "nothing written")
        body2 = json.loads(json.dumps(body).replace(own_id, g))
        rm = req("POST", "/api/video/create" if "avatarId" in body else "/api/image/edit", key=KB, json=body2)
        same_shape_404(case, ro, own_id, rm, g)
        has(case, ro.error, "%s '%s' not found" % (field, own_id))

    bob("api-cross-2.1", {"avatarId": S["A1"], "text": "hi", "voiceId": S["SV"]}, "avatarId", S["A1"])
    bob("api-cross-2.2", {"avatarId": S["SA"], "text": "hi", "voiceId": S["AV"]}, "voiceId", S["AV"])
    bob("api-cross-2.3", {"avatarId": S["SA"], "mediaId": S["AUD"]}, "mediaId", S["AUD"])
    bob("api-cross-2.4", {"prompt": "p", "name": "n", "referenceImageMediaId": S["MEDIA_PNG"]},
        "referenceImageMediaId", S["MEDIA_PNG"])
    # alice's avatar's default voice is alice's: bob cannot borrow either
    r = req("POST", "/api/image/inpaint", key=KB,
            json={"prompt": "p", "name": "n", "originalImageMediaId": S["MEDIA_PNG"], "maskImageMediaId": S["MEDIA_PNG"]})
    error_shape("api-cross-2.5", r, 404, "originalImageMediaId '%s' not found" % S["MEDIA_PNG"])
    # finalize of alice's pending upload
    r = req("POST", "/api/media/initialize", key=KA, json={"fileName": "a.png", "contentType": "image/png", "fileSize": len(S["PNG"])})
    pid, purl = r.json["mediaId"], r.json["uploadUrl"]
    req("PUT", purl, body=S["PNG"])
    same_shape_404("api-cross-2.6", req("POST", "/api/media/finalize", key=KB, json={"mediaId": pid}), pid,
                   req("POST", "/api/media/finalize", key=KB, json={"mediaId": g}), g)
    eq("api-cross-2.6", (srv.media_row(pid) or {}).get("state"), 1, "bob's finalize changed nothing")
    eq("api-cross-2.7", req("POST", "/api/media/finalize", key=KA, json={"mediaId": pid}).status, 200)
    # stock records are usable by both
    for case, k in (("api-cross-3.1", KA), ("api-cross-3.2", KB)):
        r = req("POST", "/api/video/create", key=k, json={"avatarId": S["SA"], "voiceId": S["SV"], "text": "stock"})
        job_id_reply(case, r)
    # a job created by alice over the API is invisible to bob
    jid = job_id_reply("api-cross-3.3", req("POST", "/api/image/generate", key=KA, json={"prompt": "mine", "name": "m"}))
    same_shape_404("api-cross-3.3", req("GET", "/api/video/%s/status" % jid, key=KB), jid,
                   req("GET", "/api/video/%s/status" % g, key=KB), g)


def sec_rate_limit():
    root = H.tempdir("api-rate")
    rs = H.Server(root, workers=0, threads=2, args=["--rate-limit", "5"])
    rs.start()

    def slot(key):
        import hashlib
        h = hashlib.sha256(key.encode()).hexdigest()
        idx = 0
        for c in h[:6]:
            idx = idx * 16 + ord(c) % 16
        return idx % 4096

    k1 = rs.create_key("r1")
    k2 = rs.create_key("r2")
    while slot(k2) == slot(k1):  # distinct token buckets, for a deterministic test
        k2 = rs.create_key("r2")
    statuses, first429 = [], None
    for _ in range(15):
        r = rs.request("GET", "/api/avatars", key=k1)
        statuses.append(r.status)
        if r.status == 429 and first429 is None:
            first429 = r
    eq("api-rate-1.1", statuses[:10], [200] * 10, "a burst of 2 x rate passes")
    check("api-rate-1.2", 429 in statuses[10:], "then 429", statuses)
    if first429:
        error_shape("api-rate-1.3", first429, 429, "rate limit exceeded (5 requests/s per key); retry after 1 s")
        eq("api-rate-1.3", first429.headers.get("retry-after"), "1")
    eq("api-rate-1.4", rs.request("GET", "/api/avatars", key=k2).status, 200, "another key has its own bucket")
    eq("api-rate-1.5", rs.request("GET", "/healthz").status, 200, "public routes are not limited")
    eq("api-rate-1.6", rs.request("GET", "/api/avatars").status, 401, "no key: 401, not 429")
    before = rs.snapshot()
    r = rs.request("POST", "/api/image/generate", key=k1, json={"prompt": "p", "name": "n"})
    error_shape("api-rate-1.7", r, 429, "rate limit exceeded")
    eq("api-rate-1.7", rs.snapshot_diff(before, rs.snapshot()), {}, "nothing written by a limited create")
    time.sleep(1.3)
    eq("api-rate-1.8", rs.request("GET", "/api/avatars", key=k1).status, 200, "tokens refill")
    v = rs.metric('mira_http_requests_total{route="GET /api/avatars",status="429"}')
    check("api-rate-1.9", v is not None and v >= 1, "429s are counted in /metrics", v)

    # no workers here: a job stays queued
    jid = job_id_reply("api-status-2.1", rs.request("POST", "/api/image/generate", key=k2, json={"prompt": "q", "name": "q"}))
    r = rs.request("GET", "/api/video/%s/status" % jid, key=k2)
    eq("api-status-2.1", (r.status, r.json), (200, {"result": "success", "status": "inference_started", "progress": "0%"}))
    eq("api-status-2.2", rs.metric("mira_jobs_queue_depth"), 1.0)
    eq("api-status-2.2", rs.metric('mira_jobs{state="inference_started"}'), 1.0)
    rc, secs = rs.stop()
    eq("api-rate-2.1", rc, 0, "SIGTERM exit code")


def sec_connections():
    """Keep-alive, pipelining and a client that hangs up, around offloaded handlers."""
    import http.client
    import socket
    KA = S["KA"]
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=20)
    try:
        seq = []
        for method, path, body in (("POST", "/api/image/generate", {"prompt": "ka", "name": "ka"}),
                                   ("GET", "/api/avatars", None),
                                   ("POST", "/api/media/initialize", {"fileName": "a.png", "contentType": "image/png",
                                                                      "fileSize": 5}),
                                   ("POST", "/api/image/generate", {"prompt": ""}),
                                   ("GET", "/healthz", None)):
            h = {"x-api-key": KA}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            seq.append((r.status, sorted(json.loads(r.read() or b"{}"))))
        eq("api-conn-1.1", seq, [(200, ["jobId", "result"]), (200, ["avatars"]), (200, ["mediaId", "uploadUrl"]),
                                 (400, ["error", "result"]), (200, ["status", "version"])],
           "five requests on one keep-alive connection")
    finally:
        conn.close()

    # three pipelined requests in one write: the answers come back in order
    def post(body):
        b = json.dumps(body).encode()
        return (b"POST /api/image/generate HTTP/1.1\r\nHost: t\r\nx-api-key: " + KA.encode() +
                b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
    raw = (post({"prompt": "pipe-1", "name": "pipe-1"}) +
           b"GET /api/voices HTTP/1.1\r\nHost: t\r\nx-api-key: " + KA.encode() + b"\r\n\r\n" +
           post({"prompt": "pipe-2", "name": "pipe-2"}) +
           b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    out = H.raw_exchange(srv.port, raw)
    codes = re.findall(rb"HTTP/1\.1 (\d{3}) ", out)
    eq("api-conn-1.2", codes, [b"200", b"200", b"200", b"200"], "pipelined answers, all of them")
    ids = re.findall(rb'"jobId":"(c[0-9a-z]{24})"', out)
    names = [(srv.job_row(i.decode()) or {}).get("name") for i in ids]
    eq("api-conn-1.2", names, ["pipe-1", "pipe-2"], "in request order")
    check("api-conn-1.2", out.find(b'"voices"') > out.find(ids[0] if ids else b"?") > 0, "voices answered second")

    # a client that sends a create and hangs up must not hurt the server
    for i in range(5):
        b = json.dumps({"prompt": "gone", "name": "gone-%d" % i}).encode()
        sk = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        sk.sendall(b"POST /api/image/generate HTTP/1.1\r\nHost: t\r\nx-api-key: " + KA.encode() +
                   b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
        sk.close()
    sk = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    sk.sendall(b"PUT /api/media/x/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\npartial")
    sk.close()
    time.sleep(0.3)
    eq("api-conn-1.3", req("GET", "/healthz").status, 200, "server alive after clients hung up")
    check("api-conn-1.3", srv.alive(), "process alive")

    # the largest allowed upload goes through the signed PUT path intact
    wav = H.wav_bytes(samples=(MAX_UPLOAD - 44) // 2)
    eq("api-conn-1.4", len(wav), MAX_UPLOAD)
    mid, _ = upload(KA, wav, "audio/wav", "max.wav")
    with open(srv.blob_path(mid), "rb") as f:
        eq("api-conn-1.4", f.read() == wav, True, "a --max-upload sized file is stored byte for byte")
    eq("api-conn-1.4", srv.tmp_files(), [], "no temp file left after the PUT")


def sec_utf8():
    """Text must be UTF-8 whichever way it arrives; replies stay JSON."""
    KA = S["KA"]
    # JSON bodies with invalid UTF-8 are refused by the parser
    rejected("api-utf8-1.1", "POST", "/api/image/generate", 400, "invalid JSON", key=KA,
             body=b'{"prompt":"bad \xff","name":"n"}', content_type="application/json")
    rejected("api-utf8-1.2", "POST", "/api/image/generate", 400, "field 'prompt' contains a NUL character", key=KA,
             parts=[("prompt", b"nul \x00 in"), ("name", "n")])
    # multipart text fields must be checked the same way: a job must never be
    # created with its prompt silently dropped or a name no reply can encode
    r = rejected("api-utf8-1.3", "POST", "/api/image/generate", 400, "'prompt'", key=KA,
                 parts=[("prompt", b"bad \xff\xfe prompt"), ("name", "n")])
    r = rejected("api-utf8-1.4", "POST", "/api/video/create", 400, "'name'", key=KA,
                 parts=[("avatarId", S["SA"]), ("text", "hi"), ("name", b"\xc3\x28 bad")])
    r = rejected("api-utf8-1.5", "POST", "/api/image/edit", 400, "'prompt'", key=KA,
                 parts=[("prompt", b"\xed\xa0\x80"), ("name", "n"), ("image", "a.png", "image/png", S["PNG"])])
    # non-ASCII that is valid UTF-8 round-trips
    r = req("POST", "/api/image/generate", key=KA, parts=[("prompt", "caf\u00e9 \u2615"), ("name", "\u00fcber")])
    jid = job_id_reply("api-utf8-1.6", r)
    eq("api-utf8-1.6", ((params_of(jid) or {}).get("prompt"), (srv.job_row(jid) or {}).get("name")),
       ("caf\u00e9 \u2615", "\u00fcber"))
    # a stored name that is not UTF-8 (old data, another writer) must not break the reply's JSON
    k = srv.create_key("erin")
    acc = srv.account_id("erin")
    mid = srv.insert_media(acc, S["PNG"], "image/png")
    jid = srv.insert_job(acc, 1, 2, name="x", params={"prompt": "p"}, result_media_id=mid)
    srv.exec("UPDATE jobs SET name=CAST(? AS TEXT) WHERE id=?", (b"bad \xff name", jid))
    r = req("GET", "/api/image/" + jid, key=k)
    check("api-utf8-2.1", r.json is not None, "the reply is valid JSON (status %d)" % r.status, r.body)


def sec_port_zero():
    """--port 0 (accepted by the CLI): the kernel picks the port; signed links must carry it."""
    root = H.tempdir("api-port0")
    ps = H.Server(root, workers=0, threads=1)
    ps.start(port=0, wait=False)
    deadline = time.time() + 10
    m = None
    while time.time() < deadline and not m:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", ps.stderr())
        time.sleep(0.05)
    check("api-system-2.1", m is not None, "server logs the port it got", ps.stderr()[-500:])
    if not m:
        return
    ps.port = int(m.group(1))
    ps.wait_ready()
    k = ps.create_key("z")
    r = ps.request("POST", "/api/media/initialize", key=k, json={"fileName": "a.png", "contentType": "image/png", "fileSize": 10})
    url = (r.json or {}).get("uploadUrl", "")
    check("api-system-2.2", url.startswith("http://127.0.0.1:%d/" % ps.port),
          "uploadUrl uses the listening port with --port 0", url, "http://127.0.0.1:%d/..." % ps.port)
    ps.kill()


def main():
    global ROUTES
    ROUTES = parse_routes()
    setup()
    H.sections(sec_system, sec_auth, sec_catalog, sec_status_shapes, sec_videos, sec_images, sec_creates,
               sec_validation, sec_media, sec_multipart, sec_render, sec_avatars, sec_idempotency, sec_idempotency_race, sec_cross_account, sec_rate_limit,
               sec_connections, sec_utf8, sec_port_zero, sec_routes)
    rc, secs = srv.stop()
    eq("api-system-3.1", rc, 0, "SIGTERM: clean exit")
    eq("api-system-3.2", srv.integrity(), "ok")
    eq("api-system-3.3", srv.tmp_files(), [], "no temp files left in blobs/tmp")


if __name__ == "__main__":
    H.run(main, limit_s=110)
