"""tests/integration/test_tensorboard_server.py — lightc's runs served by a
real `tensorboard --logdir` on 127.0.0.1, once with the Rust data server
(--load_fast=true, the default loader) and once with the Python loader
(--load_fast=false), through the HTTP API the dashboards use:

runs (each <experiment>/<name>), scalars (every step and value at float32),
histograms (edges and counts), text, images (PNG bytes decoded back to the
logged pixels), and the HParams plugin: the derived experiment (every hparam
with its type, every metric) and the session groups (hparams, final
metrics, status) of every run, resume purge included.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tb_common import (F32, RUNS, SCALAR_TAGS, STEPS, Server, all_statuses,  # noqa: E402
                       cleanup, hist_reference, hist_values, hparams_expected,
                       image_expected, png_decode, run_helper, scalar_expected, tmpdir)

ALL_RUNS = {"exp/a", "exp/b", "exp/c", "exp/res"}


class ServerChecks:
    load_fast = None

    @classmethod
    def setUpClass(cls):
        cls.root = tmpdir("tb-server-" + cls.load_fast)
        run_helper("all", cls.root)
        run_helper("resume1", cls.root)
        run_helper("resume2", cls.root)
        cls.srv = Server(cls.root, cls.load_fast)
        cls.srv.wait_runs(ALL_RUNS)

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()
        cleanup(cls.root)

    def wait_tag(self, path, run, tag, timeout=60):
        # Tags appear a reload cycle after the run; poll a little.
        import time
        deadline = time.time() + timeout
        while True:
            tags = self.srv.get(path)
            if tag in tags.get(run, {}):
                return
            if time.time() > deadline:
                self.fail("%s: no tag %s for run %s: %s" % (path, tag, run, tags.get(run)))
            time.sleep(0.5)

    def test_runs(self):
        runs = self.srv.get("/data/runs")
        self.assertEqual(set(runs), ALL_RUNS)

    def test_scalars(self):
        for n, (r, _) in RUNS.items():
            run = "exp/" + n
            self.wait_tag("/data/plugin/scalars/tags", run, "train/loss")
            for tag in SCALAR_TAGS:
                pts = self.srv.get("/data/plugin/scalars/scalars", {"run": run, "tag": tag})
                self.assertEqual([p[1] for p in pts], list(range(STEPS)), (run, tag))
                for wall, step, value in pts:
                    self.assertEqual(F32(value), F32(scalar_expected(tag, r, step)),
                                     (run, tag, step))
                    self.assertGreater(wall, 1.5e9)

    def test_resume_purge(self):
        self.wait_tag("/data/plugin/scalars/tags", "exp/res", "loss")
        pts = self.srv.get("/data/plugin/scalars/scalars", {"run": "exp/res", "tag": "loss"})
        self.assertEqual([(p[1], p[2]) for p in pts],
                         [(s, float(s)) for s in range(5)] + [(s, 100.0 + s) for s in range(5, 10)])

    def test_histograms(self):
        for n, (r, _) in RUNS.items():
            run = "exp/" + n
            self.wait_tag("/data/plugin/histograms/tags", run, "weights/layer1")
            for tag in ("weights/layer1", "grads/layer1"):
                data = self.srv.get("/data/plugin/histograms/histograms", {"run": run, "tag": tag})
                self.assertEqual([d[1] for d in data], [0, 25])
                for _, step, buckets in data:
                    mn, mx, num, _, _, counts = hist_reference(hist_values(tag, r, step))
                    # The Python loader serves edges as float32, the Rust one
                    # as float64: compare at float32.
                    self.assertEqual(sum(b[2] for b in buckets), num)
                    self.assertEqual(F32(buckets[0][0]), F32(mn))
                    self.assertEqual(F32(buckets[-1][1]), F32(mx))
                    # the non-empty buckets' right edges are the ladder limits
                    # (the last is replaced by max, TensorBoard's rule)
                    got = {F32(b[1]): b[2] for b in buckets[:-1] if b[2]}
                    want = {F32(k): v for k, v in sorted(counts.items())[:-1]}
                    self.assertEqual(got, want)

    def test_text(self):
        self.wait_tag("/data/plugin/text/tags", "exp/a", "notes")
        for n in RUNS:
            data = self.srv.get("/data/plugin/text/text", {"run": "exp/" + n, "tag": "notes"})
            self.assertEqual([d["step"] for d in data], [0, 10, 20, 30, 40])
            for d in data:
                self.assertIn("<strong>step %d</strong> of run %s" % (d["step"], n), d["text"])

    def test_images(self):
        self.wait_tag("/data/plugin/images/tags", "exp/a", "samples/rgb")
        for n in RUNS:
            for tag, (w, h, c) in {"samples/gray": (28, 28, 1), "samples/rgb": (16, 8, 3),
                                   "samples/rgba": (8, 8, 4)}.items():
                data = self.srv.get("/data/plugin/images/images", {"run": "exp/" + n, "tag": tag})
                self.assertEqual([d["step"] for d in data], [0, 10, 20, 30, 40])
                for d in data:
                    png = self.srv.get("/data/plugin/images/individualImage?" + d["query"],
                                       raw=True)
                    self.assertEqual(png_decode(png), (w, h, c, image_expected(w, h, c, d["step"])))

    def test_hparams_experiment(self):
        exp = self.srv.post_json("/data/plugin/hparams/experiment", {"experimentName": ""})
        infos = {i["name"]: i["type"] for i in exp["hparamInfos"]}
        self.assertEqual(infos, {
            "lr": "DATA_TYPE_FLOAT64", "batch_size": "DATA_TYPE_FLOAT64",
            "optimizer": "DATA_TYPE_STRING", "augment": "DATA_TYPE_BOOL",
            "seed": "DATA_TYPE_STRING", "weird": "DATA_TYPE_STRING",
            "model/layers": "DATA_TYPE_FLOAT64", "model/act": "DATA_TYPE_STRING",
            "epochs": "DATA_TYPE_FLOAT64"})
        metrics = {m["name"]["tag"] for m in exp["metricInfos"]}
        self.assertTrue(set(SCALAR_TAGS) <= metrics, metrics)

    def test_hparams_session_groups(self):
        req = {"experimentName": "", "allowedStatuses": all_statuses(),
               "startIndex": 0, "sliceSize": 100}
        res = self.srv.post_json("/data/plugin/hparams/session_groups", req)
        self.assertEqual(res["totalSize"], 4)
        groups = {g["name"]: g for g in res["sessionGroups"]}
        self.assertEqual(set(groups), ALL_RUNS)
        for n, (r, status) in RUNS.items():
            g = groups["exp/" + n]
            self.assertEqual(g["hparams"], hparams_expected(r))
            self.assertEqual(g["sessions"][0]["status"], status)
            final = {m["name"]["tag"]: (m["trainingStep"], m["value"]) for m in g["metricValues"]}
            for tag in SCALAR_TAGS:
                self.assertEqual(final[tag][0], STEPS - 1)
                self.assertEqual(F32(final[tag][1]), F32(scalar_expected(tag, r, STEPS - 1)))
        res_group = groups["exp/res"]
        self.assertEqual(res_group["hparams"], {"lr": 0.05, "epochs": 10.0})
        self.assertEqual(res_group["sessions"][0]["status"], "STATUS_SUCCESS")
        # filtering by status works on lightc's statuses
        req["allowedStatuses"] = ["STATUS_FAILURE"]
        res = self.srv.post_json("/data/plugin/hparams/session_groups", req)
        self.assertEqual({g["name"] for g in res["sessionGroups"]}, {"exp/b", "exp/c"})


class TestRustLoader(ServerChecks, unittest.TestCase):
    load_fast = "true"


class TestPythonLoader(ServerChecks, unittest.TestCase):
    load_fast = "false"


if __name__ == "__main__":
    unittest.main(verbosity=2)
