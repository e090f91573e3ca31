"""tests/integration/test_tensorboard_sigkill.py — a writer killed with
SIGKILL mid-write leaves files TensorBoard reads up to the last complete
record:

* three runs killed at random moments while writing 256x256 images and
  scalars every 10 ms: no record is corrupt, at most the tail is partial,
  and EventAccumulator returns every step 0..k-1 with its value;
* one file cut at many byte offsets (inside every kind of record): the
  Python loader returns exactly the complete records before the cut.
"""
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tb_common import HELPER, accumulator, cleanup, tmpdir  # noqa: E402
from tensorboard.compat.proto import event_pb2  # noqa: E402


def records(data):
    """(complete records as Event protos, bytes in complete records, tail kind)"""
    off, out = 0, []
    while True:
        if off == len(data):
            return out, off, "end"
        if len(data) - off < 12:
            return out, off, "truncated"
        (n,) = struct.unpack("<Q", data[off:off + 8])
        if len(data) - off < 16 + n:
            return out, off, "truncated"
        ev = event_pb2.Event()
        ev.ParseFromString(data[off + 12:off + 12 + n])  # raises if corrupt
        out.append(ev)
        off += 16 + n


def events_file(run_dir):
    names = [f for f in os.listdir(run_dir) if "tfevents" in f]
    assert len(names) == 1, names
    return os.path.join(run_dir, names[0])


class TestSigkill(unittest.TestCase):
    def kill_one(self, seed):
        root = tmpdir("tb-kill")
        env = dict(os.environ, LIGHTC_TB_FLUSH_SECS="0.01", TB_LOGGERS="tensorboard")
        p = subprocess.Popen([HELPER, "forever", root], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            self.assertEqual(line.strip(), "ready", p.stderr.read() if not line else line)
            time.sleep(random.Random(seed).uniform(0.05, 0.4))
        finally:
            p.send_signal(signal.SIGKILL)
            p.communicate()
        return root

    def test_killed_runs_read_to_last_record(self):
        for seed in range(3):
            root = self.kill_one(seed)
            try:
                d = os.path.join(root, "exp", "forever")
                with open(events_file(d), "rb") as f:
                    data = f.read()
                evs, _, tail = records(data)  # no CRC or parse error anywhere
                self.assertIn(tail, ("end", "truncated"))
                self.assertEqual(evs[0].file_version, "brain.Event:2")
                on_disk = sorted({e.step for e in evs for v in e.summary.value if v.tag == "x"})
                pts = accumulator(d).Scalars("x")
                steps = [p.step for p in pts]
                self.assertEqual(steps, list(range(len(steps))))  # no gap, no duplicate
                self.assertEqual(steps, on_disk)
                self.assertGreaterEqual(len(steps), 201)
                for p in pts:
                    self.assertEqual(p.value, p.step * 0.5)
            finally:
                cleanup(root)

    def test_cut_at_any_offset(self):
        root = self.kill_one(99)
        cut_root = tmpdir("tb-cut")
        try:
            src = events_file(os.path.join(root, "exp", "forever"))
            with open(src, "rb") as f:
                data = f.read()
            evs, complete, _ = records(data)
            # record boundaries, a few bytes around each of the first ones,
            # and random offsets (many inside image records)
            bounds, off = [], 0
            while off < complete:
                bounds.append(off)
                (n,) = struct.unpack("<Q", data[off:off + 8])
                off += 16 + n
            rnd = random.Random(7)
            cuts = set()
            for b in bounds[:40]:
                cuts.update({b, b + 1, b + 8, b + 11, b + 12, b + 13})
            cuts.update(rnd.randrange(0, complete) for _ in range(40))
            for cut in sorted(c for c in cuts if 0 < c <= complete):
                d = os.path.join(cut_root, "c%d" % cut)
                os.makedirs(d)
                with open(os.path.join(d, os.path.basename(src)), "wb") as f:
                    f.write(data[:cut])
                want, _, _ = records(data[:cut])
                want_steps = sorted({e.step for e in want for v in e.summary.value
                                     if v.tag == "x"})
                acc = accumulator(d)
                got = [p.step for p in acc.Scalars("x")] if "x" in acc.Tags()["scalars"] else []
                self.assertEqual(got, want_steps, "cut at %d" % cut)
                shutil.rmtree(d)
        finally:
            cleanup(root, cut_root)


if __name__ == "__main__":
    unittest.main(verbosity=2)
