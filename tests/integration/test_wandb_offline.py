"""tests/integration/test_wandb_offline.py — WANDB_MODE=offline writes W&B's
own offline run directory, checked by the real `wandb` package (pinned in
tests/requirements.txt) and by a reader of our own:

a. proto/wandb/wandb_record.proto: every message and field lightc writes
   has the number, type and label of the wandb package's own descriptors
   (wandb.proto.wandb_internal_pb2).
b. <WANDB_DIR>/wandb/offline-run-YYYYMMDD_HHMMSS-<id>/run-<id>.wandb: the
   7-byte header; every chunk's framing (32 KiB blocks, never crossing
   one, zero padding, FULL/FIRST/MIDDLE/LAST) and its CRC-32/IEEE; a config
   record larger than a block is split; the legacy reader of the pinned
   package (sdk/internal/datastore.py) reads the file too.
c. every record decodes as wandb_internal_pb2.Record: header, run, metric
   (define_metric: trainer/global_step the x-axis, min/max summaries asked
   with LIGHTC_WANDB_SUMMARY), config, history (one per index record,
   _step/_runtime/_timestamp items, step.num = line), summary, exit (code 0)
   and final; history rows, config and summary equal the index.
d. the official `wandb sync DIR` (wandb-core) uploads our directory to the
   fake server (WANDB_BASE_URL): every row exactly once, config, summary,
   exit code; `wandb sync --view --verbose` (legacy) prints every record;
   `lightc sync --to wandb` of the same run afterwards replaces those lines
   (the same run id) instead of appending them again.
e. kill -9 while writing, then `lightc sync`: the offline file is finished
   from where the index says it stood (records past it written once), and
   the run is uploaded to the fake server as well.
"""
import glob
import json
import math
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wandb_common import (DRIVER, KEY, SKIP, WandbFake, base_env, check,  # noqa: E402
                          compare_lines, compare_run, delivery, driver, driver_bg, expected_summary,
                          index_params, index_records, lightc, param_value, run_uuid, same,
                          summary_problems)
from remote_common import conclude, not_built, not_installed, run_tests, scratch  # noqa: E402

