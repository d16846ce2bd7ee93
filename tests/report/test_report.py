"""`safehalf report` on the hand-written logs in tests/report/logs/: a normal
run, three ranks of one job, a crash, a process killed without an exit
record, processes that survived a signal their own handler handled, two
processes sharing one file; the ways LOG arguments are given;
--json; --run; no log found."""
import json
import os
import re
import subprocess
import time
import unittest

from reportlib import (LOGS, SAFEHALF, VERSION, TempDirTest, read_log, report, report_json,
                       unexpected_stderr)


def row(text, *cells):
    """True if a line of text holds the cells in order, separated by blanks."""
    pattern = r"^\s*" + r"\s+".join(re.escape(str(c)) for c in cells) + r"\s*$"
    return re.search(pattern, text, re.MULTILINE) is not None


class NormalRun(unittest.TestCase):
    def test_text(self):
        r = report("normal")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(unexpected_stderr(r.stderr), [])
        out = r.stdout
        self.assertIn("safehalf report: 1 log, 1 process", out)
        self.assertIn("Run 20261122-101500-0a0b0c0d (safehalf 0.1.0)", out)
        self.assertIn("  command:   python3 train.py --fp16\n", out)
        self.assertIn("  hosts:     gpu-node-1\n", out)
        self.assertIn("check=all on_nonfinite=log check_inputs=yes max_records=10", out)
        self.assertTrue(row(out, "-", 4100, "gpu-node-1", "ended normally", 2,
                            "normal/train.jsonl"), out)
        # the first finding: the einsum, not the upcast GEMM
        self.assertIn("First non-finite output (of 2 findings in 1 process)", out)
        self.assertIn("call:      cublasGemmStridedBatchedEx #57, m=4 n=3 k=16224 batch=2\n", out)
        self.assertIn("types:     A/B/C CUDA_R_16F; compute CUBLAS_COMPUTE_32F\n", out)
        self.assertIn("found:     24 +Inf, 0 -Inf, 0 NaN in 24 elements; first at batch 0 row 0 "
                      "col 0", out)
        self.assertIn("action:    logged\n", out)
        self.assertIn("inputs:    created here: its inputs A and B were finite\n", out)
        self.assertIn("where:     /home/u/model.py:88 in MaskHead.einsum\n"
                      "             /home/u/model.py:60 in Block.forward\n"
                      "             /home/u/train.py:120 in step\n"
                      "  caller:    /usr/lib/libtorch_cuda.so+0x105678\n", out)
        self.assertIn("thread:    4100 (python3)\n", out)
        self.assertIn("log:       normal/train.jsonl, line 4\n", out)
        # call sites: the einsum first (it has findings), then the upcast GEMM
        self.assertTrue(row(out, "cublasGemmStridedBatchedEx", "4x3x16224 b2", "16F/16F/16F 32F",
                            30, 0, 2, 57, 1), out)
        self.assertTrue(row(out, "cublasGemmEx", "1024x1024x4096", "16F/16F/16F 16F->32F",
                            120, 120, 0, 1, 1), out)
        self.assertLess(out.index("4x3x16224 b2"), out.index("1024x1024x4096"))
        self.assertIn("at /home/u/model.py:42 in Block.forward (+1 outer frame)", out)
        # what the policy changed, from the summary record
        self.assertTrue(row(out, "cublasGemmEx", 120, 120, 120, 0), out)
        self.assertTrue(row(out, "cublasGemmStridedBatchedEx", 30, 0, 30, 2), out)
        self.assertTrue(row(out, "cublasCreate_v2", 1, 1, 0, 0), out)
        self.assertIn("lost_at_exit = 3: scans still running at exit", out)
        self.assertNotIn("skipped_pool_full", out)
        self.assertIn('SAFEHALF_MIN_K="x" is not valid', out)

    def test_json(self):
        doc, err = report_json(self, "normal/train.jsonl")
        self.assertEqual(unexpected_stderr(err), [])
        self.assertEqual(doc["logs"], [{"path": "normal/train.jsonl", "records": 8,
                                        "processes": 1}])
        run, = doc["runs"]
        self.assertEqual(run["run"], "20261122-101500-0a0b0c0d")
        self.assertEqual(run["argv"], [["python3", "train.py", "--fp16"]])
        self.assertEqual(run["policy"]["pystack"], 8)
        self.assertNotIn("log", run["policy"])
        proc, = doc["processes"]
        self.assertEqual((proc["pid"], proc["state"], proc["signal"], proc["nonfinite"]),
                         (4100, "ended", None, 2))
        first = doc["first_nonfinite"]
        self.assertEqual((first["api"], first["seq"], first["k"], first["site_id"]),
                         ("cublasGemmStridedBatchedEx", 57, 16224, 2))
        self.assertIs(first["inputs_finite"], True)
        self.assertEqual(first["site"][0], {"file": "/home/u/model.py", "line": 88,
                                            "func": "MaskHead.einsum"})
        self.assertEqual((first["time"], first["time_from"]), (1795300002.0005, "call_t"))
        self.assertEqual(first["site_action"], "pass")
        self.assertEqual(doc["nonfinite"], {"records": 2, "processes": 1})
        einsum, gemm = doc["sites"]
        self.assertEqual((einsum["calls"], einsum["upcasts"], einsum["nonfinite"],
                          einsum["first_seq"], einsum["first_nonfinite_seq"], einsum["exact"]),
                         (30, 0, 2, 57, 57, True))
        self.assertEqual((gemm["api"], gemm["calls"], gemm["upcasts"], gemm["compute"],
                          gemm["compute_used"], gemm["action"]),
                         ("cublasGemmEx", 120, 120, "CUBLAS_COMPUTE_16F", "CUBLAS_COMPUTE_32F",
                          "upcast"))
        eff = doc["policy_effect"]
        self.assertEqual(eff["apis"]["cublasGemmEx"],
                         {"calls": 120, "upcasts": 120, "checked": 120, "nonfinite": 0})
        self.assertEqual(list(eff["apis"]), ["cublasGemmEx", "cublasGemmStridedBatchedEx",
                                             "cublasCreate_v2"])
        self.assertEqual([(c["counter"], c["value"]) for c in eff["coverage"]],
                         [("lost_at_exit", 3)])
        self.assertEqual((eff["from_summary"], eff["from_site_counts"], eff["uncounted"]),
                         ([4100], [], []))
        self.assertEqual(doc["warnings"][0]["count"], 1)
        self.assertEqual(doc["messages"], [])


