"""tests/integration/test_export_utf8.py — bad bytes and huge keys in tags
and params (issue 7, defect 9).

Every CLI output is valid UTF-8, with each invalid sequence replaced by
U+FFFD exactly as Python's bytes.decode('utf-8', 'replace') does: values
logged through the hub (which repairs them on the way in) and values
written into the index by hand (an older index), checked in `runs export`
json (json.loads) and csv, `runs show` and `runs ls`. A 10 KB tag key is
cut to 250 bytes like a metric key and never printed whole.
"""
import csv
import io
import json
import os
import sys

from cli_common import check, index, lightc, main, make

BAD = b"caf\xc3\xa9 \xff\xfe bad \xe2\x82 \xed\xa0\x80 end"


def fixed(b):
    return b.decode("utf-8", "replace")


def strict(name, data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        check(f"{name} is valid UTF-8", False, e)
        return data.decode("utf-8", "replace")


def test_bad_bytes_and_long_keys(tmp):
    root = os.path.join(tmp, "runs")
    long_key = "k" * 10000
    rid = make(root, "--experiment", "u", "--name", "bytes", "--steps", "5",
               "--tag", long_key + "=long", "--tag", "logged=x").pop()[0]
    # make_runs takes str args; bad bytes go in as an older index would
    # hold them: written by hand, bypassing the hub
    db = index(root)
    (row,) = db.execute("SELECT id FROM run_info WHERE run_uuid = ?", (rid,)).fetchone()
    db.execute("INSERT INTO tag(run_id, key, value) VALUES (?, 'raw', CAST(? AS TEXT))", (row, BAD))
    db.execute("INSERT INTO tag(run_id, key, value) VALUES (?, CAST(? AS TEXT), 'v')", (row, b"key\xff"))
    db.execute("INSERT INTO param(run_id, key, value, type) VALUES (?, 'rawp', CAST(? AS TEXT), 'str')", (row, BAD))
    db.execute("UPDATE metric_key SET key = CAST(? AS TEXT) WHERE run_id = ? AND key = 'val/acc'",
               (b"val/\xffacc", row))
    db.commit()
    (klen,) = db.execute("SELECT max(length(key)) FROM tags WHERE run_id = ?", (rid,)).fetchone()
    check("tag keys cut to 250 bytes", klen == 250, klen)
    (mapped,) = db.execute("SELECT count(*) FROM key_map WHERE run_id = ? AND kind = 'tag'"
                           " AND length(original) = 10000", (row,)).fetchone()
    check("long tag key mapping kept", mapped == 1, mapped)
    db.close()

    rc, out, err = lightc("runs", "export", rid, "--format", "json", root=root, raw=True)
    check("export json rc", rc == 0, err)
    doc = json.loads(strict("export json", out))
    check("json tag repaired like Python", doc["tags"].get("raw") == fixed(BAD), doc["tags"].get("raw"))
    check("json tag key repaired", doc["tags"].get(fixed(b"key\xff")) == "v", list(doc["tags"]))
    check("json param repaired", doc["params"].get("rawp") == fixed(BAD), doc["params"].get("rawp"))
    check("json metric key repaired", fixed(b"val/\xffacc") in doc["metrics"], list(doc["metrics"]))
    check("json tag keys short", max(len(k.encode()) for k in doc["tags"]) <= 250)
    check("json keeps good text", doc["tags"].get("logged") == "x")

    rc, out, err = lightc("runs", "export", rid, "--format", "csv", root=root, raw=True)
    check("export csv rc", rc == 0, err)
    rows = list(csv.reader(io.StringIO(strict("export csv", out))))
    check("csv key repaired", any(r[0] == fixed(b"val/\xffacc") for r in rows[1:]), rows[:3])

    rc, out, err = lightc("runs", "show", rid, root=root, raw=True)
    check("show rc", rc == 0, err)
    text = strict("runs show", out)
    check("show prints the repaired value", fixed(BAD) in text)
    # (lightc.argv holds it: make_runs got it on its command line)
    whole = [line[:60] for line in text.splitlines() if "k" * 300 in line and "lightc.argv" not in line]
    check("show never prints the 10 KB key", not whole, whole)

    rc, out, err = lightc("runs", "ls", root=root, raw=True)
    check("ls rc", rc == 0, err)
    strict("runs ls", out)


if __name__ == "__main__":
    sys.exit(main("export-utf8", [test_bad_bytes_and_long_keys]))
