"""tests/integration/test_tensorboard_accumulator.py — lightc's tfevents
files read back with TensorBoard's own EventAccumulator (the Python loader,
keeping every sample):

* every scalar tag, step and value of three runs, exactly at float32;
* histograms against a binary-search reference on the default ladder, and
  TensorBoard's own histogram migration (edges, counts);
* text, images (PNG decoded back to the logged pixels), hparams of every
  type and the session status of finished / failed / killed runs;
* bad input through the public API: clear errors, nothing corrupt;
* resume: SessionLog START drops the points the resumed run writes again,
  one session start / end per run, params inherited;
* the same run written with the default sink set (sqlite, tensorboard, csv).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tb_common import (F32, RUNS, SCALAR_TAGS, STEPS, accumulator, cleanup,  # noqa: E402
                       events_of_dir, hist_reference, hist_values, hp_metadata,
                       hparams_expected, image_expected, png_decode, run_helper,
                       scalar_expected, tensor_util, text_expected, tmpdir)
from tensorboard.backend.event_processing import plugin_event_accumulator as pea  # noqa: E402
from tensorboard.plugins.hparams import api_pb2  # noqa: E402


def hp_value(v):
    kind = v.WhichOneof("kind")
    return getattr(v, kind)


class TestAccumulator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tmpdir("tb-acc")
        cls.out = run_helper("all", cls.root, env={"TB_LOGGERS": "tensorboard"})
        cls.acc = {n: accumulator(os.path.join(cls.root, "exp", n)) for n in RUNS}

    @classmethod
    def tearDownClass(cls):
        cleanup(cls.root)

    def test_layout_and_first_record(self):
        runs = sorted(os.listdir(os.path.join(self.root, "exp")))
        self.assertEqual(runs, ["a", "b", "c"])
        for n in RUNS:
            files = [f for f in os.listdir(os.path.join(self.root, "exp", n)) if "tfevents" in f]
            self.assertEqual(len(files), 1, files)
            self.assertRegex(files[0], r"^events\.out\.tfevents\.\d{10}\.[^.]+(\.[^.]+)*\.\d+\.\d+$")
            evs = events_of_dir(os.path.join(self.root, "exp", n))
            self.assertEqual(evs[0].file_version, "brain.Event:2")
            self.assertEqual(self.acc[n].file_version, 2.0)

    def test_scalars_exact(self):
        for n, (r, _) in RUNS.items():
            tags = self.acc[n].Tags()["scalars"]
            for tag in SCALAR_TAGS:
                self.assertIn(tag, tags)
                pts = self.acc[n].Scalars(tag)
                self.assertEqual([p.step for p in pts], list(range(STEPS)), (n, tag))
                for p in pts:
                    want = F32(scalar_expected(tag, r, p.step))
                    self.assertEqual(F32(p.value), want, (n, tag, p.step))

    def test_histograms_exact(self):
        for n, (r, _) in RUNS.items():
            for tag in ("weights/layer1", "grads/layer1"):
                hs = self.acc[n].Histograms(tag)
                self.assertEqual([h.step for h in hs], [0, 25])
                for h in hs:
                    hv = h.histogram_value
                    mn, mx, num, total, sq, counts = hist_reference(hist_values(tag, r, h.step))
                    self.assertEqual((hv.min, hv.max, hv.num), (mn, mx, num))
                    self.assertEqual(hv.sum, total)
                    self.assertEqual(hv.sum_squares, sq)
                    got = {lim: c for lim, c in zip(hv.bucket_limit, hv.bucket) if c}
                    self.assertEqual(got, counts)
                    # runs of empty buckets are collapsed to one, so every
                    # bucket keeps its true left edge
                    self.assertEqual(sum(hv.bucket), 1000)

    def test_histogram_migration_by_tensorboard(self):
        pacc = pea.EventAccumulator(os.path.join(self.root, "exp", "a"),
                                    size_guidance={"tensors": 0}).Reload()
        for ev in pacc.Tensors("weights/layer1"):
            arr = tensor_util.make_ndarray(ev.tensor_proto)  # [k, 3]: left, right, count
            self.assertEqual(arr.shape[1], 3)
            self.assertEqual(arr[:, 2].sum(), 1000)
            vals = hist_values("weights/layer1", 0, ev.step)
            self.assertEqual(arr[0, 0], min(vals))
            self.assertEqual(arr[-1, 1], max(vals))
            self.assertTrue((arr[1:, 0] == arr[:-1, 1]).all())  # contiguous edges

    def test_text(self):
        for n in RUNS:
            evs = self.acc[n].Tensors("notes")
            self.assertEqual([e.step for e in evs], [0, 10, 20, 30, 40])
            for e in evs:
                arr = tensor_util.make_ndarray(e.tensor_proto)
                self.assertEqual(arr.shape, ())
                self.assertEqual(arr.item().decode(), text_expected(e.step, n))
            md = self.acc[n].SummaryMetadata("notes")
            self.assertEqual(md.plugin_data.plugin_name, "text")

    def test_images(self):
        for n in RUNS:
            for tag, (w, h, c) in {"samples/gray": (28, 28, 1), "samples/rgb": (16, 8, 3),
                                   "samples/rgba": (8, 8, 4)}.items():
                imgs = self.acc[n].Images(tag)
                self.assertEqual([i.step for i in imgs], [0, 10, 20, 30, 40])
                for im in imgs:
                    self.assertEqual((im.width, im.height), (w, h))
                    dw, dh, dc, px = png_decode(im.encoded_image_string)
                    self.assertEqual((dw, dh, dc), (w, h, c))
                    self.assertEqual(px, image_expected(w, h, c, im.step))

    def test_hparams_and_status(self):
        for n, (r, status) in RUNS.items():
            content = self.acc[n].PluginTagToContent("hparams")
            self.assertEqual(set(content), {"_hparams_/session_start_info",
                                            "_hparams_/session_end_info"})  # no experiment
            ssi = hp_metadata.parse_session_start_info_plugin_data(
                content["_hparams_/session_start_info"])
            got = {k: hp_value(v) for k, v in ssi.hparams.items()}
            self.assertEqual(got, hparams_expected(r))
            sei = hp_metadata.parse_session_end_info_plugin_data(
                content["_hparams_/session_end_info"])
            self.assertEqual(api_pb2.Status.Name(sei.status), status)

    def test_bad_input(self):
        lines = dict(l.split(" ", 1)[1].split() for l in self.out.splitlines()
                     if l.startswith("bad "))
        for what in ("image_zero", "image_huge", "image_channels", "key_empty"):
            self.assertEqual(lines[what], "LC_ERR_INVALID", what)
        acc = self.acc["a"]
        # empty / all-NaN histograms never reach the file as broken records
        for h in acc.Histograms("bad/h") if "bad/h" in acc.Tags()["histograms"] else []:
            self.assertGreater(h.histogram_value.num, 0)
        self.assertNotIn("bad/img", acc.Tags()["images"])
        # steps going backwards are written as logged (the Python loader keeps
        # both points; RustBoard keeps the later one: see docs/tensorboard.md)
        self.assertEqual([(p.step, p.value) for p in acc.Scalars("bad/backwards")],
                         [(10, 1.0), (5, 2.0)])
        # a key TensorBoard would mangle arrives normalised, once
        self.assertIn("odd key/____", acc.Tags()["scalars"])


class TestResume(unittest.TestCase):
    def test_resume_purges_and_keeps_one_session(self):
        root = tmpdir("tb-resume")
        try:
            run_helper("resume1", root)
            run_helper("resume2", root)
            d = os.path.join(root, "exp", "res")
            self.assertEqual(len([f for f in os.listdir(d) if "tfevents" in f]), 2)
            acc = accumulator(d)
            pts = [(p.step, p.value) for p in acc.Scalars("loss")]
            self.assertEqual(pts, [(s, float(s)) for s in range(5)] +
                             [(s, 100.0 + s) for s in range(5, 10)])
            evs = events_of_dir(d)
            starts = [e for e in evs if e.HasField("session_log")]
            self.assertEqual([(e.step, e.session_log.status) for e in starts], [(5, 1), (5, 1)])
            tags = [v.tag for e in evs if e.HasField("summary") for v in e.summary.value]
            self.assertEqual(tags.count("_hparams_/session_start_info"), 1)
            self.assertEqual(tags.count("_hparams_/session_end_info"), 1)
            content = acc.PluginTagToContent("hparams")
            ssi = hp_metadata.parse_session_start_info_plugin_data(
                content["_hparams_/session_start_info"])
            self.assertEqual({k: hp_value(v) for k, v in ssi.hparams.items()},
                             {"lr": 0.05, "epochs": 10.0})
            sei = hp_metadata.parse_session_end_info_plugin_data(
                content["_hparams_/session_end_info"])
            self.assertEqual(api_pb2.Status.Name(sei.status), "STATUS_SUCCESS")
        finally:
            cleanup(root)


class TestDefaultSinks(unittest.TestCase):
    def test_with_sqlite_and_csv(self):
        root = tmpdir("tb-multi")
        try:
            run_helper("all", root, env={"TB_LOGGERS": "sqlite,tensorboard,csv"})
            acc = accumulator(os.path.join(root, "exp", "b"))
            for tag in SCALAR_TAGS:
                pts = acc.Scalars(tag)
                self.assertEqual(len(pts), STEPS)
                for p in pts:
                    self.assertEqual(F32(p.value), F32(scalar_expected(tag, 1, p.step)))
            self.assertTrue(os.path.exists(os.path.join(root, "index.db")))
        finally:
            cleanup(root)


if __name__ == "__main__":
    unittest.main(verbosity=2)
