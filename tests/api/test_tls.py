#!/usr/bin/env python3
"""TLS and HTTP/2 negotiation (issue 2): `mira serve --tls-cert/--tls-key`
serves HTTPS, offers h2 by ALPN, and refuses a half-given TLS config."""
import json, os, socket, ssl, subprocess, sys, tempfile, time, shutil

MIRA = os.environ["MIRA_BIN"]
passed = failed = 0


def check(case, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {case}: {detail}", file=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tls_get(port, path, alpn):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(alpn)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            proto = s.selected_alpn_protocol()
            if proto == "h2":
                return proto, None
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            return proto, data


def main():
    tmp = tempfile.mkdtemp(prefix="mira-tls-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    port = free_port()
    log = open(os.path.join(tmp, "server.log"), "w")
    proc = subprocess.Popen([MIRA, "serve", "--data", os.path.join(tmp, "data"), "--port", str(port),
                             "--workers", "0", "--tls-cert", cert, "--tls-key", key],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        proto, data = None, None
        for _ in range(100):
            try:
                proto, data = tls_get(port, "/healthz", ["http/1.1"])
                break
            except OSError:
                time.sleep(0.05)
        check("tls-1.1", data is not None and (data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200")), repr(data)[:200])
        body = data.split(b"\r\n\r\n", 1)[1] if data else b"{}"
        check("tls-1.2", json.loads(body).get("status") == "ok", body[:200])
        proto, _ = tls_get(port, "/healthz", ["h2", "http/1.1"])
        check("tls-1.3", proto == "h2", f"ALPN selected {proto!r}, want 'h2'")
        # Plain HTTP on the TLS port is not served.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                reply = s.recv(100)
            except OSError:
                reply = b""
        check("tls-1.4", not reply.startswith(b"HTTP/1.1 200"), repr(reply))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
    # Only one of the pair: a clear error, exit status non-zero.
    r = subprocess.run([MIRA, "serve", "--data", os.path.join(tmp, "data"), "--port", str(free_port()),
                        "--tls-cert", cert], capture_output=True, text=True, timeout=20)
    check("tls-2.1", r.returncode != 0, f"exit {r.returncode}")
    check("tls-2.2", "--tls-cert and --tls-key must be given together" in r.stderr, r.stderr)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
