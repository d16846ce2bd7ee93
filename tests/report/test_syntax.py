"""The command must run on Python 3.8: its files parse with the 3.8 grammar
and use none of the library names that came later (a list of the likely
ones; the project's machines have a newer Python, so this is what can be
checked here)."""
import ast
import glob
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = [os.path.join(ROOT, "scripts", "safehalf.py")] + sorted(
    glob.glob(os.path.join(ROOT, "scripts", "safehalf_report", "*.py")))

# Added in Python 3.9 and later.
LATER = [r"\.removeprefix\(", r"\.removesuffix\(", r"waitstatus_to_exitcode", r"\bzoneinfo\b",
         r"\bgraphlib\b", r"functools\.cache\b", r"math\.lcm", r"randbytes", r"pidfd_open",
         r"\.bit_count\(", r"strict=", r"\baiter\(", r"\banext\(", r"root_dir=",
         r"\b(list|dict|tuple|set|frozenset|type)\[", r"\bmatch .*:\s*$", r"except\*",
         r"\bdataclass\(.*slots", r"\bfrom __future__ import annotations"]


class Python38(unittest.TestCase):
    def test_files_found(self):
        self.assertGreaterEqual(len(FILES), 8, FILES)

    def test_grammar(self):
        for path in FILES:
            with open(path) as f:
                ast.parse(f.read(), path, feature_version=(3, 8))

    def test_no_later_library_names(self):
        for path in FILES:
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    code = line.split("#", 1)[0]
                    for pattern in LATER:
                        self.assertIsNone(re.search(pattern, code),
                                          "%s:%d uses %s (Python > 3.8)" % (path, number, pattern))


if __name__ == "__main__":
    unittest.main(verbosity=2)
