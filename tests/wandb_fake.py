#!/usr/bin/env python3
"""tests/wandb_fake.py — a protocol-faithful fake Weights & Biases server
for lightc's tests (W&B has no runnable public server). Python standard
library only (and tests/child_server.py, the child-process handle it shares
with fault_proxy.py); threaded; listens on 127.0.0.1.

It behaves as the reference sheet (shared/reference/wandb.md) documents the
real API, and as the official `wandb sync` (wandb-core) needs it:

  POST /graphql          {operationName, query, variables}; dispatched on the
                         operation name (else the query text):
      Viewer             {viewer {id entity username email flags teams}}
      RunResumeStatus    model(name, entityName) { bucket(name, missingOk) {
                         id name displayName summaryMetrics config
                         historyLineCount ...} } (model null for a project
                         with no run, bucket null for a run that is absent)
      UpsertBucket       creates or updates the run by (entity, project, name);
                         a null entity is the viewer's; config and
                         summaryMetrics are JSON strings; replies bucket {id name
                         displayName project {name entity {name}}
                         historyLineCount} inserted
      CreateRunFiles     upload URLs on this server (PUT /_upload/...), no
                         credentials needed there (as signed URLs)
      anything else      {"data": {}} (logged, so a test can see it)
  POST /files/<entity>/<project>/<run>/file_stream
                         {"files": {name: {"offset": N, "content": [lines]}},
                          "uploaded": [...], "complete": bool, "exitcode": N}:
                         line offset+i is SET to content[i] (a repeated offset
                         replaces, never appends); "wandb-summary.json" is one
                         line at its offset; {} is a heartbeat. Replies
                         {"exitcode": null, "limits": {}}. NaN/Infinity are
                         accepted in lines, as W&B's extended JSON.
  PUT  /_upload/<entity>/<project>/<run>/<name>   stores the file
  POST /sdk/otel/v1/metrics   200 {}

Every request but /_upload, /sdk and /_fake must carry
"Authorization: Basic base64('api:' + KEY)" with the key given by --key:
else 401 {"errors": [{"message": ...}]}.

Control (never faulted, never needs auth)
  POST /_fake/faults   a JSON list of faults, appended: {"path": prefix of the
                       path, "op": GraphQL operation name, "status": 429,
                       "headers": {...}, "body": any, "times": n (default 1;
                       -1 forever), "apply": true (apply the request, then
                       answer with the fault: a lost answer)}
  POST /_fake/down     {"seconds": s}: every other request gets its
                       connection closed with no answer for s seconds (an
                       outage), then the server answers again with its state
  GET  /_fake/runs     {"<entity>/<project>/<run>": {"history": [line text or
                       null], "history_writes": n, "summary": text|null,
                       "config": obj, "complete": bool, "exitcode": n|null,
                       "files": {name: {"size", "sha256"}}, "uploaded": [..],
                       "upserts": n, "file_stream_posts": n, "heartbeats": n,
                       "display_name", "group", "job_type", "notes", "tags",
                       "host", "program", "commit"}}
  GET  /_fake/log      [{"method", "path", "op", "status", "t", "fault"}, ...]
  POST /_fake/reset    forget runs, log and faults

Run: python3 tests/wandb_fake.py --key KEY [--port 0] [--watch-stdin]
prints "PORT <n>" once listening. From Python: WandbFake (below).
"""
import base64
import hashlib
import json
import os
import re
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from child_server import ChildServer

LOCK = threading.Lock()
STATE = {"runs": {}, "log": [], "faults": [], "down_until": 0.0, "storage": 0}
KEY = None
PORT = 0
DEFAULT_ENTITY = "fake-user"


def new_run(entity, project, name):
    STATE["storage"] += 1
    return {"id": "UnVuOnYx%06d" % STATE["storage"], "entity": entity, "project": project,
            "name": name, "history": [], "history_writes": 0, "summary": None,
            "summary_lines": [], "events": [], "config": {}, "complete": False,
            "exitcode": None, "files": {}, "uploaded": [], "upserts": 0,
            "file_stream_posts": 0, "heartbeats": 0, "display_name": None, "group": None,
            "job_type": None, "notes": None, "tags": [], "host": None, "program": None,
            "commit": None}


