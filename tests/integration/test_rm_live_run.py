"""tests/integration/test_rm_live_run.py — `lightc runs rm --force` of a run
whose process is still logging (issue 7, defect 4).

A held make_runs process is removed from under itself, then logs more:
it must say its run was removed, drop (and count) what it logs instead of
writing rows that belong to no run, and a run started afterwards must get
a new internal id and none of the removed run's points.
"""
import os
import subprocess
import sys

from cli_common import MAKE_RUNS, check, index, lightc, main, make


def test_rm_force_live_run(tmp):
    root = os.path.join(tmp, "runs")
    p = subprocess.Popen([MAKE_RUNS, "--root", root, "--experiment", "live", "--name", "doomed",
                          "--steps", "5", "--hold", "--after-hold", "40"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        rid = p.stdout.readline().split()[0]
        db = index(root)
        (row,) = db.execute("SELECT id FROM run_info WHERE run_uuid = ?", (rid,)).fetchone()
        db.close()
        rc, out, err = lightc("runs", "rm", rid, "--yes", "--force", root=root)
        check("rm --force of a live run", rc == 0 and "removed run" in out, (rc, out, err))
        check("rm --force says the writer will stop", "still running" in err, err)
    finally:
        _, err = p.communicate(timeout=60)  # EOF: the helper logs 40 more steps, then finishes
    check("writer says its run was removed",
          f"run {rid}" in err and "was removed from the index (lightc runs rm)" in err
          and "later points are dropped" in err, err)
    check("writer reports the drops", "dropped" in err and p.returncode != 0, (p.returncode, err))

    db = index(root)
    orphans = db.execute("SELECT count(*) FROM metric_point WHERE run_id NOT IN"
                         " (SELECT id FROM run_info)").fetchone()[0]
    check("no orphan points", orphans == 0, orphans)
    db.close()

    nid = make(root, "--experiment", "live", "--name", "next", "--steps", "3")[0][0]
    db = index(root)
    (nrow,) = db.execute("SELECT id FROM run_info WHERE run_uuid = ?", (nid,)).fetchone()
    check("a new run gets a new id", nrow > row, (nrow, row))
    keys = db.execute("SELECT max(step) FROM metrics WHERE run_id = ?", (nid,)).fetchone()[0]
    check("the new run inherits no points", keys == 2, keys)
    db.close()
    rc, out, _ = lightc("runs", "show", nid, root=root)
    check("show the new run", rc == 0 and "train/loss" in out, out)


if __name__ == "__main__":
    sys.exit(main("rm-live", [test_rm_force_live_run]))
