"""tests/integration/tb_common.py — shared pieces of the TensorBoard
integration tests (test_tensorboard_*.py): locating the build and the
helper program, the value formulas tests/helpers/tb_writer.c logs (repeated
here exactly), a reference for the default histogram ladder, a tiny PNG
decoder, and a `tensorboard --logdir` server on 127.0.0.1 for the HTTP API.

Exit code 77 (ctest: skipped) when the venv lacks tensorboard or the helper
was not built.
"""
import bisect
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

SKIP = 77

BUILD = os.environ.get("LC_BUILD_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
HELPER = os.path.join(BUILD, "tests", "helpers", "tb_writer")
VENV_BIN = os.path.dirname(sys.executable)

try:
    import numpy as np
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.backend.event_processing import event_file_loader
    from tensorboard.plugins.hparams import metadata as hp_metadata
    from tensorboard.util import tensor_util
except ImportError as e:  # pragma: no cover - depends on the venv
    print("skip: tensorboard not importable here (%s); run scripts/setup --python" % e)
    sys.exit(SKIP)

if not os.access(HELPER, os.X_OK):
    print("skip: helper %s not built" % HELPER)
    sys.exit(SKIP)

F32 = np.float32
STEPS = 50
HIST_N = 1000
RUNS = {"a": (0, "STATUS_SUCCESS"), "b": (1, "STATUS_FAILURE"), "c": (2, "STATUS_FAILURE")}
SCALAR_TAGS = ["train/loss", "val/acc", "lr-Adam", "precision/loss_scale", "perf/samples_per_sec"]


# ---- formulas: keep identical to tests/helpers/tb_writer.c ---------------

def f_loss(r, s): return 1.0 / (s + 1) + 0.01 * r
def f_acc(r, s): return s / 50.0 * (0.9 - 0.1 * r)
def f_lr(r, s): return 0.1 / (1 + s) + r * 0.001
def f_scale(s): return 65536.0 / float(1 << (s // 20))
def f_speed(r, s): return 1000 + s * 1.5 + r
def f_weight(r, s, i): return (i % 97 - 48) * 0.01 * (r + 1) + s * 0.001
def f_grad(r, s, i): return (i % 13 - 6) * 1e-5 * (s + 1) - r * 1e-6
def f_pixel(x, y, c, s): return (x * 7 + y * 13 + c * 50 + s) & 255


def scalar_expected(tag, r, s):
    return {"train/loss": f_loss(r, s), "val/acc": f_acc(r, s), "lr-Adam": f_lr(r, s),
            "precision/loss_scale": f_scale(s), "perf/samples_per_sec": f_speed(r, s)}[tag]


def hparams_expected(r):
    return {"lr": 0.1 * (r + 1), "batch_size": float(32 << r),
            "optimizer": "sgd" if r == 1 else "adam", "augment": r != 2,
            "seed": str(9007199254740993 + r), "weird": "nan",
            "model/layers": 3.0, "model/act": "relu"}


def text_expected(s, name):
    return "**step %d** of run %s" % (s, name)


def image_expected(w, h, c, s):
    return bytes(f_pixel(x, y, k, s) for y in range(h) for x in range(w) for k in range(c))


def hist_values(kind, r, s):
    if kind == "weights/layer1":
        return [float(F32(f_weight(r, s, i))) for i in range(HIST_N)]
    return [f_grad(r, s, i) for i in range(HIST_N)]


# ---- the default ladder, by the definition (not lightc's code) ------------

def _ladder():
    v, pos = 1e-12, []
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return [-x for x in reversed(pos)] + [0.0] + pos + [sys.float_info.max]


LIMITS = _ladder()


def hist_reference(values):
    """(min, max, num, sum, sum_squares, {right limit: count}) by binary search:
    v goes in the first bucket whose limit is > v."""
    counts = {}
    total = sq = 0.0
    for v in values:
        i = min(bisect.bisect_right(LIMITS, v), len(LIMITS) - 1)
        counts[LIMITS[i]] = counts.get(LIMITS[i], 0) + 1
        total += v
        sq += v * v
    return min(values), max(values), float(len(values)), total, sq, counts


# ---- PNG ------------------------------------------------------------------

def png_decode(data):
    """8-bit, non-interlaced PNG -> (width, height, channels, raw bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and interlace == 0
    ch = {0: 1, 4: 2, 2: 3, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = w * ch
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        out += line
        prev = line
    return w, h, ch, bytes(out)


# ---- running things -------------------------------------------------------

def tmpdir(label):
    base = os.environ.get("LC_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=label + "-", dir=base)


def run_helper(*args, env=None, timeout=600):
    e = dict(os.environ)
    e.pop("LIGHTC_LOGGERS", None)
    if env:
        e.update(env)
    p = subprocess.run([HELPER] + [str(a) for a in args], env=e, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("tb_writer %s failed (%d):\n%s\n%s" % (args, p.returncode, p.stdout,
                                                                    p.stderr))
    return p.stdout


def accumulator(path):
    return ea.EventAccumulator(path, size_guidance=ea.STORE_EVERYTHING_SIZE_GUIDANCE).Reload()


def events_of_dir(path):
    """Every Event of every events file of one run directory, in name order."""
    out = []
    for name in sorted(os.listdir(path)):
        if "tfevents" in name:
            out.extend(event_file_loader.EventFileLoader(os.path.join(path, name)).Load())
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """`tensorboard --logdir LOGDIR` on 127.0.0.1; load_fast 'true' is the
    Rust data server, 'false' the Python loader."""

    def __init__(self, logdir, load_fast, extra=()):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.logdir = tmpdir("tb-server-log")
        self.log = open(os.path.join(self.logdir, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [os.path.join(VENV_BIN, "tensorboard"), "--logdir", logdir, "--port", str(self.port),
             "--host", "127.0.0.1", "--load_fast=" + load_fast, "--reload_interval", "1"]
            + list(extra),
            stdout=self.log, stderr=subprocess.STDOUT)

    def get(self, path, params=None, raw=False):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=60) as r:
            body = r.read()
        return body if raw else json.loads(body)

    def post_json(self, path, obj):
        req = urllib.request.Request(self.base + path, data=json.dumps(obj).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())

    def wait_runs(self, want, timeout=120):
        """Wait until /data/runs lists every run in want (a set)."""
        deadline = time.time() + timeout
        runs = []
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                runs = self.get("/data/runs")
                if want <= set(runs):
                    return runs
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
                pass
            time.sleep(0.5)
        self.log.seek(0)
        raise AssertionError("tensorboard did not list %d runs in %ds (got %d):\n%s" % (
            len(want), timeout, len(runs), self.log.read()[-3000:]))

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.logdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def all_statuses():
    return ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def cleanup(*dirs):
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
