#!/usr/bin/env python3
"""Slow clients cannot hold a connection (issue 2): with --request-timeout 1,
a request whose headers never finish and an idle keep-alive connection are
both closed by the server, while a normal client is served meanwhile."""
import socket
import time

import mira_harness as H
from mira_harness import check, eq


def closed_within(sock, seconds):
    """True if the peer closes (EOF or reset) within `seconds`."""
    sock.settimeout(seconds)
    try:
        while True:
            if sock.recv(4096) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def main():
    srv = H.Server(H.tempdir("timeouts"), workers=0, args=["--request-timeout", "1"]).start()
    # timeout-1.1: headers that never end are cut off
    slow = socket.create_connection(("127.0.0.1", srv.port))
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    t0 = time.time()
    # timeout-1.2: meanwhile another client is served at once
    r = srv.request("GET", "/healthz")
    eq("timeout-1.2", r.status, 200)
    check("timeout-1.1", closed_within(slow, 5), "an unfinished request is closed after ~1 s")
    check("timeout-1.1", time.time() - t0 < 4, "closed in time", round(time.time() - t0, 2))
    slow.close()
    # timeout-1.3: a body that stops short of its Content-Length is cut off too
    part = socket.create_connection(("127.0.0.1", srv.port))
    part.sendall(b"POST /api/media/finalize HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"med")
    check("timeout-1.3", closed_within(part, 5), "a stalled body is closed")
    part.close()
    # timeout-1.4: an idle keep-alive connection does not stay open forever
    idle = socket.create_connection(("127.0.0.1", srv.port))
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    idle.settimeout(5)
    first = idle.recv(4096)
    check("timeout-1.4", first.startswith(b"HTTP/1.1 200"), "first response", first[:40])
    check("timeout-1.4", closed_within(idle, 5), "idle keep-alive connection closed")
    idle.close()
    rc, _ = srv.stop()
    eq("timeout-1.5", rc, 0)


if __name__ == "__main__":
    H.run(main, limit_s=60)
