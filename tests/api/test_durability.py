#!/usr/bin/env python3
"""Durability of the job queue across kill -9 and SIGTERM.

MIRA_TEST_JOB_DELAY_MS holds each job in inference_working so the server can
be killed mid-job. Video jobs render for real and end inference_complete with
an MP4; image jobs end inference_failed with a message naming the missing
engine. What matters here is that no job is lost or left started/working,
that interrupted jobs are re-claimed (attempts), and that the database and
blob directory stay clean — also when the server dies or is stopped while a
video is being rendered (the render's temp files live in blobs/tmp; a
graceful stop removes them, start-up sweeps what a crash left).
Case ids: dur-N.M.
"""
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mira_harness as H  # noqa: E402
from mira_harness import check, eq, has  # noqa: E402

FINAL = ("inference_complete", "inference_failed", "inference_error")
LONG_SCRIPT = "Mira keeps every job through a crash. " * 30  # about 40 s of speech: a render of seconds
STATUS = {0: "inference_started", 1: "inference_working", 2: "inference_complete", 3: "inference_failed",
          4: "inference_error"}


def wait_until(fn, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def statuses(srv, ids):
    rows = srv.query("SELECT id,status FROM jobs WHERE id IN (%s)" % ",".join("?" * len(ids)), tuple(ids))
    return {i: s for i, s in rows}


def all_final_via_api(srv, key, ids):
    out = {}
    for jid in ids:
        r = srv.request("GET", "/api/video/%s/status" % jid, key=key)
        if r.status != 200 or (r.json or {}).get("status") not in FINAL:
            return None
        out[jid] = r.json
    return out


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def kill9_and_recover():
    root = H.tempdir("dur-kill")
    srv = H.Server(root, workers=2, threads=2, env={"MIRA_TEST_JOB_DELAY_MS": "3000"})
    srv.start()
    key = srv.create_key("durable")
    acc = srv.account_id("durable")
    sv = srv.insert_voice(None, "Stock", "en-US", "female")
    sa = srv.insert_avatar(None, "Stock", sv)

    kinds = {}
    for i in range(6):
        r = srv.request("POST", "/api/image/generate", key=key, json={"prompt": "p%d" % i, "name": "g%d" % i})
        eq("dur-1.1", r.status, 200, "create generate %d: %r" % (i, r))
        kinds[(r.json or {}).get("jobId")] = "generate"
    for i in range(4):
        r = srv.request("POST", "/api/video/create", key=key, json={"avatarId": sa, "text": "hello %d" % i})
        eq("dur-1.1", r.status, 200, "create video %d: %r" % (i, r))
        kinds[(r.json or {}).get("jobId")] = "video"
    ids = [j for j in kinds if j]
    eq("dur-1.1", len(ids), 10)

    # two workers: two jobs working, the rest queued
    working = wait_until(lambda: srv.query("SELECT id FROM jobs WHERE status=1"), 10)
    check("dur-1.2", len(working) >= 1, "a job reaches inference_working", working)
    queued = srv.query("SELECT id FROM jobs WHERE status=0 ORDER BY created_at DESC LIMIT 1")
    if queued:
        r = srv.request("GET", "/api/video/%s/status" % queued[0][0], key=key)
        eq("dur-1.3", r.json, {"result": "success", "status": "inference_started", "progress": "0%"})
    # progress becomes visible while working (the heartbeat publishes it)
    moving = wait_until(lambda: srv.query("SELECT id,progress FROM jobs WHERE status=1 AND progress>0"), 5)
    check("dur-1.4", bool(moving), "a working job shows progress > 0", moving)
    if moving:
        r = srv.request("GET", "/api/video/%s/status" % moving[0][0], key=key)
        j = r.json or {}
        eq("dur-1.4", (j.get("result"), j.get("status")), ("success", "inference_working"))
        check("dur-1.4", re.match(r"^[1-9]\d?%$", j.get("progress", "")) is not None, "progress NN% > 0", j)

    eq("dur-1.5", srv.kill(), -9, "kill -9")
    at_kill = statuses(srv, ids)
    interrupted = sorted(j for j, s in at_kill.items() if s == 1)
    check("dur-1.5", len(interrupted) >= 1, "jobs were working when the server died", at_kill)
    eq("dur-1.5", sorted(at_kill), sorted(ids), "every created job is in the database after kill -9")

    # leftovers of an interrupted run: temp files and jobs of dead/expired workers
    tmp = os.path.join(srv.data, "blobs", "tmp")
    for name in ("put-%s-0123456789abcdef" % H.new_id(), "upload-%s-fedcba9876543210" % H.new_id()):
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(b"partial upload")
    host = socket.gethostname()
    far = H.now_ms() + 3600 * 1000
    exhausted = srv.insert_job(acc, 1, 1, name="exhausted", params={"prompt": "x", "aspectRatio": "1:1"}, attempts=3,
                               lease_owner="%s:%d:w0" % (host, dead_pid()), lease_expires_at=far)
    expired = srv.insert_job(acc, 1, 1, name="expired", params={"prompt": "y", "aspectRatio": "1:1"}, attempts=1,
                             lease_owner="some-other-host:4242:w1", lease_expires_at=H.now_ms() - 1000)
    alive_elsewhere = srv.insert_job(acc, 1, 1, name="leased", params={"prompt": "z", "aspectRatio": "1:1"},
                                     attempts=1, lease_owner="some-other-host:4243:w0", lease_expires_at=far)

    srv.start(env={"MIRA_TEST_JOB_DELAY_MS": "200"})
    eq("dur-2.1", srv.tmp_files(), [], "temp files of the killed run are swept at start")
    has("dur-2.1", srv.stderr(), "removed 2 temp files left by an interrupted run")
    log = srv.stderr()
    for jid in interrupted:
        has("dur-2.2", log, "job %s: re-queued after its worker" % jid)

    done = wait_until(lambda: all_final_via_api(srv, key, ids + [exhausted, expired]), 40, step=0.1)
    check("dur-2.3", done is not None, "every job reaches a final state after the restart",
          statuses(srv, ids + [exhausted, expired]))
    done = done or {}
    for jid in ids:
        j = done.get(jid, {})
        case = "dur-2.4"
        if kinds[jid] == "video":
            eq(case, j, {"result": "success", "status": "inference_complete", "progress": "100%"},
               "job %s (video) renders" % jid)
            has(case, srv.video_bytes(key, jid)[:12], b"ftyp", "job %s: its downloadUrl serves an MP4" % jid)
            continue
        eq(case, (j.get("result"), j.get("status")), ("success", "inference_failed"), "job %s (%s)" % (jid, kinds[jid]))
        for frag in H.ENGINE_MESSAGES[kinds[jid]]:
            has(case, j.get("error"), frag)
    final_db = statuses(srv, ids)
    eq("dur-2.5", sorted(final_db), sorted(ids), "no job lost")
    eq("dur-2.5", sorted(set(STATUS[s] for s in final_db.values())), ["inference_complete", "inference_failed"],
       "none stays started or working")
    eq("dur-2.5", srv.count("jobs", "status IN (0,1) AND id != ?", (alive_elsewhere,)), 0)
    attempts = dict(srv.query("SELECT id,attempts FROM jobs"))
    for jid in ids:
        want = 2 if jid in interrupted else 1
        eq("dur-2.6", attempts.get(jid), want,
           "attempts of %s (%s at the kill)" % (jid, STATUS.get(at_kill.get(jid))))

    # a job already interrupted max_attempts times is given up, not retried forever
    j = done.get(exhausted, {})
    eq("dur-3.1", (j.get("status"), j.get("error")),
       ("inference_failed", "job was interrupted 3 times (server crash or restart); giving up"))
    eq("dur-3.1", attempts.get(exhausted), 3)
    # an expired lease (owner on another host) is claimed again
    j = done.get(expired, {})
    eq("dur-3.2", j.get("status"), "inference_failed")
    has("dur-3.2", j.get("error"), H.ENGINE_MESSAGES["generate"][0])
    eq("dur-3.2", attempts.get(expired), 2)
    # a live lease held by another node is left alone
    row = srv.job_row(alive_elsewhere) or {}
    eq("dur-3.3", (row.get("status"), row.get("attempts"), row.get("lease_owner")), (1, 1, "some-other-host:4243:w0"))

    eq("dur-2.7", srv.metric('mira_jobs{state="inference_failed"}'), 8.0, "6 generate + exhausted + expired")
    eq("dur-2.7", srv.metric('mira_jobs{state="inference_complete"}'), 4.0, "the 4 videos")
    eq("dur-2.7", srv.metric("mira_jobs_queue_depth"), 0.0)
    rc, secs = srv.stop()
    eq("dur-2.8", rc, 0, "SIGTERM exit code")
    check("dur-2.8", secs < 15, "SIGTERM exits within 15 s", secs)
    eq("dur-2.9", srv.integrity(), "ok", "PRAGMA integrity_check")
    eq("dur-2.10", srv.tmp_files(), [], "no temp files under blobs/tmp")


def graceful_sigterm():
    root = H.tempdir("dur-term")
    srv = H.Server(root, workers=1, threads=2, env={"MIRA_TEST_JOB_DELAY_MS": "8000"})
    srv.start()
    key = srv.create_key("graceful")
    r1 = srv.request("POST", "/api/image/generate", key=key, json={"prompt": "a", "name": "first"})
    r2 = srv.request("POST", "/api/image/inpaint", key=key, parts=[
        ("prompt", "b"), ("name", "second"), ("originalImage", "o.png", "image/png", H.png_bytes()),
        ("maskImage", "m.png", "image/png", H.png_bytes(1, 1, (0, 0, 0)))])
    j1, j2 = (r1.json or {}).get("jobId"), (r2.json or {}).get("jobId")
    check("dur-4.1", j1 and j2, "jobs created", (r1, r2))
    got = wait_until(lambda: (srv.job_row(j1) or {}).get("status") == 1, 10)
    check("dur-4.1", got, "first job is working", srv.job_row(j1))

    rc, secs = srv.stop(timeout=20)
    eq("dur-4.2", rc, 0, "SIGTERM while a job works: exit code")
    check("dur-4.2", secs < 15, "exits within 15 s", secs)
    has("dur-4.2", srv.stderr(), "job %s: re-queued for shutdown" % j1)
    row1, row2 = srv.job_row(j1) or {}, srv.job_row(j2) or {}
    eq("dur-4.3", (row1.get("status"), row1.get("attempts"), row1.get("lease_owner")), (0, 1, ""),
       "the working job went back to the queue")
    eq("dur-4.3", (row2.get("status"), row2.get("attempts")), (0, 0), "the queued job is untouched")
    eq("dur-4.4", srv.integrity(), "ok")

    srv.start(env={})
    done = wait_until(lambda: all_final_via_api(srv, key, [j1, j2]), 20, step=0.1)
    check("dur-4.5", done is not None, "both jobs reach a final state after the restart",
          (srv.job_row(j1), srv.job_row(j2)))
    done = done or {}
    for jid, kind in ((j1, "generate"), (j2, "inpaint")):
        j = done.get(jid, {})
        eq("dur-4.5", j.get("status"), "inference_failed")
        for frag in H.ENGINE_MESSAGES[kind]:
            has("dur-4.5", j.get("error"), frag)
    eq("dur-4.6", (srv.job_row(j1) or {}).get("attempts"), 2, "re-claimed after the restart")
    eq("dur-4.6", (srv.job_row(j2) or {}).get("attempts"), 1)
    # the multipart inputs of the second job survived both shutdowns
    p = (srv.job_row(j2) or {}).get("params") or "{}"
    import json
    p = json.loads(p)
    for field in ("originalImageMediaId", "maskImageMediaId"):
        mid = p.get(field, "")
        eq("dur-4.7", ((srv.media_row(mid) or {}).get("state"), os.path.exists(srv.blob_path(mid or "xx"))), (2, True),
           "%s is stored and ready" % field)
    rc, secs = srv.stop()
    eq("dur-4.8", rc, 0)
    eq("dur-4.8", srv.integrity(), "ok")
    eq("dur-4.8", srv.tmp_files(), [])


def interrupted_render():
    """SIGTERM and kill -9 while a video is being encoded (no test delay: the
    real render is the work in progress)."""
    root = H.tempdir("dur-render")
    srv = H.Server(root, workers=1, threads=2)
    srv.start()
    key = srv.create_key("renderer")
    sv = srv.insert_voice(None, "Stock", "en-US", "female")
    sa = srv.insert_avatar(None, "Stock", sv)

    def rendering(jid):
        """Waits until jid is working and its MP4 is being written in blobs/tmp."""
        def seen():
            tmp = srv.tmp_files()
            return tmp if (jid + ".mp4" in tmp and (srv.job_row(jid) or {}).get("status") == 1) else None
        return wait_until(seen, 30, step=0.005)

    r = srv.request("POST", "/api/video/create", key=key, json={"avatarId": sa, "text": LONG_SCRIPT, "name": "long"})
    eq("dur-5.1", r.status, 200, "create: %r" % (r,))
    jid = (r.json or {}).get("jobId", "")
    check("dur-5.1", rendering(jid), "the render writes its MP4 in blobs/tmp while the job works",
          (srv.job_row(jid) or {}).get("status"))
    # a graceful stop interrupts the render, re-queues the job and removes its temp files
    rc, secs = srv.stop()
    eq("dur-5.2", rc, 0, "SIGTERM mid-render: exit code")
    check("dur-5.2", secs < 15, "exits within 15 s", secs)
    has("dur-5.2", srv.stderr(), "job %s: re-queued for shutdown" % jid)
    row = srv.job_row(jid) or {}
    eq("dur-5.3", (row.get("status"), row.get("attempts"), row.get("lease_owner"), row.get("result_media_id")),
       (0, 1, "", ""), "back in the queue, no result")
    eq("dur-5.3", srv.tmp_files(), [], "a graceful stop leaves no temp file behind")
    eq("dur-5.3", srv.integrity(), "ok")

    # started again, the job renders from the start; kill -9 in the middle of it
    srv.start()
    check("dur-5.4", rendering(jid), "the re-queued job renders again after the restart",
          (srv.job_row(jid) or {}).get("status"))
    eq("dur-5.4", srv.kill(), -9, "kill -9 mid-render")
    left = srv.tmp_files()
    check("dur-5.4", jid + ".mp4" in left, "the killed render left its MP4 in blobs/tmp", left)
    eq("dur-5.4", (srv.job_row(jid) or {}).get("status"), 1, "still working at the kill")

    srv.start()
    eq("dur-5.5", srv.tmp_files(), [], "start-up sweeps the killed render's temp files")
    has("dur-5.5", srv.stderr(), "removed %d temp files left by an interrupted run" % len(left))
    has("dur-5.5", srv.stderr(), "job %s: re-queued after its worker" % jid)
    j = srv.wait_complete(key, jid, timeout=60)
    eq("dur-5.6", j, {"result": "success", "status": "inference_complete", "progress": "100%"})
    row = srv.job_row(jid) or {}
    eq("dur-5.6", row.get("attempts"), 3, "claimed three times: first run, after SIGTERM, after kill -9")
    eq("dur-5.6", srv.count("jobs", "status=2 AND result_media_id!=''"), 1, "one result")
    mp4 = srv.video_bytes(key, jid)
    has("dur-5.7", mp4[:12], b"ftyp", "the MP4 of the finished job")
    # only the finished render's MP4, thumbnail and captions were stored: no half-written leftovers
    outputs = srv.count("media", "account_id=?", (srv.account_id("renderer"),))
    eq("dur-5.7", outputs, 3, "MP4, thumbnail and captions media for the account")
    rc, _ = srv.stop()
    eq("dur-5.8", rc, 0)
    eq("dur-5.8", srv.tmp_files(), [])
    eq("dur-5.8", srv.integrity(), "ok")


def main():
    H.sections(kill9_and_recover, graceful_sigterm, interrupted_render)


if __name__ == "__main__":
    H.run(main, limit_s=110)