SRC = os.path.abspath(os.environ.get("LC_SOURCE_DIR") or
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PROTO = os.path.join(SRC, "proto", "wandb", "wandb_record.proto")
VENV_BIN = os.path.dirname(sys.executable)
BLOCK = 32768


# ---------------------------------------------------------------------------
# a. field numbers

def parse_proto(path):
    """{message path: {field: (number, type, repeated)}} of a proto3 file
    (nested messages as Outer.Inner)."""
    text = re.sub(r"//[^\n]*", "", open(path).read())
    out, stack = {}, []
    for tok in re.finditer(r"message\s+(\w+)\s*\{|\}|(repeated\s+)?([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;|oneof\s+\w+\s*\{",
                           text):
        s = tok.group(0)
        if s.startswith("message"):
            stack.append(tok.group(1))
            out[".".join(stack)] = {}
        elif s.startswith("oneof"):
            stack.append(None)
        elif s == "}":
            stack.pop()
        elif tok.group(4):
            msg = ".".join(x for x in stack if x)
            out[msg][tok.group(4)] = (int(tok.group(5)), tok.group(3), bool(tok.group(2)))
    return out


SCALARS = {"string": 9, "int64": 3, "int32": 5, "bool": 8}


def test_field_numbers(tmp, fake):
    from wandb.proto import wandb_internal_pb2 as pb
    ours = parse_proto(PROTO)
    check("a: the proto parses", "Record" in ours and len(ours) > 10, sorted(ours))
    # our message -> theirs, found through the fields that refer to it
    theirs = {"Record": pb.Record.DESCRIPTOR}
    pending = ["Record"]
    while pending:
        name = pending.pop()
        for field, (num, typ, rep) in ours[name].items():
            fd = theirs[name].fields_by_name.get(field)
            if not check("a: %s.%s exists in wandb's %s" % (name, field, theirs[name].full_name),
                         fd is not None):
                continue
            check("a: %s.%s = %d" % (name, field, num), fd.number == num, fd.number)
            check("a: %s.%s repeated=%s" % (name, field, rep),
                  (fd.label == fd.LABEL_REPEATED) == rep)
            if typ in SCALARS:
                check("a: %s.%s is %s" % (name, field, typ), fd.type == SCALARS[typ], fd.type)
            else:
                sub = typ if typ in ours else "%s.%s" % (name, typ)
                check("a: %s.%s is a message" % (name, field), fd.message_type is not None)
                if fd.message_type is not None and sub in ours and sub not in theirs:
                    theirs[sub] = fd.message_type
                    pending.append(sub)
    check("a: every message of ours was compared", set(theirs) == set(ours),
          set(ours) - set(theirs))


# ---------------------------------------------------------------------------
# b. framing

def read_records(path):
    """Our own reader: (records, chunk types seen, problems)."""
    data = open(path, "rb").read()
    problems, types, recs = [], [], []
    if data[:7] != b":W&B\xe1\xbe\x00":
        problems.append("header %r" % data[:7])
    pos, buf = 7, None
    while pos < len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:
            if data[pos:pos + left] != b"\0" * left:
                problems.append("padding at %d is not zeros" % pos)
            pos += left
            continue
        crc, ln, t = struct.unpack("<IHB", data[pos:pos + 7])
        if pos // BLOCK != (pos + 7 + ln - 1) // BLOCK and ln:
            problems.append("chunk at %d crosses a block" % pos)
        payload = data[pos + 7:pos + 7 + ln]
        if len(payload) != ln:
            problems.append("chunk at %d is cut short" % pos)
            break
        if zlib.crc32(payload, zlib.crc32(bytes([t]))) != crc:
            problems.append("CRC of the chunk at %d" % pos)
        types.append(t)
        pos += 7 + ln
        if t == 1 and buf is None:
            recs.append(payload)
        elif t == 2 and buf is None:
            buf = payload
        elif t == 3 and buf is not None:
            buf += payload
        elif t == 4 and buf is not None:
            recs.append(buf + payload)
            buf = None
        else:
            problems.append("chunk type %d at %d out of order" % (t, pos))
    if buf is not None:
        problems.append("a record is not finished")
    return recs, types, problems


def decode(recs):
    from wandb.proto import wandb_internal_pb2 as pb
    out = []
    for p in recs:
        r = pb.Record()
        r.ParseFromString(p)
        out.append(r)
    return out


def item_key(it):
    return it.key or "/".join(it.nested_key)


def offline_dir(wdir):
    dirs = glob.glob(os.path.join(wdir, "wandb", "offline-run-*"))
    return dirs[0] if len(dirs) == 1 else None


def check_file(label, root, uuid, path, exitcode=0, aggs=None):
    recs, types, problems = read_records(path)
    check(label + ": framing and CRC of every chunk", not problems, problems[:10])
    rs = decode(recs)
    kinds = [r.WhichOneof("record_type") for r in rs]
    check(label + ": header, run first; exit, final last",
          kinds[:2] == ["header", "run"] and kinds[-2:] == ["exit", "final"], kinds[:3] + kinds[-3:])
    check(label + ": records numbered 1..n", [r.num for r in rs] == list(range(1, len(rs) + 1)),
          [r.num for r in rs][:10])
    # history
    lines = []
    for r in rs:
        if r.WhichOneof("record_type") == "history":
            d = {item_key(i): json.loads(i.value_json) for i in r.history.item}
            check(label + ": step.num = _step", r.history.step.num == d.get("_step"),
                  (r.history.step.num, d.get("_step"))) if r.history.step.num != d.get("_step") else None
            lines.append(json.dumps(d, allow_nan=True))
    recs_index = index_records(root, uuid)
    compare_lines(label, recs_index, lines)
    # config: the update of each top-level key, applied in order
    config = {}
    for r in rs:
        if r.WhichOneof("record_type") == "config":
            for u in r.config.update:
                config[item_key(u)] = {"value": json.loads(u.value_json)}
    from wandb_common import config_get
    params = index_params(root, uuid)
    bad = {k: (v, config_get(config, k)) for k, v in params.items()
           if not same(param_value(v), config_get(config, k))}
    check(label + ": config records = params (%d)" % len(params), not bad and params, bad)
    summary = {}
    for r in rs:
        if r.WhichOneof("record_type") == "summary":
            for u in r.summary.update:
                summary[item_key(u)] = json.loads(u.value_json)
    bad = summary_problems(expected_summary(recs_index, aggs), summary)
    check(label + ": summary records = last value per key (min/max where asked)", not bad, bad)
    metrics = [r.metric for r in rs if r.WhichOneof("record_type") == "metric"]
    check(label + ": define_metric as Lightning's WandbLogger (trainer/global_step the x-axis)",
          any(m.name == "trainer/global_step" for m in metrics) and
          any(m.glob_name == "*" and m.step_metric == "trainer/global_step" and
              m.options.step_sync for m in metrics), metrics)
    for k, want in (aggs or {}).items():
        m = [x for x in metrics if x.name == k]
        check(label + ": define_metric summary of " + k,
              m and [a for a in ("min", "max", "last") if getattr(m[0].summary, a)] == want, m)
    ex = [r.exit for r in rs if r.WhichOneof("record_type") == "exit"]
    check(label + ": one exit record, code %d" % exitcode, len(ex) == 1 and ex[0].exit_code == exitcode,
          ex)
    return rs, types


def test_offline_dir(tmp, fake):
    root = os.path.join(tmp, "offline")
    wdir = os.path.join(tmp, "wd")
    big = "x" * 80000  # a config record over two blocks long: FIRST, MIDDLE, LAST
    env = base_env(WANDB_MODE="offline", WANDB_DIR=wdir, WANDB_PROJECT="offline-proj",
                   WANDB_NAME="offline run", WANDB_TAGS="t1,t2",
                   LIGHTC_WANDB_SUMMARY="train/acc=min,max,last;lr=max")
    aggs = {"train/acc": ["min", "max", "last"], "lr": ["max"]}
    rc, res, err = driver(root, env, 3000, "offline", ("--param", "blob=" + big))
    if not check("b: offline run written", rc == 0 and res.get("state") == "delivered",
                 (rc, res, err)):
        return
    uuid = res["run_uuid"]
    d = offline_dir(wdir)
    m = re.match(r"^offline-run-(\d{8}_\d{6})-([a-z0-9]{8})$", os.path.basename(d or ""))
    check("b: offline-run-YYYYMMDD_HHMMSS-<id>", m is not None, d)
    if not m:
        return
    path = os.path.join(d, "run-%s.wandb" % m.group(2))
    check("b: run-<id>.wandb", os.path.exists(path), os.listdir(d))
    check("b: the file spans several blocks", os.path.getsize(path) > 3 * BLOCK,
          os.path.getsize(path))
    rs, types = check_file("c", root, uuid, path, aggs=aggs)
    check("b: FIRST, MIDDLE and LAST chunks were written", {2, 3, 4} <= set(types), set(types))
    run = [r.run for r in rs if r.WhichOneof("record_type") == "run"][0]
    check("c: run record", (run.run_id, run.project, run.display_name, list(run.tags)) ==
          (m.group(2), "offline-proj", "offline run", ["t1", "t2"]) and run.start_time.seconds > 0,
          run)
    # the legacy reader of the pinned package
    try:
        from wandb.sdk.internal import datastore
        ds = datastore.DataStore()
        ds.open_for_scan(path)
        n = 0
        while ds.scan_data() is not None:
            n += 1
        check("b: wandb's legacy DataStore reads every record", n == len(rs), (n, len(rs)))
    except ImportError:
        print("b: wandb.sdk.internal.datastore is not in this wandb; skipped")
    # d. the official sync to the fake server
    wenv = base_env(WANDB_API_KEY=KEY, WANDB_BASE_URL=fake.url, WANDB_CONFIG_DIR=os.path.join(tmp, "wcfg"),
                    WANDB_CACHE_DIR=os.path.join(tmp, "wcache"), WANDB_DATA_DIR=os.path.join(tmp, "wdata"))
    # wandb writes debug logs under ./wandb: run it in the test's directory
    p = subprocess.run([os.path.join(VENV_BIN, "wandb"), "sync", "--view", "--verbose", path],
                       env=wenv, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                       cwd=tmp)
    nrec = p.stdout.count("Record:")
    check("d: wandb sync --view --verbose prints every record", p.returncode == 0 and nrec == len(rs),
          (p.returncode, nrec, len(rs), p.stderr[-800:]))
    p = subprocess.run([os.path.join(VENV_BIN, "wandb"), "sync", d], env=wenv,
                       capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                       cwd=tmp)
    check("d: wandb sync exits 0", p.returncode == 0, (p.stdout[-1500:], p.stderr[-1500:]))
    key = "fake-user/offline-proj/" + m.group(2)
    r = fake.runs().get(key)
    if check("d: wandb sync made the run on the fake server", r is not None, sorted(fake.runs())):
        compare_lines("d", index_records(root, uuid), r["history"])
        check("d: each row sent once", r["history_writes"] == len(r["history"]),
              (r["history_writes"], len(r["history"])))
        summary = json.loads(r["summary"] or "{}")
        bad = summary_problems(expected_summary(index_records(root, uuid), aggs), summary)
        check("d: summary (min/max where asked)", not bad, bad)
        params = index_params(root, uuid)
        from wandb_common import config_get
        bad = {k: (v, config_get(r["config"], k)) for k, v in params.items()
               if not same(param_value(v), config_get(r["config"], k))}
        check("d: config", not bad, bad)
        check("d: complete, exit code 0", r["complete"] and r["exitcode"] == 0,
              (r["complete"], r["exitcode"]))
        check("d: display name", r["display_name"] == "offline run", r["display_name"])
    # both ways for one run: `wandb sync` made the W&B run, then `lightc sync
    # --to wandb` delivers the same run from the index: its lines replace
    # those (the run id is the same), never appended after them
    p = lightc(["sync", "--to", "wandb"], root,
               base_env(WANDB_API_KEY=KEY, WANDB_BASE_URL=fake.url, WANDB_PROJECT="offline-proj",
                        LIGHTC_WANDB_SUMMARY="train/acc=min,max,last;lr=max"))
    check("d: lightc sync --to wandb after wandb sync", p.returncode == 0 and "delivered" in p.stdout,
          (p.returncode, p.stdout, p.stderr))
    r2 = compare_run("d (both ways)", root, uuid, fake, aggs=aggs)
    if r2:
        check("d: both ways: each line written twice, at the same offsets",
              r2["history_writes"] == 2 * len(r2["history"]), (r2["history_writes"], len(r2["history"])))


def test_offline_kill9(tmp, fake):
    root = os.path.join(tmp, "okill")
    wdir = os.path.join(tmp, "okill-wd")
    env = base_env(WANDB_MODE="offline", WANDB_DIR=wdir, WANDB_PROJECT="okill",
                   LIGHTC_SHIP_LINGER_MS=1)
    proc = driver_bg(root, env, 200000, "okill", ("--sleep-us", "50"))
    deadline = time.time() + 60
    while time.time() < deadline:
        d = offline_dir(wdir)
        f = glob.glob(os.path.join(d, "*.wandb")) if d else []
        if f and os.path.getsize(f[0]) > 200000:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    uuid = run_uuid(root, "lightc-bench", "okill")
    check("e: killed while writing", f and os.path.getsize(f[0]) > 200000, f)
    # append a torn record, as a write cut by the kill would leave one
    with open(f[0], "ab") as fh:
        fh.write(b"\x01\x02\x03\x04\x50\x00\x01partial")
    env2 = base_env(WANDB_API_KEY=KEY, WANDB_BASE_URL=fake.url, WANDB_PROJECT="okill")
    p = lightc(["sync"], root, env2)
    check("e: lightc sync finishes both deliveries",
          p.returncode == 0 and p.stdout.count("delivered") >= 2, (p.returncode, p.stdout, p.stderr))
    check("e: the offline delivery is delivered",
          delivery(root, uuid, "wandb-offline").get("state") == "delivered",
          delivery(root, uuid, "wandb-offline"))
    check_file("e", root, uuid, f[0], exitcode=1)
    compare_run("e (uploaded)", root, uuid, fake, exitcode=None)


def main():
    if not_built(DRIVER) or not_installed("wandb", "wandb.proto.wandb_internal_pb2"):
        return SKIP
    tmp = scratch("wandb-offline-")
    t0 = time.time()
    with WandbFake(KEY) as fake:
        run_tests((test_field_numbers, test_offline_dir, test_offline_kill9), (tmp, fake))
    return conclude("wandb_offline", tmp, t0)


if __name__ == "__main__":
    sys.exit(main())