def set_lines(store, offset, content):
    for i, line in enumerate(content):
        k = offset + i
        while len(store) <= k:
            store.append(None)
        store[k] = line


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    # ------------------------------------------------------------------
    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, obj=None, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(obj if obj is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)

    def _log(self, op, status, fault=False):
        with LOCK:
            STATE["log"].append({"method": self.command, "path": self.path, "op": op,
                                 "status": status, "t": time.time(), "fault": fault})

    def _authorized(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        except Exception:
            return False
        return user == "api" and pw == KEY

    def _fault(self, op):
        with LOCK:
            for f in STATE["faults"]:
                if f.get("times", 1) == 0:
                    continue
                if "path" in f and not self.path.startswith(f["path"]):
                    continue
                if "op" in f and f["op"] != op:
                    continue
                if f.get("times", 1) > 0:
                    f["times"] = f.get("times", 1) - 1
                f["used"] = f.get("used", 0) + 1
                return dict(f)
        return None

    # ------------------------------------------------------------------
    def do_GET(self):
        if self.path == "/_fake/runs":
            with LOCK:
                out = {}
                for k, r in STATE["runs"].items():
                    out[k] = {x: r[x] for x in r if x not in ("summary_lines", "events")}
                    out[k]["summary"] = r["summary_lines"][0] if r["summary_lines"] else None
                self._send(200, out)
        elif self.path == "/_fake/log":
            with LOCK:
                self._send(200, STATE["log"])
        elif self.path == "/_fake/faults":
            with LOCK:
                self._send(200, STATE["faults"])
        else:
            self._send(404, {"error": "not found"})

    def do_PUT(self):
        body = self._body()
        if self._down():
            return
        m = re.match(r"^/_upload/([^/]+)/([^/]+)/([^/]+)/(.+)$", self.path)
        if not m:
            self._send(404, {"error": "no such upload URL"})
            return
        f = self._fault("PUT")
        if f and not f.get("apply"):
            self._send(f["status"], f.get("body", {"error": "injected"}), f.get("headers"))
            self._log("PUT", f["status"], True)
            return
        key = "/".join(urllib.request.unquote(x) for x in m.group(1, 2, 3))
        name = urllib.request.unquote(m.group(4))
        with LOCK:
            r = STATE["runs"].get(key)
            if r is not None:
                r["files"][name] = {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        self._log("PUT", 200 if r is not None else 404)
        self._send(200 if r is not None else 404, {})

    def _down(self):
        with LOCK:
            down = time.time() < STATE["down_until"]
        if down:
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
        return down

    def do_POST(self):
        body = self._body()
        if self.path.startswith("/_fake/"):
            return self._control(body)
        if self._down():
            return
        if self.path.startswith("/sdk/"):
            self._log("otel", 200)
            self._send(200, {})
            return
        op = None
        doc = None
        if self.path == "/graphql":
            try:
                doc = json.loads(body)
            except ValueError:
                self._send(400, {"errors": [{"message": "body is not JSON"}]})
                return
            op = doc.get("operationName") or ""
            if not op:
                m = re.search(r"(query|mutation)\s+(\w+)", doc.get("query", ""))
                op = m.group(2) if m else ""
        elif "/file_stream" in self.path:
            op = "file_stream"
        if not self._authorized():
            self._log(op, 401)
            self._send(401, {"errors": [{"message": "user is not logged in"}]})
            return
        f = self._fault(op)
        if f and not f.get("apply"):
            self._log(op, f["status"], True)
            self._send(f["status"], f.get("body", {"errors": [{"message": "injected %d" % f["status"]}]}),
                       f.get("headers"))
            return
        if self.path == "/graphql":
            status, reply = self._graphql(op, doc)
        elif op == "file_stream":
            status, reply = self._file_stream(body)
        else:
            status, reply = 404, {"error": "not found"}
        if f:  # applied; the answer is the fault's (lost, or with its headers)
            self._log(op, f["status"], True)
            self._send(f["status"], f.get("body", {"errors": [{"message": "injected"}]}),
                       f.get("headers"))
            return
        self._log(op, status)
        self._send(status, reply)

    def _control(self, body):
        obj = json.loads(body or b"null")
        with LOCK:
            if self.path == "/_fake/faults":
                STATE["faults"].extend(obj if isinstance(obj, list) else [obj])
                self._send(200, {"queued": len(STATE["faults"])})
            elif self.path == "/_fake/down":
                STATE["down_until"] = time.time() + float(obj.get("seconds", 0))
                self._send(200, {})
            elif self.path == "/_fake/reset":
                STATE["runs"].clear()
                STATE["log"].clear()
                STATE["faults"].clear()
                STATE["down_until"] = 0.0
                self._send(200, {})
            else:
                self._send(404, {})

    # ------------------------------------------------------------------
    def _graphql(self, op, doc):
        v = doc.get("variables") or {}
        with LOCK:
            if op == "Viewer":
                return 200, {"data": {"viewer": {
                    "id": "VXNlcjox", "entity": DEFAULT_ENTITY, "username": DEFAULT_ENTITY,
                    "email": "fake@example.invalid", "admin": False, "flags": "{}",
                    "teams": {"edges": []}}}}
            if op == "RunResumeStatus":
                ent = v.get("entity") or DEFAULT_ENTITY
                key = "%s/%s/%s" % (ent, v.get("project"), v.get("name"))
                r = STATE["runs"].get(key)
                bucket = None
                if r is not None:
                    bucket = {"id": r["id"], "name": r["name"], "displayName": r["display_name"],
                              "summaryMetrics": r["summary_lines"][0] if r["summary_lines"] else "{}",
                              "config": json.dumps(r["config"]),
                              "historyLineCount": len(r["history"]), "logLineCount": 0,
                              "eventsLineCount": len(r["events"]), "historyTail": "[]",
                              "eventsTail": "[]", "tags": r["tags"], "notes": r["notes"]}
                if not any(r["entity"] == ent and r["project"] == v.get("project")
                           for r in STATE["runs"].values()):
                    return 200, {"data": {"model": None}}  # no such project (yet)
                return 200, {"data": {"model": {"id": "UHJvamVjdDox", "name": v.get("project"),
                                                "entity": {"id": "RW50aXR5OjE=", "name": ent},
                                                "bucket": bucket}}}
            if op == "UpsertBucket":
                ent = v.get("entity") or DEFAULT_ENTITY
                project = v.get("project") or "uncategorized"
                name = v.get("name")
                if not name:
                    if v.get("id"):
                        for r in STATE["runs"].values():
                            if r["id"] == v["id"]:
                                name, ent, project = r["name"], r["entity"], r["project"]
                    if not name:
                        return 200, {"errors": [{"message": "UpsertBucket without a run name"}]}
                key = "%s/%s/%s" % (ent, project, name)
                inserted = key not in STATE["runs"]
                if inserted:
                    STATE["runs"][key] = new_run(ent, project, name)
                r = STATE["runs"][key]
                r["upserts"] += 1
                if v.get("config") is not None:
                    cfg = json.loads(v["config"]) if isinstance(v["config"], str) else v["config"]
                    r["config"] = cfg
                if v.get("summaryMetrics"):
                    sm = v["summaryMetrics"]
                    r["summary_lines"] = [sm if isinstance(sm, str) else json.dumps(sm)]
                for src, dst in (("displayName", "display_name"), ("groupName", "group"),
                                 ("jobType", "job_type"), ("notes", "notes"), ("tags", "tags"),
                                 ("host", "host"), ("program", "program"), ("commit", "commit")):
                    if v.get(src) is not None:
                        r[dst] = v[src]
                return 200, {"data": {"upsertBucket": {"inserted": inserted, "bucket": {
                    "id": r["id"], "name": r["name"], "displayName": r["display_name"],
                    "description": None, "config": json.dumps(r["config"]), "sweepName": None,
                    "project": {"id": "UHJvamVjdDox", "name": project,
                                "entity": {"id": "RW50aXR5OjE=", "name": ent}},
                    "historyLineCount": len(r["history"])}}}}
            if op == "CreateRunFiles":
                ent = v.get("entity") or DEFAULT_ENTITY
                key = "%s/%s/%s" % (ent, v.get("project"), v.get("run"))
                r = STATE["runs"].get(key)
                if r is None:
                    return 200, {"errors": [{"message": "run %s not found" % key}]}
                q = urllib.request.quote
                files = [{"name": n, "uploadUrl": "http://127.0.0.1:%d/_upload/%s/%s/%s/%s" % (
                    PORT, q(ent, safe=""), q(v.get("project"), safe=""), q(v.get("run"), safe=""),
                    q(n, safe="/"))} for n in v.get("files") or []]
                return 200, {"data": {"createRunFiles": {"runID": r["id"], "uploadHeaders": [],
                                                         "files": files}}}
            return 200, {"data": {}}

    def _file_stream(self, body):
        m = re.match(r"^/files/([^/]+)/([^/]+)/([^/]+)/file_stream$", self.path)
        key = "/".join(urllib.request.unquote(x) for x in m.group(1, 2, 3)) if m else ""
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return 400, {"error": "body is not JSON"}
        with LOCK:
            r = STATE["runs"].get(key)
            if r is None:
                return 404, {"error": "run %s not found" % key}
            r["file_stream_posts"] += 1
            if doc == {}:
                r["heartbeats"] += 1
            for name, f in (doc.get("files") or {}).items():
                off, content = int(f.get("offset", 0)), list(f.get("content") or [])
                for line in content:  # each line must be (extended) JSON
                    json.loads(line)
                if name == "wandb-history.jsonl":
                    set_lines(r["history"], off, content)
                    r["history_writes"] += len(content)
                elif name == "wandb-summary.json":
                    set_lines(r["summary_lines"], off, content)
                elif name == "wandb-events.jsonl":
                    set_lines(r["events"], off, content)
            for n in doc.get("uploaded") or []:
                if n not in r["uploaded"]:
                    r["uploaded"].append(n)
            if doc.get("complete"):
                r["complete"] = True
                r["exitcode"] = doc.get("exitcode")
        return 200, {"exitcode": None, "limits": {}}


def main():
    global KEY, PORT
    args = sys.argv[1:]
    port = 0
    watch = False
    while args:
        a = args.pop(0)
        if a == "--key":
            KEY = args.pop(0)
        elif a == "--port":
            port = int(args.pop(0))
        elif a == "--watch-stdin":
            watch = True
        else:
            print("wandb_fake: unknown argument %s" % a, file=sys.stderr)
            return 2
    if not KEY:
        print("wandb_fake: --key KEY is required", file=sys.stderr)
        return 2
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    PORT = srv.server_address[1]
    print("PORT %d" % PORT, flush=True)
    if watch:
        def watcher():
            sys.stdin.read()
            os._exit(0)
        threading.Thread(target=watcher, daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


class WandbFake(ChildServer):
    """The fake as a child process of a test:

        with WandbFake(key) as fake:
            env["WANDB_BASE_URL"] = fake.url
            ... fake.runs(), fake.faults([...]), fake.down(20) ...
    """

    def __init__(self, key, python=None):
        super().__init__("wandb_fake", [python or sys.executable, "-u", os.path.abspath(__file__),
                                        "--key", key, "--watch-stdin"])

    def runs(self):
        return self._call("GET", "/_fake/runs")

    def log(self):
        return self._call("GET", "/_fake/log")

    def faults(self, faults):
        return self._call("POST", "/_fake/faults", faults)

    def fault_state(self):
        return self._call("GET", "/_fake/faults")

    def down(self, seconds):
        return self._call("POST", "/_fake/down", {"seconds": seconds})

    def reset(self):
        return self._call("POST", "/_fake/reset", {})

    def _ask_to_end(self):
        self.proc.stdin.close()  # --watch-stdin: end of file ends it

    def close(self):
        self._end()


if __name__ == "__main__":
    sys.exit(main())
