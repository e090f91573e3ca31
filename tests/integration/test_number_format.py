"""lc_format_double against Python's own repr(float), the text Lightning's
CSVLogger writes into metrics.csv: random doubles, float32 values,
subnormals, binade edges, decimal-looking values. Exit 77 (skipped) when
the helper is not built.
"""
import os
import struct
import subprocess
import sys

BUILD = os.environ.get("LC_BUILD_DIR", "build")
HELPER = os.path.join(BUILD, "tests", "helpers", "lc_format_dump")
if not os.path.exists(HELPER):
    print(f"{HELPER} not built: skipped")
    sys.exit(77)


def main():
    out = subprocess.run([HELPER, "200000"], capture_output=True, check=True).stdout.decode()
    bad = 0
    lines = out.splitlines()
    for line in lines:
        h, text = line.split(" ", 1)
        v = struct.unpack(">d", bytes.fromhex(h))[0]
        if repr(v) != text:
            bad += 1
            if bad <= 10:
                print(f"{h}: lightc {text!r}, Python {repr(v)!r}")
    print(f"{len(lines) - bad}/{len(lines)} doubles formatted as Python's repr")
    return 1 if bad or not lines else 0


if __name__ == "__main__":
    sys.exit(main())
