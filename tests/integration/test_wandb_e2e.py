"""tests/integration/test_wandb_e2e.py — issue 9's online acceptance against
the fake W&B server (tests/wandb_fake.py), compared with the run index:
every history line (one per record, at dense offsets, _step = offset,
trainer/global_step = the lightc step), config entry, summary value and the
final exit code, exactly once.

a. `lightc train --loggers sqlite,wandb` with only WANDB_API_KEY and
   WANDB_BASE_URL set: entity from Viewer, project = the experiment, the
   run files (config.yaml, wandb-summary.json, the checkpoint, hparams.yaml,
   metrics.csv); `lightc runs show` says delivered with the id and URL.
b. the C API (bench/bench_wandb.c as tests/helpers/wandb_log) with
   WANDB_PROJECT, WANDB_ENTITY, WANDB_RUN_ID, WANDB_NAME, WANDB_RUN_GROUP,
   WANDB_JOB_TYPE, WANDB_TAGS, WANDB_NOTES, and min/max summaries
   (LIGHTC_WANDB_SUMMARY); a second lightc run continues the same
   WANDB_RUN_ID after the server's lines (min/max going on); WANDB_RESUME=
   never refuses it; WANDB_MODE=disabled sends and records nothing.
c. faults: 429 with Retry-After, 500, 413 (the request is split), a 500
   on UpsertBucket and CreateRunFiles, answers lost after the server applied
   a file_stream (the fake), and through tests/fault_proxy.py dropped and
   reset connections and a lost answer: the same result.
d. outage: the server drops every connection for 20 s in the middle of a
   run; the log calls' times before, during and after are printed (the
   training thread never waits); every line once.
e. kill -9 while shipping (every file_stream slowed by the fault proxy),
   then `lightc sync --to wandb`: every line once, no exit code (crashed:
   W&B marks it so itself), summary and files there;
   the line offset kept with the cursor is where sync goes on.
f. a wrong key: a clear 401 message naming WANDB_API_KEY, the delivery
   failed, nothing lost; `lightc sync` with the right key delivers it. The
   key is in no output and no file.
h. heartbeats: an idle run sends {} to keep the run alive.
g. WANDB_MODE=offline: nothing is sent; the wandb delivery stays pending;
   `lightc sync --to wandb` later uploads the run.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wandb_common import (DRIVER, KEY, LIGHTC, SKIP, WandbFake, base_env,  # noqa: E402
                          check, compare_run, db, delivery, driver, driver_bg, index_records,
                          lightc, outputs, run_uuid)
from remote_common import (conclude, not_built, run_tests, scratch,  # noqa: E402
                           step_windows, without_data)
from fault_proxy import FaultProxyProcess  # noqa: E402

EXP = "lightc-bench"  # bench_wandb's default experiment


def env_for(fake_url, **extra):
    return base_env(WANDB_API_KEY=KEY, WANDB_BASE_URL=fake_url, **extra)


def test_train(tmp, fake):
    root = os.path.join(tmp, "train")
    env = env_for(fake.url)
    p = subprocess.run([LIGHTC, "train", "--root", root, "--name", "e2e", "--max-epochs", "1",
                        "--limit-train-batches", "20", "--limit-val-batches", "5",
                        "--limit-test-batches", "5", "--log-every-n-steps", "2",
                        "--no-model-summary", "--loggers", "sqlite,wandb"],
                       env=env, capture_output=True, text=True, timeout=300)
    outputs.extend([p.stdout, p.stderr])
    if not check("a: train exits 0", p.returncode == 0, p.stderr[-2000:]):
        return
    uuid = run_uuid(root, "fashion-mnist", "e2e")
    rdir = os.path.join(root, "fashion-mnist", "e2e")
    files = {}
    for f in ("hparams.yaml", "metrics.csv"):
        if os.path.exists(os.path.join(rdir, f)):
            files[f] = os.path.join(rdir, f)
    ck = os.path.join(rdir, "checkpoints")
    for f in os.listdir(ck) if os.path.isdir(ck) else []:
        files["checkpoints/" + f] = os.path.join(ck, f)
    check("a: a checkpoint was saved", any(k.startswith("checkpoints/") for k in files), files)
    r = compare_run("a", root, uuid, fake, files=files, plain=True)
    if r:
        check("a: entity from Viewer, project = experiment",
              r["entity"] == "fake-user" and r["project"] == "fashion-mnist", r["entity"])
        check("a: lines logged", len(r["history"]) > 10, len(r["history"]))
        check("a: config.yaml and wandb-summary.json uploaded and reported",
              {"config.yaml", "wandb-summary.json"} <= set(r["files"]) and
              {"config.yaml", "wandb-summary.json"} <= set(r["uploaded"]), r["files"])
        check("a: display name", r["display_name"] == "e2e", r["display_name"])
    d = delivery(root, uuid)
    p = lightc(["runs", "show", uuid[:8]], root, env)
    want = "delivered: remote run %s %s/%s/runs/" % (d.get("remote_id"), fake.url,
                                                      "fake-user/fashion-mnist")
    check("a: runs show delivered with id and URL", p.returncode == 0 and want in p.stdout,
          p.stdout[-1500:])


def test_c_api(tmp, fake):
    root = os.path.join(tmp, "capi")
    env = env_for(fake.url, WANDB_PROJECT="proj-b", WANDB_ENTITY="team-b",
                  WANDB_RUN_ID="capirun1", WANDB_NAME="C API run", WANDB_RUN_GROUP="grp",
                  WANDB_JOB_TYPE="train", WANDB_TAGS="a, b,c", WANDB_NOTES="notes here",
                  LIGHTC_WANDB_SUMMARY="train/acc=min,max,last;lr=max")
    aggs = {"train/acc": ["min", "max", "last"], "lr": ["max"]}
    rc, res, err = driver(root, env, 3000, "capi", ("--param", "data/name=fashion"))
    if check("b: C API run delivered", rc == 0 and res.get("state") == "delivered",
             (rc, res, err)):
        check("b: remote id from the variables", res["remote_id"] == "team-b/proj-b/capirun1",
              res)
        r = compare_run("b", root, res["run_uuid"], fake, plain=True, aggs=aggs)
        if r:
            check("b: run fields", (r["display_name"], r["group"], r["job_type"], r["tags"],
                                    r["notes"]) == ("C API run", "grp", "train", ["a", "b", "c"],
                                                    "notes here"), r)
            check("b: nested config as the SDK nests it",
                  r["config"].get("optimizer") == {"value": {"lr": 0.001}} and
                  r["config"].get("data") == {"value": {"name": "fashion"}}, r["config"])
            check("b: NaN and Infinity as W&B writes them",
                  '"train/loss":NaN' in r["history"][3] and
                  '"train/loss":Infinity' in r["history"][4], r["history"][3:5])
    # another lightc run continues the same W&B run (WANDB_RUN_ID): its
    # lines go after the server's, _step goes on
    root3 = os.path.join(tmp, "capi-resume")
    rc, res2, err = driver(root3, env, 500, "capi2")
    if check("b: a second run into the same WANDB_RUN_ID", rc == 0, (rc, res2, err)):
        # min/max go on from the server's summary of the first run's lines
        r2 = compare_run("b (continued)", root3, res2["run_uuid"], fake, first_line=3000,
                         aggs=aggs, earlier_recs=index_records(root, res["run_uuid"]))
        if r2:
            got = json.loads(r2["summary"])
            check("b: the summary's max goes on over both runs",
                  got["lr"] == {"max": 1.0 / 3.0}, got["lr"])
    rc, res3, err = driver(os.path.join(tmp, "capi-never"), dict(env, WANDB_RESUME="never"), 10,
                           "capi3")
    check("b: WANDB_RESUME=never refuses an existing run",
          res3.get("state") == "failed" and "WANDB_RESUME=never" in err, (rc, res3, err[-800:]))
    # disabled: nothing sent, no delivery recorded
    before = len(fake.log())
    root2 = os.path.join(tmp, "disabled")
    rc, res, err = driver(root2, env_for(fake.url, WANDB_MODE="disabled"), 50, "off")
    check("b: WANDB_MODE=disabled: nothing sent, no delivery",
          len(fake.log()) == before and res.get("state") == "", (rc, res, err))


def test_heartbeat(tmp, fake):
    """A run idle for 11 s: the shipper keeps it alive with {} heartbeats
    (it offers one every 10 s of idleness, waking at least every third of
    the lease: 1 s here; LIGHTC_WANDB_HEARTBEAT_SECS=1 here, 30 by default)."""
    root = os.path.join(tmp, "heartbeat")
    env = env_for(fake.url, WANDB_PROJECT="hb", LIGHTC_WANDB_HEARTBEAT_SECS=1,
                  LIGHTC_LEASE_MS=3000)
    rc, res, err = driver(root, env, 2, "hb", ("--sleep-us", "11000000"))
    if check("h: delivered", rc == 0, (rc, res, err)):
        r = compare_run("h", root, res["run_uuid"], fake, plain=True)
        if r:
            check("h: heartbeats while idle", r["heartbeats"] >= 1, r["heartbeats"])


def test_faults(tmp, fake):
    root = os.path.join(tmp, "faults")
    fs = {"path": "/files/"}
    fake.faults([
        {"op": "UpsertBucket", "status": 500},
        dict(fs, status=429, headers={"Retry-After": "1"},
             body={"error": "Filestream rate limit exceeded"}),
        dict(fs, status=500),
        dict(fs, status=413, body={"error": "request too large"}),
        dict(fs, apply=True, status=502),
        {"op": "CreateRunFiles", "status": 429, "headers": {"Retry-After": "1"}},
        {"path": "/_upload/", "status": 500},
        # applied and answered, but the server says: no more until the reset
        dict(fs, apply=True, status=200, body={"exitcode": None, "limits": {}},
             headers={"RateLimit-Remaining": "0", "RateLimit-Reset": "2"}),
    ])
    with FaultProxyProcess(upstream=fake.url) as fp:
        fp.faults([
            {"match": {"path": "/files/"}, "drop": "close"},
            {"match": {"path": "/files/"}, "lose_response": True},
            {"match": {"path": "/files/"}, "drop": "reset"},
            {"match": {"path": "/graphql"}, "lose_response": True},
        ])
        env = env_for(fp.url, LIGHTC_SYNC_TIMEOUT=120, WANDB_PROJECT="faults")
        rc, res, err = driver(root, env, 4000, "faults", ("--sleep-us", "300"))
        acts = [r.get("action", "") for r in fp.log()["requests"]]
    used = [f for f in fake.fault_state() if f.get("used")]
    check("c: every fake fault was used", len(used) == 8, fake.fault_state())
    log = fake.log()
    rl = [i for i, e in enumerate(log) if e["fault"] and e["status"] == 200]
    gap = log[rl[0] + 1]["t"] - log[rl[0]]["t"] if rl and rl[0] + 1 < len(log) else -1
    print("c: the request after RateLimit-Remaining: 0 came %.2f s later" % gap)
    check("c: RateLimit-Remaining: 0 paces the next request", gap >= 1.5, gap)
    check("c: every proxy fault was used",
          all(any(a.startswith(w) for a in acts) for w in ("drop", "lose_response")), acts)
    if check("c: delivered through the faults", rc == 0, (rc, res, err)):
        compare_run("c", root, res["run_uuid"], fake)
        runs = [k for k in fake.runs() if k.startswith("fake-user/faults/")]
        check("c: one remote run", len(runs) == 1, runs)


def test_outage(tmp, fake):
    root = os.path.join(tmp, "outage")
    tl = os.path.join(tmp, "outage-timeline.txt")
    env = env_for(fake.url, LIGHTC_SYNC_TIMEOUT=150, WANDB_PROJECT="outage")
    # ~3000 steps 10 ms apart: about 35 s; the server is away for 20 s of it
    proc = driver_bg(root, env, 3000, "outage", ("--sleep-us", "10000", "--timeline", tl))
    time.sleep(5)
    t_stop = time.time()
    fake.down(20)
    time.sleep(20)
    t_back = time.time()
    out, err = proc.communicate(timeout=300)
    outputs.extend([out, err])
    print("d: outage %.1f s (from +5 s)" % (t_back - t_stop))
    win = step_windows(tl, t_stop, t_back)
    check("d: steps logged during the outage", len(win["during"]) > 100, len(win["during"]))
    import json
    res = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    if check("d: delivered after the outage", proc.returncode == 0, (proc.returncode, out, err)):
        compare_run("d", root, res["run_uuid"], fake)


def test_kill9(tmp, fake):
    """The server applies file_stream requests whose answers are lost (so the
    cursor stays behind what the server has), then the process is killed:
    sync must send those lines again at the same offsets (replacing them),
    not after the server's line count (duplicates) nor skip them."""
    root = os.path.join(tmp, "kill9")
    with FaultProxyProcess(upstream=fake.url) as fp:
        fs = {"path": "/files/"}
        fp.faults([{"match": fs, "delay": 0.3, "times": 3, "forward": True},
                   {"match": fs, "lose_response": True, "times": -1}])
        env = env_for(fp.url, WANDB_PROJECT="kill9", LIGHTC_WANDB_STREAM_SECS="0")
        # logging lasts >= 20 s, so the kill always comes while the run is
        # still logging, also on a loaded machine (a run killed in its final
        # drain has finished, with an exit code)
        proc = driver_bg(root, env, 20000, "kill9", ("--sleep-us", "1000"))
        deadline = time.time() + 60
        lost = 0
        while time.time() < deadline:
            acts = [r.get("action", "") for r in fp.log()["requests"]
                    if r["path"].endswith("/file_stream")]
            lost = acts.count("lose_response")
            if lost >= 2:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        check("e: killed while the server had lines the cursor did not", lost >= 2, lost)
        fp.clear()
        uuid = run_uuid(root, EXP, "kill9")
        d = delivery(root, uuid)
        r0 = fake.runs().get(d.get("remote_id"), {})
        with db(root) as c:
            state = c.execute("SELECT remote_state FROM delivery WHERE backend = 'wandb'").fetchone()
        kept = int((state[0] or "lines=0").split("=")[1])
        print("e: at the kill: the server holds %d lines, the index's offset is %d"
              % (len(r0.get("history", [])), kept))
        check("e: pending after kill -9", d.get("state") == "pending", d)
        check("e: the server got lines past the delivered offset",
              len(r0.get("history", [])) > kept, (len(r0.get("history", [])), kept))
        p = lightc(["sync", "--to", "wandb"], root, env)
        check("e: lightc sync after kill -9", p.returncode == 0 and "delivered" in p.stdout,
              (p.returncode, p.stdout, p.stderr))
    r = compare_run("e", root, uuid, fake, exitcode=None)
    if r:
        check("e: lines were sent again at their offsets (replaced)",
              r["history_writes"] > len(r["history"]), (r["history_writes"], len(r["history"])))


