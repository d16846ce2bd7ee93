#!/usr/bin/env python3
"""Counts the individual checks of a `meson test` run from its testlog.json.

A Check suite reports "NN%: Checks: N, Failures: F, Errors: E"; a test
without such a line counts as one check. Prints "tests: N passed, N failed".
"""
import json
import re
import sys

CHECK = re.compile(r"\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)")


def main(path):
    passed = failed = skipped = 0
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            result = t.get("result", "")
            found = CHECK.findall(t.get("stdout", "") or "")
            if result == "SKIP":
                skipped += 1
            elif found:
                for n, fl, er in found:
                    bad = int(fl) + int(er)
                    passed += int(n) - bad
                    failed += bad
                if result not in ("OK", "EXPECTEDFAIL") and all(int(fl) + int(er) == 0 for _, fl, er in found):
                    failed += 1  # crashed or timed out after its checks
            elif result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            else:
                failed += 1
    print("tests: %d passed, %d failed, %d skipped" % (passed, failed, skipped))


if __name__ == "__main__":
    main(sys.argv[1])
