"""tests/integration/wandb_common.py — shared pieces of the W&B tests
(test_wandb_e2e.py, test_wandb_offline.py): the fake server
(tests/wandb_fake.py), the C-API driver (bench/bench_wandb.c, built as
tests/helpers/wandb_log), and comparing what the fake holds with the run
index: every history line, config entry, summary value and the exit code,
exactly once. What the MLflow tests share too (checks, running lightc, the
index's runs and deliveries) is remote_common.py, re-exported here.
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
from wandb_fake import WandbFake  # noqa: E402,F401
import remote_common as rc  # noqa: E402
from remote_common import (BUILD, DATA, LIGHTC, SKIP, check, db, finish,  # noqa: E402,F401
                           lightc, outputs, run, run_uuid)

DRIVER = os.path.join(BUILD, "tests", "helpers", "wandb_log")  # bench/bench_wandb.c
KEY = "lightcFakeKey0123456789abcdefghijklmnopqrstuv"  # 40+ chars, [A-Za-z0-9]


def base_env(**extra):
    """A child's environment: none of the caller's WANDB_*, LIGHTC_*, NETRC;
    HOME elsewhere (no ~/.netrc); a quick file_stream cadence; then extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WANDB_", "LIGHTC_", "MLFLOW_")) and k != "NETRC"}
    env["HOME"] = extra.pop("HOME", "/nonexistent")
    env["LIGHTC_WANDB_STREAM_SECS"] = "0.3"
    env["no_proxy"] = "127.0.0.1,localhost"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def driver(root, env, steps, name, extra=(), timeout=300):
    """bench_wandb: S steps of 4 metrics; (exit code, result dict, stderr)."""
    return rc.run_driver(DRIVER, root, env, "--steps", steps, name, extra, timeout)


def driver_bg(root, env, steps, name, extra=()):
    """bench_wandb in the background (a Popen, output piped)."""
    return rc.start_driver(DRIVER, root, env, "--steps", steps, name, extra)


def delivery(root, uuid, backend="wandb"):
    return rc.delivery(root, uuid, backend)


def index_records(root, uuid):
    """The run's metric points grouped as logged together (one W&B line
    each), in log order: [[(key, step, value), ...], ...]."""
    with db(root) as c:
        rows = c.execute(
            "SELECT p.rec, k.key, p.step, p.value, p.is_nan FROM metric_point p"
            " JOIN metric_key k ON k.id = p.key_id JOIN run_info r ON r.id = p.run_id"
            " WHERE r.run_uuid = ? ORDER BY p.id", (uuid,)).fetchall()
    recs, last = [], None
    for rec, key, step, value, is_nan in rows:
        if rec != last:
            recs.append([])
            last = rec
        recs[-1].append((key, step, float("nan") if is_nan or value is None else value))
    return recs


def index_params(root, uuid):
    with db(root) as c:
        return dict(c.execute("SELECT key, value FROM params WHERE run_id = ?", (uuid,)).fetchall())