def test_wrong_key(tmp, fake):
    root = os.path.join(tmp, "auth")
    bad = "WrongKey" + "x" * 40
    env = base_env(WANDB_API_KEY=bad, WANDB_BASE_URL=fake.url, WANDB_PROJECT="auth",
                   LIGHTC_SYNC_TIMEOUT=20)
    rc, res, err = driver(root, env, 500, "auth")
    check("f: a wrong key: not delivered", rc == 3 and res.get("state") == "failed", (rc, res))
    check("f: the message says what to do",
          "the API key is invalid: set WANDB_API_KEY" in err and "401" in err, err[-1500:])
    uuid = res.get("run_uuid")
    d = delivery(root, uuid)
    check("f: the delivery says why", "set WANDB_API_KEY" in (d.get("last_error") or ""), d)
    p = lightc(["runs", "show", uuid[:8]], root, env)
    check("f: runs show: failed with what to do", "failed" in p.stdout, p.stdout[-800:])
    # the key from netrc this time (machine = the base URL's host)
    netrc = os.path.join(tmp, "netrc")
    with open(netrc, "w") as f:
        f.write("machine 127.0.0.1\n  login user\n  password %s\n" % KEY)
    os.chmod(netrc, 0o600)
    env2 = base_env(NETRC=netrc, WANDB_BASE_URL=fake.url, WANDB_PROJECT="auth")
    p = lightc(["sync"], root, env2)
    check("f: lightc sync with the right key (netrc) delivers",
          p.returncode == 0 and "delivered" in p.stdout, (p.returncode, p.stdout, p.stderr))
    compare_run("f", root, uuid, fake)
    leaked = [o for o in outputs if bad in (o or "") or KEY in (o or "")]
    check("f: the keys are in no output", not leaked, [o[:300] for o in leaked][:3])
    hits = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            with open(os.path.join(dirpath, n), "rb") as f:
                data = f.read()
            if bad.encode() in data or KEY.encode() in data:
                hits.append(n)
    check("f: the keys are in no file under the root", not hits, hits)


