"""tests/integration/test_tensorboard_many.py — a logdir of 1,000 lightc runs
loads in TensorBoard: both loaders list every run, and the HPARAMS dashboard
(session groups) has all 1,000 sessions with their hparams, final metric
and status.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tb_common import Server, all_statuses, cleanup, run_helper, tmpdir  # noqa: E402

N = 1000


class TestThousandRuns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tmpdir("tb-many")
        run_helper("many", cls.root, N)

    @classmethod
    def tearDownClass(cls):
        cleanup(cls.root)

    def check_loader(self, load_fast):
        want = {"exp/r%04d" % i for i in range(N)}
        with Server(self.root, load_fast) as srv:
            runs = srv.wait_runs(want, timeout=300)
            self.assertEqual(len(runs), N)
            req = {"experimentName": "", "allowedStatuses": all_statuses(),
                   "startIndex": 0, "sliceSize": 2 * N}
            # the Python loader lists runs before it has read them all
            deadline = time.time() + 300
            while True:
                res = srv.post_json("/data/plugin/hparams/session_groups", req)
                if res["totalSize"] == N or time.time() > deadline:
                    break
                time.sleep(1)
            self.assertEqual(res["totalSize"], N)
            for g in res["sessionGroups"]:
                i = int(g["name"][len("exp/r"):])
                self.assertEqual(g["hparams"], {"i": float(i),
                                                "parity": "odd" if i % 2 else "even"})
                self.assertEqual(g["sessions"][0]["status"], "STATUS_SUCCESS")
                final = {m["name"]["tag"]: (m["trainingStep"], m["value"])
                         for m in g["metricValues"]}
                self.assertEqual(final, {"loss": (4, i + 1.0)})

    def test_rust_loader(self):
        self.check_loader("true")

    def test_python_loader(self):
        self.check_loader("false")


if __name__ == "__main__":
    unittest.main(verbosity=2)
