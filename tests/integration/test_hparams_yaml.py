"""hparams.yaml text against PyYAML, the library Lightning writes it with.

Random nested hyperparameters (tricky strings, long values that fold at 80
columns, long keys, every value type) are flattened with '/', rendered by
lightc (tests/helpers/lc_hparams_dump) and compared byte for byte with
yaml.dump(nested_dict); the text must also load back to the same values.
Exit 77 (skipped) when PyYAML or the helper is missing.
"""
import json
import math
import os
import random
import subprocess
import sys

try:
    import yaml
except ImportError:
    print("PyYAML not installed: skipped")
    sys.exit(77)

BUILD = os.environ.get("LC_BUILD_DIR", "build")
HELPER = os.path.join(BUILD, "tests", "helpers", "lc_hparams_dump")
if not os.path.exists(HELPER):
    print(f"{HELPER} not built: skipped")
    sys.exit(77)

FRAGMENTS = [
    "a", "lr", "adam", " ", " ", "  ", "\n", "\n\n", "\t", ":", ": ", "#", " #", "-", "- ", "?", "? ",
    "'", '"', "\\", ",", "[", "]", "{", "}", "&", "*", "!", "|", ">", "%", "@", "`", "=", "<<",
    "~", "null", "true", "No", "on", "yes", "1", "0", "007", "0x1F", "0b101", "1.5", ".5", "1e5",
    "1.0e+5", "-", "+", ".inf", ".nan", "2024-01-31", "2001-12-14 21:59:43.10 -5", "1:30",
    "---", "...", "\u00e9", "\u20ac", "\U0001F600", "\x01", "\x7f", "\x85", "\u2028", "\ufeff",
    "\u00a0", "word ", "lorem ipsum dolor sit amet ", "x" * 30,
]
KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_ .:-"


def rand_str(rng):
    if rng.random() < 0.1:
        return ""
    if rng.random() < 0.1:  # long text that folds
        return "".join(rng.choice(["word", "ab", "x" * 12, " ", " ", "  ", "'", '"', "\t", "\u00e9"])
                       for _ in range(rng.randint(20, 80)))
    return "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 5)))


def rand_key(rng):
    r = rng.random()
    if r < 0.05:
        n = rng.randint(118, 130)  # around the simple-key limit (123)
    elif r < 0.1:
        return rng.choice(["1", "true", "null", "~", "-a", ":x", "a: b", "x y", "0.5", "-", " a", "a "])
    else:
        n = rng.randint(1, 12)
    return "".join(rng.choice(KEY_CHARS) for _ in range(n))


def rand_float(rng):
    return rng.choice([
        rng.random(), rng.uniform(-1e6, 1e6), 10 ** rng.uniform(-320, 308), 1e-7, 1e16, 3.0,
        -0.0, 0.0, float("nan"), float("inf"), float("-inf"), 0.1, 1e22, 5e-324,
    ])


def rand_value(rng):
    t = rng.randrange(4)
    if t == 0:
        return rand_str(rng)
    if t == 1:
        return rng.choice([0, 1, -5, 42, 2**62, -(2**63)])
    if t == 2:
        return rand_float(rng)
    return rng.random() < 0.5


def rand_tree(rng, depth):
    d = {}
    for _ in range(rng.randint(1, 6)):
        k = rand_key(rng)
        if depth < 3 and rng.random() < 0.3:
            d[k] = rand_tree(rng, depth + 1)
        else:
            d[k] = rand_value(rng)
    return d


def flatten(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flatten(v, prefix + k + "/")
        else:
            yield prefix + k, v


def to_item(key, v):
    if isinstance(v, bool):
        return ["b", key, v]
    if isinstance(v, int):
        return ["i", key, v]
    if isinstance(v, float):
        return ["d", key, v if math.isfinite(v) else repr(v)]
    return ["s", key, v]


def same(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


def main():
    rng = random.Random(20240531)
    failures = 0
    cases = [{}, {"a": 1}, {"optimizer": {"lr": 0.1, "name": "adam"}, "seed": 42}]
    cases += [rand_tree(rng, 0) for _ in range(400)]
    for i, tree in enumerate(cases):
        items = [to_item(k, v) for k, v in flatten(tree)]
        out = subprocess.run([HELPER], input=json.dumps(items).encode(), capture_output=True)
        if out.returncode != 0:
            print(f"case {i}: helper failed: {out.stderr.decode()}")
            failures += 1
            continue
        got = out.stdout.decode()
        want = yaml.dump(tree)
        if got != want:
            failures += 1
            if failures <= 5:
                print(f"case {i}: text differs\n--- lightc\n{got!r}\n--- yaml.dump\n{want!r}")
        elif not same(yaml.safe_load(got) or {}, tree):
            failures += 1
            print(f"case {i}: loads back differently: {got!r}")
    print(f"{len(cases) - failures}/{len(cases)} hparams.yaml cases identical to yaml.dump")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
