"""The command and the report on a Python program that issues cuBLAS calls
through ctypes (tests/apps/pysite_app.py) on the emulated backend: the
Python call site of the first finding, innermost frame first; the per-site
table; a crash, a SIGKILL and a signal the program handles."""
import json
import os
import re
import sys
import unittest

from reportlib import SAFEHALF, TempDirTest, emu_env, env_path, read_log, run

PYSITE = os.path.join(env_path("SH_APPS_SRC"), "pysite_app.py")


def key_values(stdout):
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


class PythonSites(TempDirTest):
    def run_app(self, *args, options=()):
        return run([SAFEHALF] + list(options) + ["--", sys.executable, PYSITE] + list(args),
                   cwd=self.dir, env=emu_env())

    def report(self, *args):
        r = run([SAFEHALF, "report"] + list(args) + [self.dir], cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_first_finding_names_the_python_line(self):
        r = self.run_app("--two-sites", "--calls", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        kv = key_values(r.stdout)
        lines = {name: kv["line_" + name] for name in ("bmm", "attention", "forward", "small")}
        # the command's summary
        self.assertIn("safehalf:   at %s:%s in bmm; pid " % (PYSITE, lines["bmm"]), r.stderr)
        out = self.report()
        self.assertIn("where:     %s:%s in bmm\n"
                      "             %s:%s in Model.attention\n"
                      "             %s:%s in Model.forward\n"
                      % (PYSITE, lines["bmm"], PYSITE, lines["attention"], PYSITE,
                         lines["forward"]), out)
        self.assertIn("thread:    %s (%s)\n" % (kv["tid"], kv["comm"]), out)
        # two sites: the overflowing bmm and the small one, 2 calls each
        self.assertRegex(out, r"cublasGemmStridedBatchedEx\s+4x3x16224 b2\s+16F/16F/16F 32F\s+"
                              r"2\s+0\s+2\s+\d+\s+1\n      at %s:%s in bmm \(\+\d+ outer frames\)"
                         % (re.escape(PYSITE), lines["bmm"]))
        self.assertRegex(out, r"cublasGemmStridedBatchedEx\s+4x3x16 b2\s+16F/16F/16F 32F\s+"
                              r"2\s+0\s+0\s+\d+\s+1\n      at %s:%s in small"
                         % (re.escape(PYSITE), lines["small"]))

    def test_crash_keeps_the_site(self):
        r = self.run_app("--crash")
        self.assertEqual(r.returncode, 139, r.stderr)
        self.assertRegex(r.stderr, r"safehalf: process pid \d+, host \S+: crashed \(SIGSEGV\)")
        line = key_values(r.stdout)["line_bmm"]
        self.assertIn("safehalf:   at %s:%s in bmm;" % (PYSITE, line), r.stderr)

    def test_signal_handled_by_the_program(self):
        # A Python SIGABRT handler handles the signal; the program goes on
        # (another call site) and exits 0: it ended, it did not crash.
        r = self.run_app("--survive-abort")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("handled=SIGABRT\n", r.stdout)
        self.assertRegex(r.stderr, r"safehalf: process pid \d+, host \S+: ended normally; "
                                   r"survived SIGABRT \(handled by the program\)\n")
        name, = [n for n in os.listdir(self.dir) if n.endswith(".jsonl")]
        log = read_log(os.path.join(self.dir, name))
        evs = [x["ev"] for x in log]
        crash = evs.index("crash")
        self.assertEqual(evs.count("crash"), 1)
        self.assertEqual(evs[-1], "summary")
        later_site = [x for x in log[crash:] if x["ev"] == "site"]
        self.assertEqual([x["tid"] for x in later_site], [log[crash]["tid"]])
        out = self.report()
        self.assertRegex(out, r"ended normally; survived SIGABRT \(handled by the program\)")
        self.assertNotIn("crashed", out)
        doc = json.loads(self.report("--json"))
        proc, = doc["processes"]
        self.assertEqual((proc["state"], proc["signal"]), ("ended", None))
        self.assertEqual(proc["crashes"], [{"name": "SIGABRT", "line": crash + 1,
                                            "survived": True}])

    def test_sigkill_vanished_with_lower_bounds(self):
        # sync checks: every finding is in the log before its call returns
        r = self.run_app("--kill", "--calls", "3", options=["--check", "sync"])
        self.assertEqual(r.returncode, 137, r.stderr)
        self.assertRegex(r.stderr, r"safehalf: process pid \d+, host \S+: vanished without an "
                                   r"exit record")
        name, = [n for n in os.listdir(self.dir) if n.endswith(".jsonl")]
        evs = [x["ev"] for x in read_log(os.path.join(self.dir, name))]
        self.assertNotIn("summary", evs)
        self.assertNotIn("counts", evs)
        out = self.report()
        self.assertRegex(out, r"cublasGemmStridedBatchedEx\s+4x3x16224 b2\s+16F/16F/16F 32F\s+"
                              r">=3\s+0\s+>=3\s")


if __name__ == "__main__":
    unittest.main(verbosity=2)
