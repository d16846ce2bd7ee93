"""`safehalf report` on damaged logs (tests/report/logs/damaged/): each
problem is one message on stderr naming the file and the line, and the rest
is still reported.

  truncated.jsonl       the summary record cut short (no newline at the end)
  corrupt.jsonl         a corrupt line in the middle (a site record cut short)
  old-0.0.1.jsonl       written by safehalf 0.0.1: no run/rank/host, no site
                        records, findings without site_id/call_t/thread_name
  unknown-ev.jsonl      two records of a type this reader does not know
  missing-fields.jsonl  a finding without api and seq
  nostart.jsonl         no start record
"""
import contextlib
import copy
import glob
import io
import json
import os
import random
import re
import sys
import tracemalloc
import unittest

from reportlib import HERE, LOGS, VERSION, TempDirTest, clean_env, report, report_json

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "scripts"))
from safehalf_report import cli, logfiles, processes  # noqa: E402  (the package under test)

MESSAGES = [
    "safehalf report: damaged/corrupt.jsonl:2: corrupt line (not a JSON object); skipped",
    "safehalf report: damaged/missing-fields.jsonl:2: nonfinite record lacks api, seq; shown "
    "as unknown",
    "safehalf report: damaged/nostart.jsonl: log without a start record (its beginning is "
    "lost); reporting what it holds",
    "safehalf report: damaged/truncated.jsonl:5: last line cut short (the process was "
    "probably killed while writing it); ignored",
    'safehalf report: damaged/unknown-ev.jsonl:2: unknown record type "gpu_temp" (from a '
    'newer safehalf?); ignored',
    "safehalf report: damaged/old-0.0.1.jsonl:1: written by safehalf 0.0.1, this is %s: "
    "reading what it can, fields it lacks are shown as unknown" % VERSION,
]


def stderr_lines(stderr):
    """stderr without the version note the 0.1.0 fixtures get if the project
    version moved on."""
    return [l for l in stderr.splitlines() if "written by safehalf 0.1.0" not in l]


class AllDamaged(unittest.TestCase):
    def test_messages_and_the_rest(self):
        r = report("damaged")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(stderr_lines(r.stderr)), sorted(MESSAGES))
        out = r.stdout
        self.assertIn("safehalf report: 6 logs, 6 processes", out)
        for pid, state in ((9100, "vanished without an exit record"), (9200, "ended normally"),
                           (9300, "ended normally"), (9400, "ended normally"),
                           (9500, "ended normally"),
                           (9600, "ended normally; log without a start record")):
            self.assertRegex(out, r"\n  -\s+%d\s+\S+\s+%s\s+\d+\s+damaged/"
                             % (pid, re.escape(state)))
        # the finding of the truncated log is still the first one
        self.assertIn("First non-finite output (of 7 findings in 6 processes)", out)
        self.assertIn("call:      cublasGemmEx #5, m=16 n=16 k=70000 batch=1\n", out)
        self.assertIn("log:       damaged/truncated.jsonl, line 3\n", out)
        self.assertIn("Run without a run id (safehalf 0.0.1)", out)
        self.assertIn("records_suppressed = 3: findings past SAFEHALF_MAX_RECORDS", out)

    def test_json(self):
        doc, err = report_json(self, "damaged")
        self.assertEqual(len(doc["messages"]), len(stderr_lines(err)) +
                         (1 if VERSION != "0.1.0" else 0))
        where = {(m["file"], m["line"]) for m in doc["messages"]}
        self.assertIn(("damaged/corrupt.jsonl", 2), where)
        self.assertIn(("damaged/truncated.jsonl", 5), where)
        self.assertIn(("damaged/nostart.jsonl", None), where)
        procs = {p["pid"]: p for p in doc["processes"]}
        self.assertEqual(procs[9100]["state"], "vanished")  # its summary was the cut line
        self.assertEqual(procs[9300]["version"], "0.0.1")
        self.assertIs(procs[9600]["has_start"], False)
        self.assertEqual(doc["first_nonfinite"]["pid"], 9100)
        self.assertEqual(doc["nonfinite"], {"records": 7, "processes": 6})
        # 9100 has counts but no summary: counted from its sites
        self.assertEqual(doc["policy_effect"]["from_site_counts"], [9100])


