"""tests/integration/test_sync_cli.py — delivery state in the CLI (issue 8):
a run left pending by its drain timeout shows as pending in `runs show`
(items, since when), is marked in `runs ls`, carries its delivery state
in `runs export --format json`; after a sync (through the library, with
the fixture's test backend) it shows as delivered with the remote run id
and URL; `lightc sync` then has nothing to do; a backend lightc lacks is
a clear failure, never a crash.
"""
import json
import os
import subprocess
import sys

from cli_common import BUILD, check, lightc, main

FIXTURE = os.path.join(BUILD, "tests", "helpers", "outbox_fixture")


def fixture(root, mode):
    p = subprocess.run([FIXTURE, root, mode], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_pending_then_delivered(tmp):
    root = os.path.join(tmp, "runs")
    rc, out, err = fixture(root, "log")
    check("fixture logs a run", rc == 0, (rc, out, err))
    rid = out.split()[0]
    check("drain timeout says sync will finish it",
          "stays pending" in err and "`lightc sync` will finish it" in err, err)

    rc, out, err = lightc("runs", "show", rid, root=root)
    check("show: pending with items and since", rc == 0 and "rec" in out and
          "pending: " in out and " items since " in out and "connection refused" in out, (rc, out, err))
    rc, out, err = lightc("runs", "ls", root=root)
    check("ls marks the run", rc == 0 and rid[:8] + "*" in out and "lightc sync" in out, (rc, out, err))
    rc, out, err = lightc("runs", "export", rid, "--format", "json", root=root)
    doc = json.loads(out) if rc == 0 else {}
    d = doc.get("deliveries", {}).get("rec", {})
    check("export: pending delivery", d.get("state") == "pending" and d.get("pending_items", 0) > 50, doc)

    # lightc has no 'rec' backend: a clear failure, exit 1
    rc, out, err = lightc("sync", root=root)
    check("sync without the backend fails clearly", rc == 1 and "no such backend" in out, (rc, out, err))
    rc, out, err = lightc("sync", "--to", "nope", root=root)
    check("sync --to checks its value", rc == 2, (rc, out, err))

    rc, out, err = fixture(root, "sync")
    check("library sync delivers", rc == 0 and out.startswith("delivered 1 sent"), (rc, out, err))
    rc, out, err = lightc("runs", "show", rid, root=root)
    check("show: delivered with remote run", rc == 0 and "delivered: remote run R42 rec://test/runs/R42"
          in out, (rc, out, err))
    rc, out, err = lightc("runs", "ls", root=root)
    check("ls: no mark once delivered", rc == 0 and rid[:8] + "*" not in out, (rc, out, err))
    rc, out, err = lightc("sync", root=root)
    check("second sync: nothing to do", rc == 0 and "nothing to sync" in out, (rc, out, err))
    rc, out, err = fixture(root, "sync")
    check("second library sync sends nothing", rc == 0 and out.strip() == "delivered 0 sent 0",
          (rc, out, err))


if __name__ == "__main__":
    sys.exit(main("sync_cli", [test_pending_then_delivered]))