def same(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def param_value(text):
    """The config value W&B gets for a param's index text (wandb_text.c)."""
    if text == "true":
        return True
    if text == "false":
        return False
    if text == "None":
        return None
    try:
        v = float(text)
        if math.isfinite(v) and text.strip() == text and text:
            return int(v) if v == int(v) and abs(v) < 2 ** 53 else v
    except ValueError:
        pass
    return text


def config_get(config, key):
    parts = key.split("/")
    node = config.get(parts[0], {}).get("value") if isinstance(config.get(parts[0]), dict) else None
    if len(parts) == 1:
        return node
    for p in parts[1:]:
        if not isinstance(node, dict) or p not in node:
            return "<missing>"
        node = node[p]
    return node


def compare_lines(label, recs, history, first_line=0):
    """history[first_line:] holds one line per rec, in order, each exactly
    the rec's keys with trainer/global_step = its step and _step = its
    offset; no gaps."""
    lines = history[first_line:]
    check(label + ": no missing line (offsets dense)", all(x is not None for x in history),
          [i for i, x in enumerate(history) if x is None][:20])
    if not check(label + ": one line per record (%d in the index)" % len(recs),
                 len(lines) == len(recs), (len(lines), len(recs))):
        return
    bad = []
    for i, (rec, line) in enumerate(zip(recs, lines)):
        d = json.loads(line)
        want = {k: v for k, _, v in rec}
        got = {k: v for k, v in d.items() if not k.startswith("_") and k != "trainer/global_step"}
        if set(got) != set(want) or not all(same(want[k], got[k]) for k in want) or \
                d.get("trainer/global_step") != rec[-1][1] or d.get("_step") != first_line + i \
                or "_runtime" not in d or "_timestamp" not in d:
            bad.append((i, rec, line))
    check(label + ": every line holds its record exactly", not bad, bad[:5])


def expected_summary(recs, aggs=None):
    """Per key: the last value, or {"min", "max", "last"} as aggs
    ({key: ["min", "max", ...]}, LIGHTC_WANDB_SUMMARY) asks; NaN is no
    min or max while a number is there."""
    vals = {}
    for rec in recs:
        for k, _, v in rec:
            vals.setdefault(k, []).append(v)
    out = {}
    for k, v in vals.items():
        want = (aggs or {}).get(k)
        if not want:
            out[k] = v[-1]
            continue
        nums = [x for x in v if not math.isnan(x)] or [float("nan")]
        o = {}
        if "min" in want:
            o["min"] = min(nums)
        if "max" in want:
            o["max"] = max(nums)
        if "last" in want:
            o["last"] = v[-1]
        out[k] = o
    return out


def summary_problems(want, got):
    bad = {}
    for k, v in want.items():
        g = got.get(k)
        if isinstance(v, dict):
            if not isinstance(g, dict) or set(g) != set(v) or \
                    not all(same(v[a], g[a]) for a in v):
                bad[k] = (v, g)
        elif not same(v, g):
            bad[k] = (v, g)
    return bad


def compare_run(label, root, uuid, fake, exitcode=0, first_line=0, files=None, plain=False,
                aggs=None, earlier_recs=()):
    """The fake's copy of the run equals the index. Returns the fake's run.
    earlier_recs: the records of an earlier lightc run of the same W&B run
    (its summary's min/max go on)."""
    d = delivery(root, uuid)
    if not check(label + ": delivered", d.get("state") == "delivered" and d.get("remote_id"), d):
        return None
    runs = fake.runs()
    r = runs.get(d["remote_id"])
    if not check(label + ": the run is on the server", r is not None, sorted(runs)):
        return None
    recs = index_records(root, uuid)
    compare_lines(label, recs, r["history"], first_line)
    if plain:  # no retries: each line was sent once
        check(label + ": each line sent once (history writes = lines)",
              r["history_writes"] == len(r["history"]), (r["history_writes"], len(r["history"])))
    params = index_params(root, uuid)
    bad = {k: (v, config_get(r["config"], k)) for k, v in params.items()
           if not same(param_value(v), config_get(r["config"], k))}
    check(label + ": config = params (%d)" % len(params), not bad, bad)
    summary = json.loads(r["summary"] or "{}")
    bad = summary_problems(expected_summary(list(earlier_recs) + recs, aggs), summary)
    check(label + ": summary = last value per key (min/max where asked)", not bad, bad)
    if exitcode is None:  # crashed: no exit sent, W&B marks it crashed
        check(label + ": no exit code (crashed)", not r["complete"] and r["exitcode"] is None,
              (r["complete"], r["exitcode"]))
    else:
        check(label + ": complete with exit code %d" % exitcode,
              r["complete"] and r["exitcode"] == exitcode, (r["complete"], r["exitcode"]))
    for name, local in (files or {}).items():
        size = os.path.getsize(local)
        check(label + ": file " + name, r["files"].get(name, {}).get("size") == size,
              (name, size, r["files"].get(name)))
    return r

