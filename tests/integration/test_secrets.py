"""tests/integration/test_secrets.py — secrets never reach the disk or the
CLI's output (issue 7, defect 12).

make_runs logs a run to every file sink (sqlite, csv, tensorboard) with
secrets planted in its command line (both `--name value` and
`--name=value`, an environment-style word, a URL password), in user tag
values (by a secret key, inside a command line, in a URL) and in params.
Every file under the root (index.db and its -wal while the run is live,
metrics.csv, hparams.yaml, the event file) is searched byte for byte, and
so is every output of `lightc runs ls/show/compare/export json/csv`. The
redacted forms must be there, so the values did arrive.
"""
import os
import subprocess
import sys

from cli_common import MAKE_RUNS, check, index, lightc, main, make

MARK = b"PLANTED"


def files_with_secrets(root):
    hits, seen = [], 0
    for dirpath, _, filenames in os.walk(root):
        for n in filenames:
            path = os.path.join(dirpath, n)
            seen += 1
            with open(path, "rb") as f:
                if MARK in f.read():
                    hits.append(os.path.relpath(path, root))
    return hits, seen


def test_planted_secrets(tmp):
    root = os.path.join(tmp, "runs")
    cmd = [MAKE_RUNS, "--root", root, "--experiment", "sec", "--name", "run", "--steps", "4",
           "--loggers", "sqlite,csv,tensorboard", "--hold",
           "--tag", "api_token=sk-PLANTED-6",
           "--tag", "howto=run it with --password PLANTED-7 please",
           "--tag", "origin=https://bob:PLANTED-8@git.example/r.git",
           "--param", "secret=PLANTED-9",
           "--param", "db_url=postgres://app:PLANTED-10@db.example/runs",
           "--", "--api-key", "sk-PLANTED-1", "--password=PLANTED-2",
           "--db", "postgres://u:PLANTED-3@h/db", "--Auth-Token", "PLANTED-4",
           "WANDB_API_KEY=PLANTED-5"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rid = p.stdout.readline().split()[0].decode()
        hits, seen = files_with_secrets(root)  # the index's -wal is there now
        check("live: no file holds a secret", not hits, hits)
        check("live: the WAL was searched", os.path.exists(os.path.join(root, "index.db-wal")))
    finally:
        out, err = p.communicate(timeout=60)
    check("helper ok", p.returncode == 0, err)
    check("helper output clean", MARK not in out + err, (out, err))

    hits, seen = files_with_secrets(root)
    check("no file holds a secret", not hits, hits)
    names = {n for _, _, fs in os.walk(root) for n in fs}
    check("every sink wrote", {"index.db", "metrics.csv", "hparams.yaml"} <= names
          and any(n.startswith("events.out.tfevents") for n in names), sorted(names))

    db = index(root)
    argv = db.execute("SELECT value FROM tags WHERE run_id = ? AND key = 'lightc.argv'", (rid,)).fetchone()[0]
    tags = dict(db.execute("SELECT key, value FROM tags WHERE run_id = ?", (rid,)).fetchall())
    params = dict(db.execute("SELECT key, value FROM params WHERE run_id = ?", (rid,)).fetchall())
    db.close()
    for want in ("--api-key ***", "--password=***", "postgres://***@h/db", "--Auth-Token ***",
                 "WANDB_API_KEY=***", "api_token=***"):
        check(f"argv shows {want!r}", want in argv, argv)
    check("tag by key", tags.get("api_token") == "***", tags)
    check("tag with a command line", tags.get("howto") == "run it with --password *** please", tags)
    check("tag with a URL", tags.get("origin") == "https://***@git.example/r.git", tags)
    check("param by key", params.get("secret") == "***", params)
    check("param with a URL", params.get("db_url") == "postgres://***@db.example/runs", params)

    other = make(root, "--experiment", "sec", "--name", "plain", "--steps", "2")[0][0]
    for args in (("runs", "ls"), ("runs", "show", rid), ("runs", "compare", rid, other),
                 ("runs", "export", rid, "--format", "json"), ("runs", "export", rid, "--format", "csv")):
        rc, out, err = lightc(*args, root=root, raw=True)
        check(f"{' '.join(args[:3])}: rc", rc == 0, err)
        check(f"{' '.join(args[:3])}: no secret", MARK not in out + err)


def test_planted_wandb_key(tmp):
    """A W&B API key (right, then wrong) with a run shipped to the fake W&B
    server, the HTTP trace on (LIGHTC_HTTP_DEBUG=1, scrubbed): the key is in
    no file under the root, no index row, no output of the run or the CLI."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from wandb_fake import WandbFake
    root = os.path.join(tmp, "wandb-runs")
    good = "PLANTEDwandbKey" + "0123456789abcdefghijklmnopqrstuv"
    bad = "PLANTEDwrongKey" + "0123456789abcdefghijklmnopqrstuv"
    outs = []
    with WandbFake(good) as fake:
        for i, key in enumerate((good, bad)):
            env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "LIGHTC_"))}
            env.update(WANDB_API_KEY=key, WANDB_BASE_URL=fake.url, LIGHTC_HTTP_DEBUG="1",
                       LIGHTC_WANDB_STREAM_SECS="0.2", LIGHTC_SYNC_TIMEOUT="20",
                       HOME="/nonexistent", no_proxy="127.0.0.1")
            p = subprocess.run([MAKE_RUNS, "--root", root, "--experiment", "wsec", "--name",
                                "r%d" % i, "--steps", "6", "--loggers", "sqlite,wandb"],
                               env=env, capture_output=True, timeout=120)
            outs += [p.stdout, p.stderr]
            check("wandb run %d: helper ok" % i, p.returncode == 0, p.stderr[-1500:])
            if i == 0:
                check("wandb: the trace was on", b"Authorization: ***" in p.stderr, p.stderr[-800:])
        runs = fake.runs()
    check("wandb: the right key delivered a run", any(r["complete"] for r in runs.values()), runs)
    check("wandb: the wrong key got the clear message",
          b"the API key is invalid: set WANDB_API_KEY" in outs[-1], outs[-1][-800:])
    hits, seen = files_with_secrets(root)
    check("wandb: no file holds the key", not hits and seen, hits)
    for args in (("runs", "ls"), ("runs", "show", "r1"), ("runs", "export", "r1", "--format", "json")):
        rc, out, err = lightc(*args, root=root, raw=True)
        outs += [out, err]
    leaked = [o[:200] for o in outs if MARK in (o if isinstance(o, bytes) else o.encode())]
    check("wandb: no output holds the key", not leaked, leaked)


if __name__ == "__main__":
    sys.exit(main("secrets", [test_planted_secrets, test_planted_wandb_key]))