def when(t):
    """A time as the report prints it (local time, microseconds)."""
    seconds, micros = divmod(int(round(t * 1e6)), 1000000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) + ".%06d" % micros


class RanksOneHost(TempDirTest):
    """The same ranks all on one host: one clock, so no word of clocks; the
    earliest finding stands, received or not."""

    def test_one_clock(self):
        for rank in (0, 1, 2):
            with open(os.path.join(LOGS, "ranks", "rank%d.jsonl" % rank)) as f:
                text = f.read().replace('"host":"node-b"', '"host":"node-a"')
            with open(self.path("rank%d.jsonl" % rank), "w") as f:
                f.write(text)
        r = report(self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("First finding of each process", r.stdout)
        self.assertNotIn("clocks", r.stdout)
        self.assertNotIn("that is where it began", r.stdout)


class Ranks(unittest.TestCase):
    """Three ranks; rank 1's finding was written first (t) but rank 2's call
    was made first (call_t): rank 2's is the first."""

    def test_fixture_orders_differ(self):
        nf = {r: [x for x in read_log(os.path.join(LOGS, "ranks", "rank%d.jsonl" % r))
                  if x["ev"] == "nonfinite"][0] for r in (1, 2)}
        self.assertLess(nf[1]["t"], nf[2]["t"])
        self.assertLess(nf[2]["call_t"], nf[1]["call_t"])

    def test_text(self):
        r = report("ranks")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(unexpected_stderr(r.stderr), [])
        out = r.stdout
        self.assertIn("safehalf report: 3 logs, 3 processes", out)
        self.assertIn("Run job-42 (safehalf 0.1.0)", out)
        self.assertIn("  hosts:     node-a, node-b\n", out)
        self.assertIn("  processes: 3\n", out)
        for rank, host, findings in ((0, "node-a", 0), (1, "node-a", 1), (2, "node-b", 1)):
            self.assertTrue(row(out, rank, 7000 + rank, host, "ended normally", findings,
                                "ranks/rank%d.jsonl" % rank), out)
        self.assertIn("First non-finite output (of 2 findings in 2 processes)", out)
        self.assertIn("call:      cublasGemmEx #7, m=512 n=512 k=1024 batch=1\n", out)
        self.assertIn("compute CUBLAS_COMPUTE_16F asked, CUBLAS_COMPUTE_32F used", out)
        self.assertIn("policy:    upcast: rewritten to accumulate in FP32", out)
        self.assertIn("found:     3 +Inf, 2 -Inf, 7 NaN in 262144 elements; first at batch 0 "
                      "row 5 col 2; largest finite |x| 60000.5", out)
        self.assertIn("inputs:    received: its input A (3 Inf) already held Inf/NaN, produced by "
                      "an earlier op the shim cannot see, e.g. a normalization or softmax kernel",
                      out)
        self.assertIn("thread:    7102 (pt_autograd_0)\n", out)
        self.assertIn("process:   rank 2, pid 7002, host node-b\n", out)
        self.assertIn("log:       ranks/rank2.jsonl, line 3\n", out)
        # one site, merged over the three ranks
        self.assertTrue(row(out, "cublasGemmEx", "512x512x1024", "16F/16F/16F 16F->32F",
                            30, 30, 2, 3, 3), out)
        self.assertTrue(row(out, "cublasGemmEx", 30, 30, 30, 2), out)
        self.assertTrue(row(out, "cublasCreate_v2", 3, 3, 0, 0), out)

    def test_json(self):
        doc, _ = report_json(self, "ranks")
        first = doc["first_nonfinite"]
        self.assertEqual((first["rank"], first["pid"], first["seq"], first["host"]),
                         (2, 7002, 7, "node-b"))
        self.assertEqual((first["time"], first["time_from"]), (1795400010.3, "call_t"))
        self.assertIs(first["inputs_finite"], False)
        self.assertEqual(first["inputs"]["A"], {"inf": 3, "nan": 0})
        self.assertEqual(first["thread_name"], "pt_autograd_0")
        self.assertEqual(first["log"], "ranks/rank2.jsonl")
        self.assertEqual([p["rank"] for p in doc["processes"]], [0, 1, 2])
        site, = doc["sites"]
        self.assertEqual((site["calls"], site["upcasts"], site["nonfinite"], site["processes"],
                          site["ranks"], site["first_nonfinite_seq"]),
                         (30, 30, 2, 3, [0, 1, 2], 7))
        self.assertEqual(doc["nonfinite"], {"records": 2, "processes": 2})
        self.assertEqual(doc["policy_effect"]["apis"]["cublasGemmEx"]["calls"], 30)

    def test_first_by_process(self):
        """Rank 2's finding came first by node-b's clock but received its
        Inf; rank 1's, 100 ms later by node-a's clock, was created there:
        each process's first is listed, and the clocks' part is said."""
        out = report("ranks").stdout
        self.assertIn("First finding of each process (each host's own clock)", out)
        self.assertTrue(row(out, 2, 7002, "node-b", when(1795400010.3), "cublasGemmEx #7",
                            "received", "/w/train.py:42 in Attention.forward"), out)
        self.assertTrue(row(out, 1, 7001, "node-a", when(1795400010.4), "cublasGemmEx #9",
                            "created", "/w/train.py:42 in Attention.forward"), out)
        section = out[out.index("First finding of each process"):]
        self.assertLess(section.index("node-b"), section.index("node-a"), out)
        self.assertIn("Times on different hosts come from different clocks", out)
        self.assertIn("The earliest finding received its Inf/NaN, and rank 1, pid 7001, host "
                      "node-a created one: that is where it began if node-a's clock is more "
                      "than 100.000 ms ahead of node-b's.", out)
        doc, _ = report_json(self, "ranks")
        rows = doc["first_by_process"]
        self.assertEqual([(r["rank"], r["pid"], r["host"], r["seq"], r["inputs"],
                           r["inputs_finite"], r["findings"], r["time_from"]) for r in rows],
                         [(2, 7002, "node-b", 7, "received", False, 1, "call_t"),
                          (1, 7001, "node-a", 9, "created", True, 1, "call_t")])
        self.assertEqual(rows[0]["site"][0]["line"], 42)

    def test_log_arguments(self):
        """Files, a glob pattern, a directory: the same 3 processes; a file
        given twice is read once."""
        for args in (["ranks/rank0.jsonl", "ranks/rank1.jsonl", "ranks/rank2.jsonl"],
                     ["ranks/rank*.jsonl"], ["ranks"], ["ranks", "ranks/rank1.jsonl"],
                     [os.path.join(LOGS, "ranks")]):
            doc, _ = report_json(self, *args)
            self.assertEqual(sorted(p["pid"] for p in doc["processes"]), [7000, 7001, 7002],
                             args)
            self.assertEqual(doc["first_nonfinite"]["pid"], 7002, args)

    def test_run_option(self):
        doc, _ = report_json(self, "ranks", "crashed", "--run", "crash-run")
        self.assertEqual([p["pid"] for p in doc["processes"]], [5200])
        self.assertEqual([log["path"] for log in doc["logs"]], ["crashed/crashed.jsonl"])
        r = report("ranks", "--run", "no-such-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no log found (no process of run no-such-run in them)", r.stderr)


class InputsMeaning(unittest.TestCase):
    """The words for a finding's inputs name them as the record does: A and B
    of a GEMM, x, w, bias and z of cuDNN's fused convolution."""

    def setUp(self):
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "scripts"))
        from safehalf_report import analysis
        self.m = analysis.inputs_meaning

    def test_words(self):
        ok = {"inf": 0, "nan": 0}
        self.assertEqual(self.m({"inputs_finite": True, "inputs": {"A": ok, "B": ok}}),
                         "created here: its inputs A and B were finite")
        self.assertEqual(self.m({"inputs_finite": True,
                                 "inputs": {"x": ok, "w": ok, "bias": ok}}),
                         "created here: its inputs x, w and bias were finite")
        self.assertTrue(self.m({"inputs_finite": False, "inputs": {
            "x": ok, "w": {"inf": 0, "nan": 12}, "bias": {"inf": 2, "nan": 1}}}).startswith(
            "received: its inputs w (12 NaN) and bias (2 Inf, 1 NaN) already held Inf/NaN, "
            "produced by an earlier op"))
        self.assertEqual(self.m({"inputs_finite": None, "inputs": {"x": ok, "w": ok}}),
                         "unknown: its inputs x and w were finite, but another could not be "
                         "scanned (it shares the output's memory, or has a type the scan does "
                         "not read)")
        self.assertTrue(self.m({"inputs_finite": None, "inputs": {}}).startswith(
            "unknown: its inputs could not be scanned (they share"))
        # records without inputs (checks of inputs off), and older versions'
        self.assertEqual(self.m({"inputs_finite": None}),
                         "unknown: run with SAFEHALF_CHECK_INPUTS=1 to know")
        self.assertEqual(self.m({"inputs_finite": True}), "created here: its inputs were finite")
        self.assertEqual(self.m({"inputs_finite": False, "inputs": "odd"}),
                         "received: inputs already held Inf/NaN, produced by an earlier op the "
                         "shim cannot see, e.g. a normalization or softmax kernel")