class OneByOne(unittest.TestCase):
    def test_truncated(self):
        doc, err = report_json(self, "damaged/truncated.jsonl")
        self.assertEqual(stderr_lines(err), [MESSAGES[3]])
        self.assertEqual((doc["first_nonfinite"]["seq"], doc["first_nonfinite"]["api"]),
                         (5, "cublasGemmEx"))
        site, = doc["sites"]
        self.assertEqual((site["calls"], site["nonfinite"], site["exact"]), (4, 1, True))

    def test_corrupt_middle_line(self):
        doc, err = report_json(self, "damaged/corrupt.jsonl")
        self.assertEqual(stderr_lines(err), [MESSAGES[0]])
        self.assertEqual(doc["processes"][0]["state"], "ended")
        self.assertEqual(doc["first_nonfinite"]["seq"], 6)
        self.assertEqual(doc["policy_effect"]["apis"]["cublasGemmEx"]["calls"], 6)

    def test_old_version(self):
        r = report("damaged/old-0.0.1.jsonl")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.splitlines(), [MESSAGES[5]])
        out = r.stdout
        self.assertIn("call:      cublasGemmStridedBatchedEx #3, m=4 n=3 k=16224 batch=2\n", out)
        self.assertIn("inputs:    unknown: run with SAFEHALF_CHECK_INPUTS=1 to know\n", out)
        self.assertIn("where:     /opt/old+0x185d (native caller; no Python call site)\n", out)
        self.assertIn("thread:    9300\n", out)
        self.assertIn("(of the record; the call was a little earlier)", out)
        self.assertRegex(out, r"cublasGemmStridedBatchedEx\s+4x3x16224 b2\s+16F/16F/16F 32F\s+"
                              r">=2\s+\?\s+>=2\s+\?\s+1\n")
        self.assertRegex(out, r"cublasGemmStridedBatchedEx\s+5\s+0\s+5\s+5\n")
        doc, _ = report_json(self, "damaged/old-0.0.1.jsonl")
        first = doc["first_nonfinite"]
        self.assertEqual((first["time_from"], first["site"], first["thread_name"], first["rank"]),
                         ("t", None, None, None))
        self.assertEqual(doc["runs"][0]["run"], None)

    def test_unknown_record_type_once(self):
        r = report("damaged/unknown-ev.jsonl")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(stderr_lines(r.stderr), [MESSAGES[4]])
        self.assertIn("call:      cublasGemmEx #7, m=16 n=16 k=70000 batch=1\n", r.stdout)

    def test_missing_fields(self):
        r = report("damaged/missing-fields.jsonl")
        self.assertEqual(stderr_lines(r.stderr), [MESSAGES[1]])
        self.assertIn("call:      ? #?, m=16 n=16 k=70000 batch=1\n", r.stdout)
        self.assertIn("found:     256 +Inf, 0 -Inf, 0 NaN in 256 elements", r.stdout)

    def test_no_start_record(self):
        doc, err = report_json(self, "damaged/nostart.jsonl")
        self.assertEqual(stderr_lines(err), [MESSAGES[2]])
        self.assertEqual(doc["runs"], [])
        self.assertEqual(doc["processes"][0]["pid"], 9600)
        self.assertEqual(doc["policy_effect"]["apis"]["cublasGemmEx"]["calls"], 8)


class OddWarnings(TempDirTest):
    """warn/error records whose msg is a list or an object (a damaged log,
    or a newer shim's structured message): listed, not a traceback."""

    def test_msg_not_a_string(self):
        recs = [{"ev": "start", "t": 1, "pid": 1, "tid": 1, "version": VERSION, "policy": {}},
                {"ev": "warn", "t": 2, "pid": 1, "tid": 1, "msg": [1, "a"]},
                {"ev": "error", "t": 3, "pid": 1, "tid": 1, "msg": {"a": [None]}}]
        log = self.path("w.jsonl")
        with open(log, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in recs))
        doc, _ = report_json(self, log)
        self.assertEqual([w["msg"] for w in doc["warnings"]], ['[1, "a"]', '{"a": [null]}'])
        self.assertEqual(report(log).returncode, 0)

    def test_characters_stdout_cannot_encode(self):
        """A lone surrogate escaped in a record, and a non-ASCII path with
        an ASCII stdout: the text report escapes them."""
        recs = [{"ev": "start", "t": 1, "pid": 1, "tid": 1, "version": VERSION, "policy": {}},
                {"ev": "warn", "t": 2, "pid": 1, "tid": 1, "msg": "bad \ud800 byte"},
                {"ev": "nonfinite", "t": 3, "pid": 1, "tid": 1, "api": "cublasGemmEx",
                 "seq": 1, "site": [{"file": "/home/\u00e9l\u00e8ve/train.py", "line": 3,
                                     "func": "f"}]}]
        log = self.path("s.jsonl")
        with open(log, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in recs))
        for encoding in ("utf-8", "ascii"):
            r = report(log, env=clean_env(PYTHONIOENCODING=encoding))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("bad \\ud800 byte", r.stdout)
            self.assertIn("train.py:3 in f", r.stdout)


