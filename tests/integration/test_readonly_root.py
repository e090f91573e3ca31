"""tests/integration/test_readonly_root.py — a read-only copy of a cleanly
closed root can be read (issue 7, defect 5).

A root is copied and made read-only with `chmod -R a-w`. chmod does not
stop root, so as root the CLI is run twice over it: as 'nobody' (setpriv)
and inside a private mount namespace where the copy is bind-mounted
read-only (unshare -m). Without root, the chmod alone is the test. Each
way: `runs ls/show/compare/export` work and leave no file behind;
`runs rm` fails with an error that says the root is read-only. Skipped
(77), saying why, when running as root with neither way available.
"""
import json
import os
import shutil
import subprocess
import sys

from cli_common import LIGHTC, SKIP, check, lightc, main, make

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def works(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ro_mount(path):
    """Command prefix running a command with path bind-mounted read-only."""
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, path]


def ways(copy):
    """(name, command prefix) for each way to make the copy unwritable."""
    if os.geteuid() != 0:
        return [("chmod", [])]
    out = []
    # 'nobody' must be able to reach the copy: a checkout under a private
    # directory (mktemp -d makes them 0700) rules that way out.
    if (shutil.which("setpriv") and works([*NOBODY, LIGHTC, "--version"])
            and works([*NOBODY, "test", "-r", os.path.join(copy, "index.db")])):
        out.append(("nobody", NOBODY))
    elif shutil.which("setpriv"):
        print(f"note: 'nobody' cannot reach {copy} (a parent directory is private); "
              "that way is skipped")
    if shutil.which("unshare") and works([*ro_mount(copy), "true"]):
        out.append(("ro-mount", ro_mount(copy)))
    return out


def test_readonly_copy(tmp):
    os.chmod(tmp, 0o755)  # let 'nobody' in
    root = os.path.join(tmp, "runs")
    rid = make(root, "--experiment", "arch", "--name", "kept", "--steps", "6")[0][0]
    make(root, "--experiment", "arch", "--name", "other", "--steps", "3")
    copy = os.path.join(tmp, "copy")
    shutil.copytree(root, copy)
    check("closed cleanly", not os.path.exists(os.path.join(copy, "index.db-wal")))
    for dirpath, dirnames, filenames in os.walk(copy):
        for n in filenames:
            os.chmod(os.path.join(dirpath, n), 0o444)
        os.chmod(dirpath, 0o555)
    before = sorted(os.listdir(copy))

    found = ways(copy)
    if not found:
        print("skip: running as root, and neither setpriv nor unshare -m can make the copy "
              "unwritable here", file=sys.stderr)
        sys.exit(SKIP)
    for name, prefix in found:
        rc, out, err = lightc("runs", "ls", root=copy, prefix=prefix)
        check(f"{name}: ls", rc == 0 and "kept" in out and "other" in out, (rc, err))
        rc, out, err = lightc("runs", "show", "arch/kept", root=copy, prefix=prefix)
        check(f"{name}: show", rc == 0 and rid in out and "train/loss" in out, (rc, err))
        rc, out, err = lightc("runs", "compare", "arch/kept", "arch/other", root=copy, prefix=prefix)
        check(f"{name}: compare", rc == 0, (rc, err))
        rc, out, err = lightc("runs", "export", rid, "--format", "json", root=copy, prefix=prefix)
        ok = rc == 0
        if ok:
            doc = json.loads(out)
            ok = doc["run"]["id"] == rid and len(doc["metrics"]["train/loss"]) == 6
        check(f"{name}: export json", ok, (rc, err))
        rc, out, err = lightc("runs", "export", rid, "--format", "csv", root=copy, prefix=prefix)
        check(f"{name}: export csv", rc == 0 and out.startswith("key,step,value,wall_time"), (rc, err))
        rc, out, err = lightc("runs", "rm", rid, "--yes", root=copy, prefix=prefix)
        check(f"{name}: rm refused clearly", rc == 1 and "read-only" in err and "unable to open database" not in err,
              (rc, err))
        check(f"{name}: nothing written", sorted(os.listdir(copy)) == before, os.listdir(copy))

    for dirpath, dirnames, filenames in os.walk(copy):
        os.chmod(dirpath, 0o755)


if __name__ == "__main__":
    sys.exit(main("readonly-root", [test_readonly_copy]))
