"""`safehalf [options] [--] CMD ARGS...` running the emulated test programs
(tests/apps) with the built shim: exit statuses, the summary, the logs of
this run only, the environment the program gets, bad options."""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import unittest

from reportlib import (SAFEHALF, VERSION, TempDirTest, app, clean_env, emu_env, env_path,
                       read_log, run, safehalf)

SUMMARY = "safehalf: ---- summary of run "


def summary(stderr):
    """The summary block's lines, without the "safehalf: " prefix."""
    lines = stderr.splitlines()
    starts = [i for i, l in enumerate(lines) if l.startswith(SUMMARY)]
    assert starts, "no summary in:\n" + stderr
    return [l[len("safehalf: "):] for l in lines[starts[-1]:] if l.startswith("safehalf: ")]


def run_id(stderr):
    return re.search(r"---- summary of run (\S+) ----", stderr).group(1)


class OverflowRuns(TempDirTest):
    def sh(self, *args, **env):
        return safehalf(*args, cwd=self.dir, env=emu_env(**env))

    def stale_log(self, name, start_extra):
        """A log of another run left in the working directory."""
        start = {"ev": "start", "t": time.time() + 3600, "pid": 99999, "tid": 99999,
                 "version": VERSION, "argv": ["stale"], "policy": {"check": "all"}}
        start.update(start_extra)
        nf = {"ev": "nonfinite", "t": time.time(), "pid": 99999, "tid": 99999,
              "api": "cublasHgemm", "seq": 1, "m": 1, "n": 1, "k": 1, "batch": 1}
        with open(self.path(name), "w") as f:
            for rec in (start, nf):
                f.write(json.dumps(rec) + "\n")

    def test_summary_and_this_runs_logs_only(self):
        self.stale_log("safehalf-99999.jsonl", {"run": "an-older-run"})
        self.stale_log("safehalf-99998.jsonl", {"t": time.time() - 3600})  # older shim, no run
        r = self.sh("--", app("overflow_app"), "--calls", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("status=0\n", r.stdout)   # the program's own output is untouched
        self.assertIn("inf=24\n", r.stdout)
        new = [n for n in self.logs() if n not in ("safehalf-99999.jsonl", "safehalf-99998.jsonl")]
        self.assertEqual(len(new), 1, self.logs())
        pid = int(re.match(r"safehalf-(\d+)\.jsonl", new[0]).group(1))
        start = read_log(self.path(new[0]))[0]
        self.assertEqual(start["run"], run_id(r.stderr))
        s = summary(r.stderr)
        self.assertEqual(s[1], "the command exited with status 0")
        self.assertEqual(s[2], "log: " + new[0])
        self.assertEqual(s[3], "process pid %d, host %s: ended normally" % (pid, start["host"]))
        self.assertIn("intercepted calls:", s)
        self.assertTrue(any(re.fullmatch(r"  cublasGemmStridedBatchedEx +3 calls, 0 upcast, "
                                         r"3 checked, 3 non-finite", l) for l in s), s)
        self.assertTrue(any(re.fullmatch(r"  cublasCreate_v2 +1 call, 1 upcast, 0 checked, "
                                         r"0 non-finite", l) for l in s), s)
        first = [l for l in s if l.startswith("first Inf/NaN")]
        self.assertEqual(first, ["first Inf/NaN (of 3 findings): cublasGemmStridedBatchedEx #2 "
                                 "m=4 n=3 k=16224 batch=2 (A/B/C CUDA_R_16F; compute "
                                 "CUBLAS_COMPUTE_32F): 24 +Inf, 0 -Inf, 0 NaN of 24"])
        at = s[s.index(first[0]) + 1]
        # addr2line named the line of the source (tests/report/test_symbols.py)
        self.assertRegex(at, r"^  at %s:\d+ in gemm \(%s\+0x[0-9a-f]+\); pid %d, host \S+; "
                             r"inputs: unknown; action: logged$" % (
                                 re.escape(os.path.join(env_path("SH_APPS_SRC"), "overflow_app.c")),
                                 re.escape(app("overflow_app")), pid))
        self.assertNotIn("99999", r.stderr)
        self.assertNotIn("99998", r.stderr)
        self.assertNotIn("cublasHgemm", r.stderr)
        # the report command it prints works and reads this run only
        command = s[-1]
        self.assertTrue(command.startswith("full report: "), s)
        argv = shlex.split(command[len("full report: "):])
        self.assertEqual(argv[1:], ["report", new[0]])
        rep = run([SAFEHALF] + argv[1:], cwd=self.dir)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn("safehalf report: 1 log, 1 process", rep.stdout)
        self.assertIn("call:      cublasGemmStridedBatchedEx #2, m=4 n=3 k=16224 batch=2",
                      rep.stdout)

    def test_program_that_changes_directory(self):
        # As Hydra does before the training starts: the log (relative by
        # default) still lands where safehalf was run, and the summary finds it.
        os.mkdir(self.path("outputs"))
        r = self.sh("sh", "-c", 'cd outputs && exec "$0" "$@"', app("overflow_app"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.listdir(self.path("outputs")), [])
        new = self.logs()
        self.assertEqual(len(new), 1, new)
        s = summary(r.stderr)
        self.assertEqual(s[2], "log: " + new[0])
        self.assertTrue(any(l.startswith("first Inf/NaN") for l in s), s)

    def test_exit_status_of_the_program(self):
        r = self.sh(app("overflow_app"), "--no-such-option")
        self.assertEqual(r.returncode, 64, r.stderr)
        s = summary(r.stderr)
        self.assertEqual(s[1], "the command exited with status 64")
        self.assertTrue(s[2].startswith("no log of this run matches safehalf-%p.jsonl"), s)
        self.assertEqual(self.logs(), [])

    def test_abort_gives_128_plus_6(self):
        r = self.sh("--on-nonfinite", "abort", app("overflow_app"))
        self.assertEqual(r.returncode, 134, r.stderr)
        s = summary(r.stderr)
        self.assertEqual(s[1], "the command was killed by SIGABRT (exit status 128 + 6 = 134)")
        self.assertRegex(s[3], r"^process pid \d+, host \S+: crashed \(SIGABRT\)$")
        self.assertTrue(any(l.endswith("action: aborted") for l in s), s)
        self.assertTrue(any("no summary record; GEMMs counted from its call-site counts" in l
                            for l in s), s)
        start = read_log(self.path(self.logs()[0]))[0]
        self.assertEqual(start["policy"]["on_nonfinite"], "abort")

    def test_crash(self):
        r = self.sh(app("overflow_app"), "--crash")
        self.assertEqual(r.returncode, 128 + signal.SIGSEGV, r.stderr)
        s = summary(r.stderr)
        self.assertEqual(s[1], "the command was killed by SIGSEGV (exit status 128 + 11 = 139)")
        self.assertRegex(s[3], r": crashed \(SIGSEGV\)$")
        self.assertTrue(any(l.startswith("first Inf/NaN (of 1 finding): "
                                         "cublasGemmStridedBatchedEx #2") for l in s), s)

    def test_sigkill_leaves_a_vanished_process(self):
        """The program is SIGKILLed after its first finding is in the log."""
        p = subprocess.Popen([SAFEHALF, app("overflow_app"), "--calls", "1000000"], cwd=self.dir,
                             env=emu_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             universal_newlines=True)
        self.addCleanup(p.kill)
        pid = self.wait_for_finding(p)
        os.kill(pid, signal.SIGKILL)
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 128 + signal.SIGKILL, err)
        s = summary(err)
        self.assertEqual(s[1], "the command was killed by SIGKILL (exit status 128 + 9 = 137)")
        self.assertRegex(s[3], r"^process pid %d, host \S+: vanished without an exit record$"
                         % pid)
        self.assertIn("no intercepted call counted", s)
        self.assertTrue(any(l.startswith("first Inf/NaN") for l in s), s)

    def wait_for_finding(self, p, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.assertIsNone(p.poll(), "the program ended before it was killed")
            for name in self.logs():
                with open(self.path(name)) as f:
                    if '"ev":"nonfinite"' in f.read():
                        return int(re.match(r"safehalf-(\d+)", name).group(1))
            time.sleep(0.05)
        self.fail("no finding in the log after %d s" % timeout)

    def test_policy_options_reach_the_shim(self):
        r = self.sh("--check", "every:2", "--on-nonfinite", "saturate",
                    app("overflow_app"), "--calls", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        log = read_log(self.path(self.logs()[0]))
        self.assertEqual((log[0]["policy"]["check"], log[0]["policy"]["on_nonfinite"]),
                         ("every:2", "saturate"))
        self.assertEqual(sum(1 for x in log if x["ev"] == "nonfinite"), 2)
        self.assertIn("out0=65504\n", r.stdout)   # calls 1 and 3 checked, and saturated
        self.assertTrue(any(re.fullmatch(r"  cublasGemmStridedBatchedEx +3 calls, 0 upcast, "
                                         r"2 checked, 2 non-finite", l)
                            for l in summary(r.stderr)), r.stderr)

    def test_check_off(self):
        r = self.sh("--check", "off", app("overflow_app"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no Inf/NaN found in the checked outputs", summary(r.stderr))

    def test_findings_counted_but_none_logged(self):
        """SAFEHALF_MAX_RECORDS=0: the counts say 3 non-finite; neither the
        summary nor the report may say none was found."""
        r = self.sh(app("overflow_app"), "--calls", "3", SAFEHALF_MAX_RECORDS="0")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = summary(r.stderr)
        self.assertNotIn("no Inf/NaN found in the checked outputs", s)
        self.assertTrue(any(l.startswith("3 Inf/NaN outputs counted, none logged: ") for l in s),
                        s)
        rep = run([SAFEHALF, "report", self.logs()[0]], cwd=self.dir)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertNotIn("No non-finite output was found", rep.stdout)
        self.assertIn("No non-finite output was logged, but 3 non-finite outputs were counted",
                      rep.stdout)

    def test_other_safehalf_variables_pass_through(self):
        r = self.sh(app("overflow_app"), "--calls", "3", SAFEHALF_CHECK_INPUTS="1",
                    SAFEHALF_MAX_RECORDS="1")
        self.assertEqual(r.returncode, 0, r.stderr)
        log = read_log(self.path(self.logs()[0]))
        self.assertEqual(sum(1 for x in log if x["ev"] == "nonfinite"), 1)
        self.assertTrue(any(l.endswith("inputs: created here; action: logged")
                            for l in summary(r.stderr)), r.stderr)

    def test_log_option_with_patterns(self):
        r = self.sh("--log", "out/run-%h-%r-%p.jsonl", app("overflow_app"), RANK="5")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = os.listdir(self.path("out"))
        self.assertEqual(len(names), 1)
        self.assertRegex(names[0], r"^run-.+-5-\d+\.jsonl$")
        s = summary(r.stderr)
        self.assertEqual(s[2], "log: out/" + names[0])
        self.assertRegex(s[3], r"^process rank 5, pid \d+, host \S+: ended normally$")

    def test_three_ranks_first_finding_on_rank_2(self):
        # As torchrun starts them: one process per rank, RANK in each one's
        # environment, one log per rank through %r. Ranks 0 and 1 stay finite;
        # rank 2 makes the overflowing einsum.
        launcher = ("RANK=0 %(a)s --value 1 & RANK=1 %(a)s --value 1 & "
                    "RANK=2 %(a)s --calls 2 & wait" % {"a": app("overflow_app")})
        r = self.sh("--log", "out/rank-%r.jsonl", "sh", "-c", launcher)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(self.path("out"))),
                         ["rank-0.jsonl", "rank-1.jsonl", "rank-2.jsonl"])
        rep = safehalf("report", "--json", self.path("out"), cwd=self.dir)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        doc = json.loads(rep.stdout)
        self.assertEqual([p["rank"] for p in doc["processes"]], [0, 1, 2])
        self.assertEqual([p["state"] for p in doc["processes"]], ["ended"] * 3)
        self.assertEqual([p["nonfinite"] for p in doc["processes"]], [0, 0, 2])
        first = doc["first_nonfinite"]
        self.assertEqual(first["rank"], 2)
        self.assertEqual((first["api"], first["k"], first["inf"]),
                         ("cublasGemmStridedBatchedEx", 16224, 24))
        text = safehalf("report", self.path("out"), cwd=self.dir)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("3 processes", text.stdout)

    def test_log_in_environment_and_run_id_of_the_user(self):
        r = self.sh(app("overflow_app"), SAFEHALF_LOG="mine-%p.jsonl", SAFEHALF_RUN_ID="my-run-7")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = self.logs("mine-")
        self.assertEqual(len(names), 1)
        self.assertEqual(read_log(self.path(names[0]))[0]["run"], "my-run-7")
        self.assertEqual(run_id(r.stderr), "my-run-7")
        self.assertEqual(self.logs(), [])

    def test_log_named_in_the_config_file(self):
        with open(self.path("safehalf.conf"), "w") as f:
            f.write("# the log goes where the config says\nSAFEHALF_LOG = 'cfg-%p.jsonl'\n")
        r = self.sh(app("overflow_app"), SAFEHALF_CONFIG=self.path("safehalf.conf"))
        self.assertEqual(r.returncode, 0, r.stderr)
        names = self.logs("cfg-")
        self.assertEqual(len(names), 1)
        self.assertEqual(summary(r.stderr)[2], "log: " + names[0])
        self.assertEqual(self.logs(), [])

    def test_logs_without_run_ids_are_chosen_by_start_time(self):
        """Logs of a shim that writes no run id: those begun during this run."""
        self.stale_log("safehalf-99998.jsonl", {"t": time.time() - 3600})
        writer = ("import json, os, time\n"
                  "def log(name, **start):\n"
                  "    start.update(ev='start', t=time.time(), pid=os.getpid(),\n"
                  "                 version='%s', policy={})\n"
                  "    with open(name, 'w') as f:\n"
                  "        f.write(json.dumps(start) + '\\n')\n"
                  "log('safehalf-%%d.jsonl' %% os.getpid())\n"
                  "log('safehalf-1.jsonl', run='another-run')\n" % VERSION)
        r = safehalf(sys.executable, "-c", writer, cwd=self.dir, env=clean_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        s = summary(r.stderr)
        mine = [n for n in self.logs() if n not in ("safehalf-99998.jsonl", "safehalf-1.jsonl")]
        self.assertEqual(s[2], "log: " + mine[0])
        self.assertRegex(s[3], r"^process pid \d+: vanished without an exit record$")

    def test_log_to_stderr(self):
        r = self.sh("--log", "stderr", app("overflow_app"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('{"ev":"start"', r.stderr)
        self.assertEqual(summary(r.stderr)[2], "the log went to stderr (SAFEHALF_LOG=stderr): "
                                               "there is no log file to summarize")
        self.assertEqual(os.listdir(self.dir), [])

    def test_log_to_a_stream_that_is_not_a_file(self):
        """--log /dev/stderr (a pipe here, a terminal often): the summary
        must not try to read it back, which waited forever."""
        r = safehalf("--log", "/dev/stderr", app("overflow_app"), cwd=self.dir, env=emu_env(),
                     timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('{"ev":"start"', r.stderr)
        self.assertEqual(summary(r.stderr)[2], "the log went to /dev/stderr, which is not a "
                                               "regular file: there is no log file to summarize")


class NativeCudnnGraph(TempDirTest):
    def test_unchecked_outputs_counted_in_the_report(self):
        # cuDNN putting a plan into the program's CUDA graph itself: the
        # output overflows where no scan can follow, and the report says
        # what went unchecked instead of nothing.
        r = safehalf(app("dnn_app"), "--op", "graph-matmul", "--native-graph", "--value", "20",
                     "--bvalue", "20", cwd=self.dir, env=emu_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("inf=1", r.stdout)
        self.assertIn("safehalf: no Inf/NaN found in the checked outputs\n"
                      "safehalf: not everything was checked: skipped_native_graph = 1 (the full "
                      "report says what each means)\n", r.stderr)
        logs = [n for n in os.listdir(self.dir) if n.endswith(".jsonl")]
        rep = run([SAFEHALF, "report"] + logs, cwd=self.dir)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        self.assertIn("  skipped_native_graph = 1: cuDNN plans that cuDNN itself put into the "
                      "program's CUDA graphs (cudnnBackendPopulateCudaGraph/UpdateCudaGraph, "
                      "cudnn-frontend's populate_cuda_graph): their outputs were not checked",
                      rep.stdout)


class SignalRuns(TempDirTest):
    """tests/apps/signal_app.c: fatal-signal handlers of the program's own,
    which handle a signal and go on (a crash record that is not the end)."""

    def sh(self, *steps):
        r = safehalf(app("signal_app"), *steps, cwd=self.dir, env=emu_env())
        name, = self.logs()
        log = read_log(self.path(name))
        rep = run([SAFEHALF, "report", "--json", name], cwd=self.dir)
        self.assertEqual(rep.returncode, 0, rep.stderr)
        proc, = json.loads(rep.stdout)["processes"]
        return r, log, proc

    def crashes(self, log):
        """(name, line) of each crash record of the log."""
        return [(x["name"], i + 1) for i, x in enumerate(log) if x["ev"] == "crash"]

    def test_signal_the_program_handles(self):
        r, log, proc = self.sh("return:ABRT", "gemm", "raise:ABRT", "gemm2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("handled_ABRT=1\n", r.stdout)
        s = summary(r.stderr)
        self.assertEqual(s[1], "the command exited with status 0")
        self.assertRegex(s[3], r"^process pid \d+, host \S+: ended normally; survived SIGABRT "
                               r"\(handled by the program\)$")
        evs = [x["ev"] for x in log]
        self.assertLess(evs.index("crash"), evs.index("summary"))
        self.assertEqual((proc["state"], proc["signal"]), ("ended", None))
        (name, line), = self.crashes(log)
        self.assertEqual(proc["crashes"], [{"name": "SIGABRT", "line": line, "survived": True}])
        rep = run([SAFEHALF, "report", self.logs()[0]], cwd=self.dir)
        self.assertIn("ended normally; survived SIGABRT (handled by the program)", rep.stdout)
        self.assertIn("survived: ", rep.stdout)
        self.assertNotIn("crashed", rep.stdout)

    def test_fatal_signal_after_a_handled_one(self):
        r, log, proc = self.sh("return:ABRT", "gemm", "raise:ABRT", "gemm2", "segv")
        self.assertEqual(r.returncode, 128 + signal.SIGSEGV, r.stderr)
        s = summary(r.stderr)
        self.assertRegex(s[3], r": crashed \(SIGSEGV\); survived SIGABRT \(handled by the "
                               r"program\)$")
        self.assertEqual((proc["state"], proc["signal"]), ("crashed", "SIGSEGV"))
        (abrt, line1), (segv, line2) = self.crashes(log)
        self.assertEqual(proc["crashes"], [{"name": "SIGABRT", "line": line1, "survived": True},
                                           {"name": "SIGSEGV", "line": line2, "survived": False}])

    def test_abort_through_a_handler_that_returns(self):
        # abort(3) ends the process once the handler returns: a crash.
        r, log, proc = self.sh("return:ABRT", "gemm", "abort")
        self.assertEqual(r.returncode, 128 + signal.SIGABRT, r.stderr)
        self.assertRegex(summary(r.stderr)[3], r": crashed \(SIGABRT\)$")
        self.assertEqual((proc["state"], proc["signal"]), ("crashed", "SIGABRT"))
        self.assertEqual([c["survived"] for c in proc["crashes"]], [False])


class Environment(TempDirTest):
    SHOW = 'printf "LD_PRELOAD=%s\\n" "$LD_PRELOAD"; cat /proc/$$/maps'

    def preload_of(self, r):
        return re.search(r"^LD_PRELOAD=(.*)$", r.stdout, re.MULTILINE).group(1)

    def test_user_preload_is_kept_after_the_shim(self):
        lib = env_path("SH_LIB")
        r = safehalf("sh", "-c", self.SHOW, cwd=self.dir, env=clean_env(LD_PRELOAD="libm.so.6"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.preload_of(r), lib + ":libm.so.6")
        self.assertIn(lib, r.stdout)          # both are loaded into the program
        self.assertIn("/libm.so.6", r.stdout)

    def test_shim_not_added_twice(self):
        lib = env_path("SH_LIB")
        r = safehalf("sh", "-c", self.SHOW, cwd=self.dir,
                     env=clean_env(LD_PRELOAD="libm.so.6 " + lib))
        self.assertEqual(self.preload_of(r), lib + ":libm.so.6")

    def test_safehalf_lib_overrides(self):
        copy = self.path("libsafehalf-copy.so")
        shutil.copy(env_path("SH_LIB"), copy)
        r = safehalf("sh", "-c", self.SHOW, cwd=self.dir, env=clean_env(SAFEHALF_LIB=copy))
        self.assertEqual(self.preload_of(r), copy)
        self.assertIn(copy, r.stdout)
        self.assertNotIn(env_path("SH_LIB"), r.stdout)
        r = safehalf(app("overflow_app"), cwd=self.dir, env=emu_env(SAFEHALF_LIB=copy))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(any(l.startswith("first Inf/NaN") for l in summary(r.stderr)))

    def test_follow_dlsym(self):
        """--follow-dlsym: the audit module beside the shim first in LD_AUDIT
        (the user's auditors kept after it, ours not twice), and the GEMM a
        program looks up with dlsym is upcast and summarized."""
        audit = os.path.join(os.path.dirname(env_path("SH_LIB")), "libsafehalf-audit.so")
        show = 'printf "LD_AUDIT=%s\\n" "$LD_AUDIT"'
        r = safehalf("sh", "-c", show, cwd=self.dir, env=clean_env())
        self.assertEqual(re.search(r"^LD_AUDIT=(.*)$", r.stdout, re.M).group(1), "")
        r = safehalf("--follow-dlsym", "sh", "-c", show, cwd=self.dir,
                     env=clean_env(LD_AUDIT="/x/libsafehalf-audit.so:/y/libother.so"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(re.search(r"^LD_AUDIT=(.*)$", r.stdout, re.M).group(1),
                         audit + ":/y/libother.so")

        plain = safehalf(app("dlsym_app"), cwd=self.dir, env=emu_env())
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertIn("c0=2048\n", plain.stdout)
        self.assertIn("is reached with --follow-dlsym", plain.stderr)
        r = safehalf("--follow-dlsym", app("dlsym_app"), cwd=self.dir, env=emu_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("c0=4096\n", r.stdout)
        lines = summary(r.stderr)
        self.assertTrue(any(re.search(r"cublasGemmEx\b.*\b1\b", l) for l in lines),
                        r.stderr)
        self.assertNotIn("--follow-dlsym", r.stderr)

        copy = self.path("libsafehalf.so")
        shutil.copy(env_path("SH_LIB"), copy)
        r = safehalf("--follow-dlsym", "true", cwd=self.dir, env=clean_env(SAFEHALF_LIB=copy))
        self.assertEqual((r.returncode, r.stderr),
                         (2, "safehalf: error: --follow-dlsym: libsafehalf-audit.so is not "
                             "beside the shim (%s)\n" % self.dir))

    def test_missing_library(self):
        r = safehalf("true", cwd=self.dir,
                     env=clean_env(SAFEHALF_LIB="/nonexistent/libsafehalf.so"))
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "safehalf: error: SAFEHALF_LIB=/nonexistent/libsafehalf.so: "
                                   "no such file\n")

    def test_command_not_found_or_not_executable(self):
        r = safehalf("no-such-command-xyz", cwd=self.dir)
        self.assertEqual((r.returncode, r.stderr),
                         (127, "safehalf: error: no-such-command-xyz: command not found\n"))
        r = safehalf("./missing", cwd=self.dir)
        self.assertEqual((r.returncode, r.stderr),
                         (127, "safehalf: error: ./missing: no such file\n"))
        with open(self.path("plain"), "w") as f:
            f.write("echo hi\n")
        r = safehalf("./plain", cwd=self.dir)
        self.assertEqual((r.returncode, r.stderr),
                         (126, "safehalf: error: ./plain: permission denied (not an executable "
                               "file)\n"))

    def test_a_program_called_report_after_double_dash(self):
        script = self.path("report")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho report-program \"$@\"\nexit 3\n")
        os.chmod(script, 0o755)
        env = clean_env(PATH=self.dir + os.pathsep + os.environ.get("PATH", ""))
        r = safehalf("--", "report", "x", cwd=self.dir, env=env)
        self.assertEqual((r.returncode, r.stdout), (3, "report-program x\n"), r.stderr)


class BadOptions(unittest.TestCase):
    def one_line(self, *args):
        r = safehalf(*args)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        return r.stderr.strip()

    def test_check(self):
        for bad in ("every:0", "sometimes", "every:x"):
            self.assertEqual(self.one_line("--check", bad, "true"),
                             "safehalf: error: argument --check: invalid value '%s' (accepted: "
                             "off, all, every:N with N >= 1, sync)" % bad)

    def test_on_nonfinite(self):
        self.assertEqual(self.one_line("--on-nonfinite=explode", "true"),
                         "safehalf: error: argument --on-nonfinite: invalid value 'explode' "
                         "(accepted: log, saturate, abort)")

    def test_missing_value_unknown_option_no_command(self):
        self.assertIn("argument --check: expected one argument", self.one_line("--check"))
        self.assertIn("unrecognized arguments: --chek", self.one_line("--chek", "all", "true"))
        self.assertIn("no command given", self.one_line("--check", "all"))

    def test_good_values_case_insensitive(self):
        r = safehalf("--check", "EVERY:3", "--on-nonfinite", "Abort", "true")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_help_and_version(self):
        r = safehalf("--help")
        self.assertEqual(r.returncode, 0)
        for text in ("--check MODE", "--on-nonfinite ACTION", "--log PATH", "SAFEHALF_LIB",
                     "SAFEHALF_RUN_ID", "128 + N", "safehalf report LOG..."):
            self.assertIn(text, r.stdout)
        r = safehalf("--version")
        self.assertEqual((r.returncode, r.stdout), (0, "safehalf %s\n" % VERSION))


if __name__ == "__main__":
    unittest.main(verbosity=2)
