#!/usr/bin/env python3
"""GET /api/openapi.json from a real `mira serve` and check it:

  1. it is a valid OpenAPI 3 document (@apidevtools/swagger-parser, which
     scripts/setup installs into $MIRA_SRC/.tools/node_modules);
  2. its (METHOD, path) operations are exactly the route table in
     src/api/routes.c;
  3. every operation documents a 2xx response, every route that needs an API
     key documents 401, and the public routes (PUB in routes.c) are exactly
     the operations with `security: []`;
  4. the served document is the one in src/api/openapi.json (the embedded
     copy is not stale).

Environment: MIRA_BIN (the built mira binary), MIRA_SRC (the source tree).
Standard library only. Last line: "N passed, M failed"; exit 1 on failure.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")

passed = 0
failed = 0


def check(ok, name, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s" % name)
        if detail:
            for line in str(detail).rstrip().splitlines():
                print("     " + line)
    return ok


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()


class Server:
    """`mira serve` on a free port with its own data directory."""

    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp
        self.proc = None
        self.log_path = os.path.join(tmp, "server.log")
        self.url = None

    def start(self, attempts=3):
        for _ in range(attempts):
            port = free_port()
            self.url = "http://127.0.0.1:%d" % port
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [self.binary, "serve", "--data", os.path.join(self.tmp, "data"), "--port", str(port),
                 "--workers", "0"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break  # exited: port taken or a start-up error; maybe retry
                try:
                    status, _, _ = http_get(self.url + "/healthz", timeout=1)
                    if status == 200:
                        return True
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass
                time.sleep(0.05)
            self.stop()
        return False

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def parse_routes(src):
    """[(METHOD, path, public)] from the route table in src/api/routes.c."""
    path = os.path.join(src, "src", "api", "routes.c")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # comments may quote routes
    text = re.sub(r"//[^\n]*", "", text)
    routes = []
    for m in re.finditer(r'\{\s*"([A-Z]+)"\s*,\s*"(/[^"]*)"\s*,\s*\w+\s*,\s*([^,{}]*?)\s*,', text):
        flags = m.group(3)
        public = bool(re.search(r"\bPUB\b|\bMIRA_ROUTE_PUBLIC\b", flags))
        routes.append((m.group(1), m.group(2), public))
    return routes


def doc_operations(doc):
    """{(METHOD, path): operation} from an OpenAPI document."""
    ops = {}
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            if method.lower() in HTTP_METHODS and isinstance(op, dict):
                ops[(method.upper(), path)] = op
    return ops


def is_public(doc, op):
    sec = op["security"] if "security" in op else doc.get("security", [])
    return sec == [] or any(req == {} for req in sec)


def validate_with_node(src, doc_path):
    """(ok, message) from swagger-parser's validate()."""
    node = shutil.which("node") or shutil.which("nodejs")
    module = os.path.join(src, ".tools", "node_modules", "@apidevtools", "swagger-parser")
    hint = "run scripts/setup to install node and @apidevtools/swagger-parser into %s/.tools" % src
    if not node:
        return False, "node is not installed; " + hint
    if not os.path.isdir(module):
        return False, "%s is missing; %s" % (module, hint)
    script = (
        "const SwaggerParser = require(process.argv[1]);\n"
        "SwaggerParser.validate(process.argv[2])\n"
        "  .then(api => { console.log('valid: ' + api.info.title + ' ' + api.info.version); })\n"
        "  .catch(err => { console.error(err && err.message ? err.message : String(err)); process.exit(1); });\n")
    try:
        r = subprocess.run([node, "-e", script, module, doc_path], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False, "swagger-parser did not finish within 120 s"
    lines = (r.stdout + r.stderr).strip().splitlines()
    if len(lines) > 40:  # one bad schema can repeat through every $ref to it
        lines = lines[:40] + ["... (%d more lines)" % (len(lines) - 40)]
    return r.returncode == 0, "\n".join(lines)


def fmt_ops(ops):
    return "\n".join("  %-6s %s" % op for op in sorted(ops)) or "  (none)"


def main():
    binary, src = os.environ.get("MIRA_BIN"), os.environ.get("MIRA_SRC")
    if not binary or not src:
        check(False, "environment", "set MIRA_BIN (the mira binary) and MIRA_SRC (the source tree)")
        return
    tmp = tempfile.mkdtemp(prefix="mira-openapi-")
    server = Server(binary, tmp)
    try:
        if not check(server.start(), "server starts and /healthz answers 200", server.log_tail()):
            return

        try:
            status, ctype, body = http_get(server.url + "/api/openapi.json")
        except urllib.error.HTTPError as e:
            status, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read()
        if not check(status == 200 and ctype.startswith("application/json"),
                     "GET /api/openapi.json answers 200 application/json (no API key)",
                     "status %s, Content-Type %r" % (status, ctype)):
            return
        try:
            doc = json.loads(body)
        except ValueError as e:
            check(False, "the document is JSON", str(e))
            return
        check(isinstance(doc, dict) and str(doc.get("openapi", "")).startswith("3."),
              "the document declares OpenAPI 3", "openapi = %r" % (doc.get("openapi") if isinstance(doc, dict) else doc))

        # 1. swagger-parser
        doc_path = os.path.join(tmp, "openapi.json")
        with open(doc_path, "wb") as f:
            f.write(body)
        ok, msg = validate_with_node(src, doc_path)
        check(ok, "swagger-parser validates the document", msg)

        # 2. same operations as the route table
        routes = parse_routes(src)
        check(len(routes) > 0, "routes parsed from src/api/routes.c", "no {\"METHOD\", \"/path\", ...} entries found")
        want = {(m, p) for m, p, _ in routes}
        ops = doc_operations(doc)
        have = set(ops)
        check(want == have, "the document's operations are exactly the route table",
              "routes.c (%d):\n%s\nopenapi.json (%d):\n%s\nmissing from the document:\n%s\nnot in routes.c:\n%s"
              % (len(want), fmt_ops(want), len(have), fmt_ops(have), fmt_ops(want - have), fmt_ops(have - want)))

        # 3. responses and security
        public_routes = {(m, p) for m, p, pub in routes if pub}
        no_2xx = sorted(k for k, op in ops.items()
                        if not any(re.fullmatch(r"2(\d\d|XX)", str(code)) for code in (op.get("responses") or {})))
        check(not no_2xx, "every operation documents a 2xx response", fmt_ops(no_2xx))
        no_401 = sorted(k for k, op in ops.items()
                        if k not in public_routes and "401" not in (op.get("responses") or {}))
        check(not no_401, "every operation that needs an API key documents 401", fmt_ops(no_401))
        doc_public = {k for k, op in ops.items() if is_public(doc, op)}
        both = want & have
        check(doc_public & both == public_routes & both,
              "public routes (PUB) are exactly the operations with security: []",
              "public in routes.c:\n%s\npublic in the document:\n%s"
              % (fmt_ops(public_routes & both), fmt_ops(doc_public & both)))
        schemes = (doc.get("components") or {}).get("securitySchemes") or {}
        api_key = [s for s in schemes.values()
                   if s.get("type") == "apiKey" and s.get("in") == "header" and s.get("name", "").lower() == "x-api-key"]
        check(bool(api_key), "an apiKey security scheme reads the x-api-key header", json.dumps(schemes, indent=1))

        # 4. the embedded copy is the source file
        src_doc_path = os.path.join(src, "src", "api", "openapi.json")
        try:
            with open(src_doc_path, encoding="utf-8") as f:
                src_doc = json.load(f)
            check(src_doc == doc, "the served document equals src/api/openapi.json",
                  "the binary embeds a different document: rebuild mira")
        except (OSError, ValueError) as e:
            check(False, "src/api/openapi.json is readable JSON", str(e))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # an unexpected crash is a failure, still with the summary line
        check(False, "unexpected exception", repr(e))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