class Shape(unittest.TestCase):
    """A grouped GEMM's finding is one group's, a cuBLASLt epilogue's is one
    of its outputs: the shape names it."""

    def test_group(self):
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "scripts"))
        from safehalf_report import text
        row = {"m": 4, "n": 3, "k": 16224, "batch": 1}
        self.assertEqual(text.shape(row), "m=4 n=3 k=16224 batch=1")
        row["group"] = 1
        self.assertEqual(text.shape(row), "m=4 n=3 k=16224 batch=1 group=1")
        row["group"] = 0
        self.assertEqual(text.shape(row), "m=4 n=3 k=16224 batch=1 group=0")
        del row["group"]
        row["output"] = "bias_grad"
        self.assertEqual(text.shape(row), "m=4 n=3 k=16224 batch=1 output=bias_grad")


class Crashed(unittest.TestCase):
    def test_text(self):
        r = report("crashed")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertTrue(row(out, "-", 5200, "box", "crashed (SIGSEGV)", 1,
                            "crashed/crashed.jsonl"), out)
        self.assertIn("call:      cublasHgemm #2, m=64 n=64 k=8192 batch=1\n", out)
        self.assertIn("found:     0 +Inf, 0 -Inf, 4096 NaN in 4096 elements", out)
        self.assertIn("inputs:    unknown: run with SAFEHALF_CHECK_INPUTS=1 to know\n", out)
        self.assertIn("where:     /opt/infer/bin/infer+0xa123 (run_layer) (native caller; "
                      "no Python call site)\n", out)
        self.assertIn("backtrace: /opt/infer/bin/infer+0xa123 (run_layer)\n"
                      "             /opt/infer/bin/infer+0xb456 (main)\n", out)
        self.assertTrue(row(out, "cublasHgemm", "64x64x8192", "16F/16F/16F 16F->32F",
                            3, 3, 1, 2, 1), out)
        self.assertTrue(row(out, "cublasHgemm", 3, 3, 3, 1), out)
        self.assertIn("pid 5200: no summary record; counted from its call-site counts", out)

    def test_json(self):
        doc, _ = report_json(self, "crashed/crashed.jsonl")
        proc, = doc["processes"]
        self.assertEqual((proc["state"], proc["signal"]), ("crashed", "SIGSEGV"))
        self.assertEqual(doc["first_nonfinite"]["backtrace"][1]["symbol"], "main")
        eff = doc["policy_effect"]
        self.assertEqual((eff["from_summary"], eff["from_site_counts"]), ([], [5200]))
        self.assertEqual(eff["apis"], {"cublasHgemm": {"calls": 3, "upcasts": 3, "checked": 3,
                                                       "nonfinite": 1}})


