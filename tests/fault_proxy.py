#!/usr/bin/env python3
"""tests/fault_proxy.py — a fault-injecting HTTP server / reverse proxy for
the tests of lightc's HTTP layer and of the remote backends (MLflow, W&B).

Python standard library only (and tests/child_server.py, the child-process
handle it shares with wandb_fake.py). It listens on 127.0.0.1, answers each
request from a script of actions (429 with Retry-After, 500, 503, a dropped
connection, a slow answer, a request forwarded upstream whose response is
then lost, ...) and otherwise forwards to an upstream server (--upstream) or,
without one, echoes what it received. It records every request for
assertions.

Run
    python3 tests/fault_proxy.py [--port 0] [--upstream http://127.0.0.1:5000]
                                 [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
                                 [--watch-stdin]
    It prints one line "PORT <n>" on stdout when it listens (port 0 picks a
    free port), then nothing else on stdout; SIGTERM/SIGINT stop it, and
    with --watch-stdin so does end-of-file on stdin (give it a pipe: when
    the test process dies, however it dies, the proxy goes too).
    From Python: FaultProxyProcess (below) starts, scripts and stops one.

Control interface (paths starting with /__ are never scripted, forwarded or
logged; keep-alive works on them too)
    POST   /__fault__   body: a JSON list of actions, or {"actions": [...]};
                        appended to the script. Answers {"queued": n}.
    DELETE /__fault__   clears the script.
    GET    /__log__     {"connections": <accepted so far>,
                         "requests": [entry, ...]} (oldest first).
    POST   /__reset__   clears the script, the log and the connection count.
    GET    /__health__  200 "ok".

An action (all fields optional)
    match       {"method": "POST", "path": "/api/2.0/mlflow/runs/log-batch"}:
                the action is used by the next request whose method equals and
                whose path (without query) starts with these; requests that do
                not match pass it by. Without match: the next request.
    times       how many requests the action serves (default 1; -1: forever).
    delay       seconds to sleep before acting (a slow server).
    then the first that applies of
    drop        "close" (default when true) closes the connection with no
                response (the client sees an empty reply); "reset" closes it
                with a TCP RST. The request body is read first.
    lose_response  true: forward upstream (the request IS applied), then drop
                the connection without answering: the client sees a failure.
    status      answer with this status; "headers": {name: value}; "body": a
                string, or any other JSON value (sent as application/json);
                "body_size": n sends n bytes of "x"; "retry_after_date": s
                adds Retry-After as the HTTP-date s seconds from now.
    forward     true: forward upstream (the default with --upstream).
    echo        true: 200 {"method", "path", "length", "sha256", "crc32"} of
                what was received (the default without --upstream).

A log entry
    {"seq", "conn" (connection number, from 1), "method", "path" (as sent:
     absolute-form for proxy requests), "headers" {lower-case name: value},
     "header_list" [[name, value], ...], "length", "sha256", "crc32" (zlib),
     "body" (text when UTF-8 and <= 1 MiB, else null), "action" (what the
     proxy did: "echo", "forward", "status 503", "drop", "lose_response", ...),
     "upstream_status" (when forwarded), "t" (monotonic seconds)}
"""

import argparse
import email.utils
import hashlib
import http.client
import http.server
import json
import os
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import zlib

from child_server import ChildServer

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailers", "transfer-encoding", "upgrade", "expect", "host", "content-length",
}