class LargeLog(TempDirTest):
    """A trace-level log: 50,000 call records (17 MB) around one finding.
    Reading it keeps what the report needs, not every line or record."""

    def test_call_records_are_not_kept(self):
        call = {"ev": "call", "pid": 1, "tid": 1, "api": "cublasGemmEx", "status": 0,
                "m": 1024, "n": 1024, "k": 4096, "batch": 1, "atype": "CUDA_R_16F",
                "btype": "CUDA_R_16F", "ctype": "CUDA_R_16F", "compute": "CUBLAS_COMPUTE_16F",
                "compute_used": "CUBLAS_COMPUTE_32F", "pointer_mode": "host",
                "action": "upcast", "pad": "x" * 100}
        log = self.path("trace.jsonl")
        with open(log, "w") as f:
            f.write(json.dumps({"ev": "start", "t": 1, "pid": 1, "tid": 1, "version": VERSION,
                                "policy": {}}) + "\n")
            for seq in range(1, 50001):
                f.write(json.dumps(dict(call, t=1 + seq * 1e-5, seq=seq)) + "\n")
            f.write(json.dumps({"ev": "nonfinite", "t": 3, "pid": 1, "tid": 2,
                                "api": "cublasGemmEx", "seq": 50000}) + "\n")
        messages = logfiles.Messages()
        tracemalloc.start()
        try:
            found, logs = processes.load([log], messages)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        self.assertEqual(logs[0]["records"], 50002)
        self.assertEqual(len(found[0].nonfinite), 1)
        self.assertLess(peak, 4 << 20, "reading a 17 MB log peaked at %d bytes" % peak)


class Mutations(TempDirTest):
    """Each value in each record of the fixtures, nested ones included,
    replaced by values of other JSON types: the report still comes out, in
    text and in JSON (the package is called in-process, for speed)."""

    ODD = [None, "x", -1, 2.5, True, [], [1, "a"], {}, {"a": [None]}]

    def test_report_survives_odd_values(self):
        rnd = random.Random(20261122)
        fixtures = sorted(glob.glob(os.path.join(LOGS, "*", "*.jsonl")))
        self.assertGreaterEqual(len(fixtures), 10)
        # and two ranks with findings in one file: the first finding of each
        # process is reported only when there are two
        fixtures.append([os.path.join(LOGS, "ranks", "rank%d.jsonl" % r) for r in (1, 2)])
        tried = 0
        for paths in fixtures:
            records = []
            for path in paths if isinstance(paths, list) else [paths]:
                with open(path) as f:
                    records += [json.loads(l) for l in f if l.strip() and l.endswith("\n")
                                and self.is_json(l)]
            for index, rec in enumerate(records):
                for where in self.paths(rec):
                    for odd in rnd.sample(self.ODD, 2):
                        self.check(records, index, where, odd)
                        tried += 1
        self.assertGreater(tried, 1000)

    @staticmethod
    def is_json(line):
        try:
            json.loads(line)
            return True
        except ValueError:
            return False

    def paths(self, value, prefix=()):
        """Paths to every value below the top ("ev" left alone)."""
        items = value.items() if isinstance(value, dict) else \
            enumerate(value) if isinstance(value, list) else ()
        for key, child in items:
            if prefix == () and key == "ev":
                continue
            yield prefix + (key,)
            if len(prefix) < 3:
                yield from self.paths(child, prefix + (key,))

    def check(self, records, index, where, odd):
        mutated = copy.deepcopy(records)
        target = mutated[index]
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = odd
        log = self.path("m.jsonl")
        with open(log, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in mutated))
        for extra in ([], ["--json"]):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = cli.main(["report", log] + extra, version=VERSION, shim_lib=None)
            self.assertEqual(status, 0, "%s=%r in record %d: %s" % (where, odd, index,
                                                                     err.getvalue()))
            if extra:
                json.loads(out.getvalue())


if __name__ == "__main__":
    unittest.main(verbosity=2)