def test_offline_then_sync(tmp, fake):
    root = os.path.join(tmp, "offline")
    wdir = os.path.join(tmp, "offline-wandb")
    before = len(fake.log())
    env = base_env(WANDB_MODE="offline", WANDB_DIR=wdir, WANDB_PROJECT="offl")
    rc, res, err = driver(root, env, 800, "offl")
    check("g: offline run written", rc == 0 and res.get("state") == "delivered", (rc, res, err))
    check("g: offline: nothing sent", len(fake.log()) == before, fake.log()[before:])
    uuid = res.get("run_uuid")
    check("g: the wandb delivery is pending", delivery(root, uuid).get("state") == "pending",
          delivery(root, uuid))
    p = lightc(["sync", "--to", "wandb"], root, env)
    check("g: sync with WANDB_MODE=offline refuses clearly",
          p.returncode != 0 and "WANDB_MODE" in p.stdout + p.stderr, (p.stdout, p.stderr))
    p = lightc(["sync", "--to", "wandb"], root, env_for(fake.url, WANDB_PROJECT="offl"))
    check("g: lightc sync --to wandb uploads it", p.returncode == 0 and "delivered" in p.stdout,
          (p.returncode, p.stdout, p.stderr))
    compare_run("g", root, uuid, fake)


def main():
    if not_built(DRIVER):
        return SKIP
    tmp = scratch("wandb-e2e-")
    t0 = time.time()
    tests = without_data([test_train, test_c_api, test_heartbeat, test_faults, test_outage,
                          test_kill9, test_wrong_key, test_offline_then_sync], test_train)
    with WandbFake(KEY) as fake:
        run_tests(tests, (tmp, fake))
    return conclude("wandb_e2e", tmp, t0)


if __name__ == "__main__":
    sys.exit(main())
