"""scripts/bench's arguments: its one argument is the JSON file it writes,
so a word that looks like an option is refused before anything is built or
written (`scripts/bench --out` once left a file named "--out")."""
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "scripts", "bench")


def bench(*args, cwd):
    env = dict(os.environ)
    env.pop("SAFEHALF_BUILD", None)
    return subprocess.run([BENCH] + list(args), cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60)


class Arguments(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()

    def tearDown(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def test_option_refused(self):
        for word in ("--out", "--json", "-o"):
            r = bench(word, "x.json", cwd=self.dir)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("unknown option '%s'" % word, r.stderr)
            self.assertEqual(os.listdir(self.dir), [])
            self.assertFalse(os.path.exists(os.path.join(ROOT, word)))

    def test_two_files_refused(self):
        r = bench(os.path.join(self.dir, "a.json"), os.path.join(self.dir, "b.json"), cwd=self.dir)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("one argument at most", r.stderr)
        self.assertEqual(os.listdir(self.dir), [])

    def test_help(self):
        r = bench("--help", cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("usage: scripts/bench [FILE.json]", r.stdout)
        self.assertIn("pass-through <= 50 ns", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
