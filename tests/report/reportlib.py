"""Helpers shared by the report tests: the paths meson passes, and running
the built `safehalf` command.

Environment (set by tests/report/meson.build):
  SH_SAFEHALF   the built command, build/scripts/safehalf
  SH_VERSION    the project version it reports
  SH_LIB        build/shim/libsafehalf.so
  SH_EMU_DIR    the emulated CUDA libraries (LD_LIBRARY_PATH for the apps)
  SH_APPS_DIR   the built test programs (overflow_app, ...)
  SH_APPS_SRC   tests/apps in the source tree (pysite_app.py)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LOGS = os.path.join(HERE, "logs")


def env_path(name):
    value = os.environ.get(name)
    if not value:
        sys.exit("%s is not set: run these tests through meson test (suite report)" % name)
    return value


SAFEHALF = env_path("SH_SAFEHALF")
VERSION = env_path("SH_VERSION")


def clean_env(**extra):
    """This process's environment without LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH
    and SAFEHALF_* (as the integration harness does), plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SAFEHALF_")
           and k not in ("LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH")}
    env.update(extra)
    return env


def emu_env(**extra):
    return clean_env(LD_LIBRARY_PATH=env_path("SH_EMU_DIR"), **extra)


def app(name):
    return os.path.join(env_path("SH_APPS_DIR"), name)


def run(args, cwd=LOGS, env=None, timeout=120):
    """Runs a command; returns the CompletedProcess (text stdout, stderr)."""
    return subprocess.run(args, cwd=cwd, env=env if env is not None else clean_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout)


def safehalf(*args, **kw):
    return run([SAFEHALF] + list(args), **kw)


def report(*args, **kw):
    return safehalf("report", *args, **kw)


def report_json(testcase, *args, **kw):
    """The --json document of a report that must succeed, and its stderr."""
    r = report("--json", *args, **kw)
    testcase.assertEqual(r.returncode, 0, r.stderr)
    return json.loads(r.stdout), r.stderr


def read_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def version_note_lines(stderr):
    return [l for l in stderr.splitlines() if "written by safehalf" in l]


def unexpected_stderr(stderr):
    """stderr lines other than the note a version other than 0.1.0 gives the
    fixtures (they were written as 0.1.0 logs)."""
    lines = stderr.splitlines()
    if VERSION != "0.1.0":
        lines = [l for l in lines if "written by safehalf 0.1.0" not in l]
    return lines


class TempDirTest(unittest.TestCase):
    """A fresh working directory per test, removed afterwards."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="safehalf-report-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def logs(self, pattern_prefix="safehalf-"):
        return sorted(n for n in os.listdir(self.dir)
                      if n.startswith(pattern_prefix) and n.endswith(".jsonl"))