class State:
    """The script, the log and the counters, shared by handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.script = []      # [{"action": {...}, "left": n}]
        self.log = []
        self.connections = 0

    def take(self, method, path):
        path_only = urllib.parse.urlsplit(path).path if "://" in path else path.split("?", 1)[0]
        with self.lock:
            for item in self.script:
                m = item["action"].get("match") or {}
                if "method" in m and m["method"].upper() != method:
                    continue
                if "path" in m and not path_only.startswith(m["path"]):
                    continue
                action = item["action"]
                if item["left"] > 0:
                    item["left"] -= 1
                    if item["left"] == 0:
                        self.script.remove(item)
                return action
        return None


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False   # stop at once even with slow handlers sleeping
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, upstream, tls):
        super().__init__(addr, handler)
        self.state = State()
        self.upstream = urllib.parse.urlsplit(upstream) if upstream else None
        self.tls = tls

    def handle_error(self, request, client_address):
        pass  # a client that hung up or failed TLS is what the tests do

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive
    server_version = "fault_proxy"
    timeout = 120

    def log_message(self, fmt, *args):  # quiet: stdout carries only the port
        pass

    def setup(self):
        if self.server.tls:
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.request.close()
                raise
        super().setup()
        with self.server.state.lock:
            self.server.state.connections += 1
            self.conn_id = self.server.state.connections

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError):
            pass

    # -- request body -----------------------------------------------------
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # -- answers ------------------------------------------------------------
    def send(self, status, body=b"", headers=None, content_type=None):
        self.send_response(status)
        sent = set()
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
            sent.add(k.lower())
        if content_type and "content-type" not in sent:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status, obj):
        self.send(status, json.dumps(obj).encode(), content_type="application/json")

    def drop(self, how="close"):
        self.close_connection = True
        try:
            if how == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def forward(self, body):
        up = self.server.upstream
        if up is None:
            raise RuntimeError("no --upstream to forward to")
        target = self.path
        if "://" in target:
            parts = urllib.parse.urlsplit(target)
            target = parts.path + ("?" + parts.query if parts.query else "")
        base = up.path.rstrip("/")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = up.netloc
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        cls = http.client.HTTPSConnection if up.scheme == "https" else http.client.HTTPConnection
        conn = cls(up.hostname, up.port, timeout=300)
        try:
            conn.request(self.command, base + target, body=body or None, headers=headers)
            r = conn.getresponse()
            data = r.read()
            out = [(k, v) for k, v in r.getheaders() if k.lower() not in HOP_BY_HOP]
            return r.status, out, data
        finally:
            conn.close()

    # -- control ------------------------------------------------------------
    def control(self, body):
        st = self.server.state
        path = self.path.split("?", 1)[0]
        if path == "/__health__":
            return self.send(200, b"ok", content_type="text/plain")
        if path == "/__log__" and self.command == "GET":
            with st.lock:
                snap = {"connections": st.connections, "requests": list(st.log)}
            return self.send_json(200, snap)
        if path == "/__reset__" and self.command == "POST":
            with st.lock:
                st.script.clear()
                st.log.clear()
                st.connections = 0
            return self.send_json(200, {"reset": True})
        if path == "/__fault__" and self.command == "DELETE":
            with st.lock:
                st.script.clear()
            return self.send_json(200, {"cleared": True})
        if path == "/__fault__" and self.command == "POST":
            try:
                spec = json.loads(body or b"[]")
            except ValueError as e:
                return self.send_json(400, {"error": "bad JSON: %s" % e})
            actions = spec.get("actions", []) if isinstance(spec, dict) else spec
            if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
                return self.send_json(400, {"error": "expected a list of action objects"})
            with st.lock:
                for a in actions:
                    st.script.append({"action": a, "left": int(a.get("times", 1))})
            return self.send_json(200, {"queued": len(actions)})
        return self.send_json(404, {"error": "unknown control path %s" % path})

    # -- every method ---------------------------------------------------------
    def serve(self):
        body = self.read_body()
        if self.path.startswith("/__"):
            return self.control(body)
        st = self.server.state
        entry = {
            "conn": self.conn_id,
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "header_list": [[k, v] for k, v in self.headers.items()],
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "crc32": zlib.crc32(body) & 0xFFFFFFFF,
            "body": None,
            "t": time.monotonic(),
        }
        if len(body) <= (1 << 20):
            try:
                entry["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                pass
        with st.lock:
            entry["seq"] = len(st.log)
            st.log.append(entry)
        action = st.take(self.command, self.path) or {}
        if action.get("delay"):
            time.sleep(float(action["delay"]))
        if action.get("drop"):
            entry["action"] = "drop"
            return self.drop("reset" if action["drop"] == "reset" else "close")
        if action.get("lose_response"):
            status, _, _ = self.forward(body)
            entry["action"] = "lose_response"
            entry["upstream_status"] = status
            return self.drop("close")
        if "status" in action:
            headers = dict(action.get("headers") or {})
            if "retry_after_date" in action:
                headers["Retry-After"] = email.utils.formatdate(
                    time.time() + float(action["retry_after_date"]), usegmt=True)
            b = action.get("body", "")
            ctype = None
            if "body_size" in action:
                b = b"x" * int(action["body_size"])
            elif isinstance(b, str):
                b = b.encode()
            else:
                b = json.dumps(b).encode()
                ctype = "application/json"
            entry["action"] = "status %d" % int(action["status"])
            return self.send(int(action["status"]), b, headers, ctype)
        if action.get("echo") or (self.server.upstream is None and not action.get("forward")):
            entry["action"] = "echo"
            return self.send_json(200, {
                "method": self.command, "path": self.path, "length": len(body),
                "sha256": entry["sha256"], "crc32": entry["crc32"]})
        status, headers, data = self.forward(body)
        entry["action"] = "forward"
        entry["upstream_status"] = status
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = serve


def make_tls(cert, key, client_ca):
    if not cert:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--upstream", default=None, help="http://host:port to forward to")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    ap.add_argument("--watch-stdin", action="store_true", help="exit when stdin reaches end-of-file")
    args = ap.parse_args(argv)
    srv = Server((args.host, args.port), Handler, args.upstream,
                 make_tls(args.tls_cert, args.tls_key, args.tls_client_ca))

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.watch_stdin:
        def watch():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    sys.stdout.write("PORT %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever(poll_interval=0.1)
    srv.server_close()
    sys.stdout.flush()
    os._exit(0)  # not a normal exit: handler and stdin threads may be blocked


class FaultProxyProcess(ChildServer):
    """Start the proxy as a child process from a Python test.

        with FaultProxyProcess(upstream="http://127.0.0.1:5000") as fp:
            fp.faults([{"status": 503, "times": 2}, {"lose_response": True}])
            ... point the client at fp.url ...
            log = fp.log()["requests"]
    """

    def __init__(self, upstream=None, python=None, extra_args=()):
        cmd = [python or sys.executable, "-u", os.path.abspath(__file__)]
        if upstream:
            cmd += ["--upstream", upstream]
        cmd += ["--watch-stdin"] + list(extra_args)
        super().__init__("fault_proxy", cmd)

    def faults(self, actions):
        return self._call("POST", "/__fault__", actions)

    def clear(self):
        return self._call("DELETE", "/__fault__")

    def log(self):
        return self._call("GET", "/__log__")

    def reset(self):
        return self._call("POST", "/__reset__", {})

    def stop(self):
        self._end()


if __name__ == "__main__":
    sys.exit(main())