class Survived(TempDirTest):
    """Processes whose own handlers handled a fatal signal: a crash record is
    the end only when no later record of its thread, nor a summary, follows."""

    def test_text(self):
        r = report("survived")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(unexpected_stderr(r.stderr), [])
        out = r.stdout
        handled = "(handled by the program)"
        self.assertTrue(row(out, 0, 7100, "box", "ended normally; survived SIGABRT " + handled, 1,
                            "survived/handled.jsonl"), out)
        self.assertTrue(row(out, 1, 7200, "box", "crashed (SIGSEGV); survived SIGABRT " + handled,
                            1, "survived/then-crashed.jsonl"), out)
        self.assertTrue(row(out, 2, 7300, "box", "vanished without an exit record; survived "
                            "SIGFPE " + handled, 0, "survived/vanished.jsonl"), out)
        self.assertTrue(row(out, 3, 7400, "box", "crashed (SIGABRT, after SIGSEGV)", 0,
                            "survived/aborted-in-handler.jsonl"), out)
        self.assertIn("  survived: the program's own handler handled the signal and the process "
                      "went on", out)
        self.assertIn("  vanished: the log has neither a summary record nor a crash record it "
                      "did not survive: SIGKILL", out)
        # rank 2's counts are those written at its SIGFPE: lower bounds
        self.assertTrue(row(out, "cublasGemmEx", "16x16x64", "16F/16F/16F 32F", ">=24", 0, ">=2",
                            2, 4), out)

    def test_json(self):
        doc, _ = report_json(self, "survived")
        procs = {p["pid"]: p for p in doc["processes"]}
        got = {pid: (p["state"], p["signal"], [(c["name"], c["line"], c["survived"])
                                               for c in p["crashes"]])
               for pid, p in procs.items()}
        self.assertEqual(got, {
            7100: ("ended", None, [("SIGABRT", 4, True)]),
            7200: ("crashed", "SIGSEGV", [("SIGABRT", 4, True), ("SIGSEGV", 7, False)]),
            7300: ("vanished", None, [("SIGFPE", 4, True)]),
            7400: ("crashed", "SIGABRT", [("SIGSEGV", 4, False), ("SIGABRT", 6, False)]),
        })
        eff = doc["policy_effect"]
        self.assertEqual((eff["from_summary"], sorted(eff["from_site_counts"])),
                         ([7100], [7200, 7300, 7400]))

    def test_which_records_show_it_went_on(self):
        """After the crash record: another thread's call, site or sync
        finding proves nothing; the crashing thread's call, site or sync
        finding does; an async finding or counts (the crash handler writes
        them) never do. Four processes in one file."""
        def crash(pid, t):
            return {"ev": "crash", "t": t, "pid": pid, "tid": pid, "signal": 6,
                    "name": "SIGABRT", "code": 0, "sent": True}
        recs = []
        cases = {  # pid: (the records after the crash, by thread offset)
            601: [("call", 1), ("site", 1), ("nonfinite", 1, "sync"), ("nonfinite", 0, "async"),
                  ("counts", 0), ("warn", 0)],
            602: [("call", 0)],
            603: [("site", 0)],
            604: [("nonfinite", 0, "sync")],
        }
        for pid, after in cases.items():
            recs.append({"ev": "start", "t": 100.0, "pid": pid, "tid": pid, "version": VERSION,
                         "run": "s", "policy": {}})
            recs.append(crash(pid, 101.0))
            for t, item in enumerate(after):
                rec = {"ev": item[0], "t": 102.0 + t, "pid": pid, "tid": pid + item[1]}
                if item[0] == "nonfinite":
                    rec.update(api="cublasGemmEx", seq=2, check=item[2])
                elif item[0] == "site":
                    rec.update(id=1, api="cublasGemmEx")
                elif item[0] == "call":
                    rec.update(api="cublasGemmEx", seq=2)
                elif item[0] == "counts":
                    rec.update(sites=[])
                else:
                    rec.update(msg="x")
                recs.append(rec)
        with open(self.path("s.jsonl"), "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in recs))
        doc, _ = report_json(self, self.path("s.jsonl"))
        self.assertEqual({p["pid"]: (p["state"], [c["survived"] for c in p["crashes"]])
                          for p in doc["processes"]},
                         {601: ("crashed", [False]), 602: ("vanished", [True]),
                          603: ("vanished", [True]), 604: ("vanished", [True])})

    def test_processes_without_a_crash_record(self):
        doc, _ = report_json(self, "normal", "crashed", "killed")
        self.assertEqual({p["pid"]: p["crashes"] for p in doc["processes"]},
                         {4100: [], 5200: [{"name": "SIGSEGV", "line": 5, "survived": False}],
                          6300: []})


class Killed(unittest.TestCase):
    """Site records and findings, then nothing: no counts, summary or crash."""

    def test_text(self):
        r = report("killed")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertTrue(row(out, 0, 6300, "box", "vanished without an exit record", 2,
                            "killed/killed.jsonl"), out)
        self.assertIn("vanished: the log has neither a summary record nor a crash record it did "
                      "not survive: SIGKILL", out)
        self.assertIn("action:    saturated (inside a CUDA graph, replay 3)\n", out)
        self.assertIn("found:     12 +Inf, 0 -Inf, 0 NaN in 131072 elements; first at batch 0 "
                      "row 77 col 0", out)
        # calls are lower bounds, never 0
        self.assertTrue(row(out, "cublasGemmBatchedEx", "128x128x20000 b8", "16BF/16BF/16BF 32F",
                            ">=2", 0, ">=2", 4, 1), out)
        self.assertTrue(row(out, "cublasGemmEx", "32x32x32", "16F/16F/16F 32F_FAST_16F->32F",
                            ">=1", ">=1", "?", 5, 1), out)
        self.assertIn("pid 6300: no counts at all (vanished, or an older safehalf): not in "
                      "these totals", out)

    def test_json(self):
        doc, _ = report_json(self, "killed")
        self.assertEqual(doc["processes"][0]["state"], "vanished")
        batched, gemm = doc["sites"]
        self.assertEqual((batched["calls"], batched["nonfinite"], batched["exact"]), (2, 2, False))
        self.assertEqual((gemm["calls"], gemm["nonfinite"], gemm["exact"]), (1, 0, False))
        self.assertEqual(doc["policy_effect"]["uncounted"], [6300])
        self.assertEqual(doc["policy_effect"]["apis"], {})
        self.assertEqual((doc["first_nonfinite"]["captured"], doc["first_nonfinite"]["replay"]),
                         (True, 3))


class GraphReplayAfterEagerCall(TempDirTest):
    """A CUDA graph captured at the start (its findings' call_t is the
    capture's) and replayed every step; at a later step an eager call
    creates Inf, and the next replay receives it. The eager call is the
    first: the replay's call_t must not put it before."""

    def test_replay_ordered_by_its_record_time(self):
        base = {"pid": 500, "tid": 500, "m": 8, "n": 8, "k": 8, "batch": 1, "inf": 1,
                "pos_inf": 1, "neg_inf": 0, "nan": 0, "numel": 64}
        recs = [
            {"ev": "start", "t": 100.0, "pid": 500, "tid": 500, "version": VERSION,
             "run": "g", "policy": {}},
            dict(base, ev="nonfinite", t=900.001, call_t=900.0, seq=5000, api="cublasGemmEx",
                 captured=False, inputs_finite=True, inputs={"A": {"inf": 0, "nan": 0}}),
            dict(base, ev="nonfinite", t=900.5, call_t=101.0, seq=3, api="cublasLtMatmul",
                 captured=True, replay=800, inputs_finite=False,
                 inputs={"A": {"inf": 1, "nan": 0}}),
        ]
        with open(self.path("g.jsonl"), "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in recs))
        doc, _ = report_json(self, self.path("g.jsonl"))
        first = doc["first_nonfinite"]
        self.assertEqual((first["api"], first["seq"], first["time_from"]),
                         ("cublasGemmEx", 5000, "call_t"))
        self.assertEqual([s["api"] for s in doc["sites"]], ["cublasGemmEx", "cublasLtMatmul"])


class SharedFile(unittest.TestCase):
    """Two processes appending to one file; the last counts record wins."""

    def test_json(self):
        doc, _ = report_json(self, "shared")
        self.assertEqual(doc["logs"], [{"path": "shared/shared.jsonl", "records": 9,
                                        "processes": 2}])
        self.assertEqual([(p["pid"], p["state"]) for p in doc["processes"]],
                         [(800, "ended"), (801, "ended")])
        site, = doc["sites"]
        self.assertEqual((site["calls"], site["processes"], site["action"]), (12, 2, "observe"))
        self.assertIsNone(doc["first_nonfinite"])
        self.assertEqual(doc["runs"][0]["argv"], [["./worker", "a"], ["./worker", "b"]])

    def test_text(self):
        out = report("shared").stdout
        self.assertIn("No non-finite output was found", out)
        self.assertTrue(row(out, "cublasGemmEx", "8x8x8", "16F/16F/16F 16F", 12, 0, 0, 1, 2), out)
        self.assertIn("at /opt/worker+0x800 (gemm_step)", out)


class NoLog(unittest.TestCase):
    def test_nothing_matches(self):
        r = report("no-such-dir/*.jsonl", "no-such-file.jsonl")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.splitlines(), [
            "safehalf report: no log matches no-such-dir/*.jsonl",
            "safehalf report: no log matches no-such-file.jsonl",
            "safehalf report: error: no log found (no file matched)"])

    def test_log_from_a_pipe(self):
        """`safehalf report <(zcat train.jsonl.gz)`: the argument is a pipe."""
        with open(os.path.join(LOGS, "normal", "train.jsonl"), "rb") as f:
            data = f.read()
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        with os.fdopen(w, "wb") as out:  # the fixture fits in the pipe's buffer
            out.write(data)
        rep = subprocess.run([SAFEHALF, "report", "/dev/fd/%d" % r], pass_fds=(r,),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=60)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn("call:      cublasGemmStridedBatchedEx #57, m=4 n=3 k=16224 batch=2\n",
                      rep.stdout)

    def test_reader_gone(self):
        """`safehalf report --json LOG | head`: the reader closes the pipe
        before the report is written: no traceback, 141 as a shell says."""
        for fmt in (["--json"], []):
            p = subprocess.Popen([SAFEHALF, "report"] + fmt +
                                 [os.path.join(LOGS, "normal", "train.jsonl")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            p.stdout.close()  # before the program, still starting, writes
            err = p.stderr.read().decode()
            p.stderr.close()
            self.assertEqual(p.wait(timeout=60), 141, err)
            self.assertNotIn("Traceback", err)

    def test_all_empty(self):
        r = report("empty")
        self.assertEqual(r.returncode, 2)
        self.assertIn("safehalf report: empty/empty.jsonl: empty log (no record in it)", r.stderr)
        self.assertIn("safehalf report: error: no log found (every log is empty)", r.stderr)

    def test_no_argument(self):
        r = report()
        self.assertEqual(r.returncode, 2)
        self.assertIn("safehalf report: error: the following arguments are required: LOG",
                      r.stderr)

    def test_json_is_one_document(self):
        r = report("--json", "ranks", "crashed", "killed")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(sorted(doc), ["first_by_process", "first_nonfinite", "logs",
                                       "messages", "nonfinite", "policy_effect", "processes",
                                       "runs", "sites", "version", "warnings"])
        self.assertEqual(len(doc["processes"]), 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
