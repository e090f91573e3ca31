"""tests/child_server.py — the part the test servers' Python handles share
(FaultProxyProcess in tests/fault_proxy.py, WandbFake in tests/wandb_fake.py):
start the server script as a child process, wait for its "PORT <n>" line,
make JSON calls to its control paths over loopback (never through a
proxy), and end it (asked first, killed after 10 s). Standard library only.
"""
import json
import subprocess
import urllib.request


class ChildServer:
    """A server script run as `cmd` (it prints "PORT <n>" once listening);
    name is what a failed start says. Subclasses say how to ask it to end
    (_ask_to_end) and name the public stop method."""

    def __init__(self, name, cmd):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError("%s did not start: %r" % (name, line))
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def _call(self, method, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def _ask_to_end(self):
        self.proc.terminate()

    def _end(self):
        if self.proc.poll() is None:
            self._ask_to_end()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._end()
