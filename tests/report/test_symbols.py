"""Native call sites turned into source lines: the ELF facts the report
reads (checked against readelf), addr2line's output parsed, and the report
of a real run of overflow_app (position-independent and not) naming the
line of overflow_app.c that made the call; a rebuilt file, --no-addr2line
and a PATH without addr2line leave object+offset."""
import json
import os
import re
import subprocess
import sys
import unittest

from reportlib import TempDirTest, app, emu_env, env_path, read_log, report, safehalf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts"))
from safehalf_report import symbols  # noqa: E402

SOURCE = os.path.normpath(os.path.join(env_path("SH_APPS_SRC"), "overflow_app.c"))


def line_of(text, path=SOURCE):
    """The number of the first line of path that holds text."""
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if text in line:
                return i
    raise AssertionError("%r not in %s" % (text, path))


# The strided batched GEMM that overflows, and the call of the function
# that makes it.
GEMM_LINE = line_of("return cublasGemmStridedBatchedEx(h, CUBLAS_OP_T")
with open(SOURCE) as _f:
    EAGER_LINE = [i for i, l in enumerate(_f, 1) if "TRY(gemm(h, " in l][-1]


def readelf(*args):
    return subprocess.run(["readelf"] + list(args), stdout=subprocess.PIPE,
                          universal_newlines=True, check=True).stdout


class ElfFacts(unittest.TestCase):
    def check(self, path):
        base, build_id = symbols.elf_facts(path)
        notes = readelf("-n", path)
        self.assertEqual(build_id, re.search(r"Build ID: ([0-9a-f]+)", notes).group(1))
        first_load = re.search(r"^\s*LOAD\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)", readelf("-lW", path),
                               re.MULTILINE)
        self.assertEqual(base, int(first_load.group(1), 16))
        return base

    def test_position_independent(self):
        self.assertEqual(self.check(app("overflow_app")), 0)

    def test_fixed_address(self):
        self.assertGreater(self.check(app("overflow_app_nopie")), 0)

    def test_not_elf(self):
        self.assertIsNone(symbols.elf_facts(SOURCE))
        self.assertIsNone(symbols.elf_facts("/nonexistent/libfoo.so"))


class Addr2lineOutput(unittest.TestCase):
    OUT = ("0x0000000000001234\n"
           "inner\n/src/a/../b/x.h:12 (discriminator 3)\n"
           "outer\n/src/b/y.c:40\n"
           "0x0000000000002000\n"
           "??\n??:0\n"
           "0x0000000000003000\n"
           "stripped_fn\n??:?\n")

    def test_groups(self):
        g = symbols.parse_addr2line(self.OUT)
        self.assertEqual(sorted(g), [0x1234, 0x2000, 0x3000])
        self.assertEqual(g[0x1234], [("inner", "/src/a/../b/x.h:12 (discriminator 3)"),
                                     ("outer", "/src/b/y.c:40")])

    def test_sources(self):
        g = symbols.parse_addr2line(self.OUT)
        self.assertEqual(symbols._source(g[0x1234]), {
            "file": "/src/b/x.h", "line": 12, "func": "inner", "inlined_into": "outer"})
        self.assertIsNone(symbols._source(g[0x2000]))
        self.assertEqual(symbols._source(g[0x3000]), {
            "file": None, "line": None, "func": "stripped_fn", "inlined_into": None})


class Resolved(TempDirTest):
    def run_app(self, name):
        r = safehalf(app(name), cwd=self.dir, env=emu_env(SAFEHALF_BACKTRACE="1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        logs = [n for n in os.listdir(self.dir) if n.endswith(".jsonl")]
        self.assertEqual(len(logs), 1, logs)
        return r, self.path(logs[0])

    def check_app(self, name):
        r, log = self.run_app(name)
        # The command's summary names the line already.
        self.assertRegex(r.stderr, r"safehalf:   at %s:%d in gemm \(%s\+0x[0-9a-f]+\); pid " % (
            re.escape(SOURCE), GEMM_LINE, re.escape(app(name))))
        site = [rec for rec in read_log(log) if rec["ev"] == "site"][0]
        _, build_id = symbols.elf_facts(app(name))
        self.assertEqual(site["caller"]["build_id"], build_id)
        rep = report("--json", log, cwd=self.dir)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertEqual(rep.stderr, "")
        doc = json.loads(rep.stdout)
        first = doc["first_nonfinite"]
        self.assertEqual(first["caller"]["source"], {
            "file": SOURCE, "line": GEMM_LINE, "func": "gemm", "inlined_into": None})
        # The backtrace goes on to the function that called gemm.
        frames = first["backtrace"]
        self.assertEqual(frames[0]["source"], first["caller"]["source"])
        self.assertEqual(frames[1]["source"]["file"], SOURCE)
        self.assertEqual(frames[1]["source"]["line"], EAGER_LINE)
        self.assertEqual(doc["sites"][0]["caller"]["source"]["line"], GEMM_LINE)
        text = report(log, cwd=self.dir).stdout
        self.assertIn("where:     %s:%d in gemm (%s+0x" % (SOURCE, GEMM_LINE, app(name)), text)
        self.assertIn("      at %s:%d in gemm (" % (SOURCE, GEMM_LINE), text)
        return log

    def test_position_independent(self):
        self.check_app("overflow_app")

    def test_fixed_address(self):
        self.check_app("overflow_app_nopie")

    def test_no_addr2line_option(self):
        _, log = self.run_app("overflow_app")
        doc = json.loads(report("--json", "--no-addr2line", log, cwd=self.dir).stdout)
        self.assertNotIn("source", doc["first_nonfinite"]["caller"])
        self.assertNotIn("source", json.dumps(doc))

    def test_rebuilt_file(self):
        _, log = self.run_app("overflow_app")
        _, build_id = symbols.elf_facts(app("overflow_app"))
        with open(log) as f:
            lines = f.read().replace(build_id, "00" + build_id)
        with open(log, "w") as f:
            f.write(lines)
        rep = report("--json", log, cwd=self.dir)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        doc = json.loads(rep.stdout)
        self.assertNotIn("source", doc["first_nonfinite"]["caller"])
        self.assertNotIn("source", doc["sites"][0]["caller"])
        self.assertIn("source", doc["first_nonfinite"]["backtrace"][-1])  # libc: unchanged
        self.assertIn("%s is not the file that ran (its build-id differs from the log's)" %
                      app("overflow_app"), rep.stderr)
        self.assertEqual(len(rep.stderr.splitlines()), 1, rep.stderr)

    def test_no_addr2line_on_path(self):
        _, log = self.run_app("overflow_app")
        bin_dir = self.path("bin")
        os.mkdir(bin_dir)
        os.symlink(sys.executable, os.path.join(bin_dir, "python3"))
        rep = report("--json", log, cwd=self.dir, env=dict(emu_env(), PATH=bin_dir))
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertNotIn('"source"', rep.stdout)
        self.assertEqual(rep.stderr.splitlines(), [
            "safehalf report: native call sites stay object+offset: addr2line (GNU binutils) "
            "is not on PATH"])

    def test_without_build_id_in_log(self):
        # Logs of earlier versions have none: the file is read as it is.
        _, log = self.run_app("overflow_app")
        with open(log) as f:
            lines = re.sub(r',"build_id":"[0-9a-f]+"', "", f.read())
        with open(log, "w") as f:
            f.write(lines)
        doc = json.loads(report("--json", log, cwd=self.dir).stdout)
        self.assertEqual(doc["first_nonfinite"]["caller"]["source"]["line"], GEMM_LINE)


if __name__ == "__main__":
    unittest.main(verbosity=2)
