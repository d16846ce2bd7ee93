"""scripts/gpu_suite.py, the GPU suite's runner, on the emulated libraries
(--emu): it must run every program without and with the shim, read their
figures and the shim's logs, and write them to Markdown and JSON. The
emulation's numbers are exact, so the figures it reads are checked here;
a GPU run then only changes which libraries answer."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from reportlib import env_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITE = os.path.join(ROOT, "scripts", "gpu_suite.py")


def pick(rows, **want):
    found = [r for r in rows if all(r.get(k) == v for k, v in want.items())]
    assert len(found) == 1, (want, rows)
    return found[0]


class EmulatedSuite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        build = os.path.dirname(os.path.dirname(env_path("SH_LIB")))
        cls.tmp = tempfile.mkdtemp(prefix="safehalf-gpu-suite-test-")
        cls.md_path = os.path.join(cls.tmp, "suite.md")
        cls.json_path = os.path.join(cls.tmp, "suite.json")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEHALF_")}
        cls.proc = subprocess.run(
            [sys.executable, SUITE, "--build", build, "--emu", "--quick", "--only",
             "env,numerics,perf,torch", "--out", cls.md_path, "--json", cls.json_path,
             "--commit", "abc123"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env,
            timeout=600)
        with open(cls.json_path) as f:
            cls.doc = json.load(f)
        with open(cls.md_path) as f:
            cls.md = f.read()
        cls.fig = cls.doc["figures"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_run_succeeded(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr[-3000:])
        self.assertIn("gpu-suite: %d runs, 0 failed, 0 findings not as expected" % len(self.doc["runs"]),
                      self.proc.stderr)
        self.assertEqual((self.doc["failed"], self.doc["not_as_expected"]), (0, 0))
        self.assertIn("\n\n%d runs, 0 failed, 0 with warnings of the shim; 0 findings not as expected "
                      "(rows marked NO).\n"
                      % len(self.doc["runs"]), self.md)
        self.assertGreater(len(self.doc["runs"]), 50)
        for r in self.doc["runs"]:
            self.assertEqual(r["rc"], 0, r)

    def test_marked_emulated(self):
        self.assertIn("EMULATED", self.md.splitlines()[0])
        self.assertIn("| repository commit | abc123 |", self.md)
        self.assertIn("tests/emu/libcublas.so.13", self.fig["env"]["cublas (apps)"])
        # cuDNN's too, from a program that loads it, with cudnnGetVersion's answer
        self.assertIn("tests/emu/libcudnn.so.9, version 9", self.fig["env"]["cudnn (apps)"])
        self.assertIn("LD_PRELOAD=libsafehalf.so build/tests/apps/dnn_app --op fwd", self.md)

    def test_fp16_accumulation_figures(self):
        g = pick(self.fig["gemm_fp16_accumulation"], entry="cublasGemmEx", data="ones", k=4096)
        self.assertEqual(g["without"]["values"]["c0"], "2048")
        self.assertEqual(g["with"]["values"]["c0"], "4096")
        self.assertEqual(g["with"]["summary"]["cublasGemmEx"]["upcasts"], 1)
        self.assertIn("| cublasGemmEx | ones | 4096 | 4096 | 2048 | 0 | 5.00e-01 | 4096 | 0 | "
                      "0.00e+00 | upcast: cublasGemmEx |", self.md)
        # 65536 ones: FP32 accumulation gets the true sum, which FP16 cannot hold.
        g = pick(self.fig["gemm_fp16_accumulation"], entry="cublasGemmEx", data="ones", k=65536)
        self.assertEqual(g["without"]["values"]["c0"], "2048")
        self.assertEqual(g["with"]["values"]["c0"], "inf")
        self.assertEqual(g["with"]["nonfinite_records"], 1)
        g = pick(self.fig["gemm_fp16_accumulation"], entry="cublasGemmEx", data="random", k=65536)
        self.assertGreater(float(g["without"]["values"]["max_rel_err"]), 0.01)
        self.assertLess(float(g["with"]["values"]["max_rel_err"]), 1e-3)

    def test_splitk_reductions_cudnn_lt(self):
        for entry in ("cublasGemmEx", "cublasSgemmEx"):
            s = pick(self.fig["splitk"], entry=entry, k=4096)
            self.assertEqual((s["without"]["values"]["c0"], s["with"]["values"]["c0"]), ("1", "1.75"))
        h = pick(self.fig["reductions"], op="dot host result")
        self.assertTrue(h["as_expected"])
        self.assertEqual(h["with"]["nonfinite_records"], 1)
        self.assertIn("nonfinite records: 1, check `host`: **as expected**.", self.md)
        d = pick(self.fig["reductions"], op="dot")
        self.assertEqual((d["without"]["values"]["result"], d["with"]["values"]["result"]),
                         ("2048", "4096"))
        lt = pick(self.fig["cublaslt"], compute="16F", k=4096, algo="null", extra=[])
        self.assertEqual((lt["without"]["values"]["d0"], lt["with"]["values"]["d0"]), ("1024", "2048"))
        lt = pick(self.fig["cublaslt"], compute="16F", k=4096, algo="null",
                  extra=["--pointer-mode", "device", "--fresh-thread"])
        self.assertEqual((lt["without"]["values"]["d0"], lt["with"]["values"]["d0"]), ("1024", "2048"))
        for m in ("2", "16"):
            lt = pick(self.fig["cublaslt"], compute="32F", k=16384, extra=["--misalign", m])
            self.assertEqual(lt["with"]["values"]["matmul_status"], "0", m)
            self.assertEqual(lt["with"]["values"]["d0"], "8192", m)
        for op in ("fwd", "fwd-bias-act", "bwd-filter", "graph-conv"):
            c = pick(self.fig["cudnn"], op=op)
            self.assertEqual((c["without"]["values"]["out0"], c["with"]["values"]["out0"]),
                             ("2048", "4096"), op)

    def test_inputs_named(self):
        cases = {c["case"]: c for c in self.fig["inputs"]}
        self.assertEqual(len(cases), 20)
        for c in cases.values():
            self.assertTrue(c["as_expected"], c)
        bias = cases["cuBLASLt, Inf bias per batch member"]
        self.assertEqual(bias["inputs"]["bias"], {"inf": 16, "nan": 0})
        self.assertIs(bias["inputs_finite"], False)
        self.assertIsNone(cases["cuBLASLt, Inf in C, D is C, beta 1"]["inputs_finite"])
        self.assertNotIn("C", cases["cuBLASLt, Inf in C, D is C, beta 1"]["inputs"])
        self.assertEqual(cases["cuBLASLt, Inf in C apart from D, beta 1"]["inputs"]["C"]["inf"], 64)
        self.assertIn("| cuBLASLt, Inf in C, D is C, beta 1 | null | null |", self.md)
        self.assertNotIn("**NO**", self.md)
        self.assertEqual(cases["cuDNN graph convolution, Inf in x"]["inputs"]["x"]["inf"], 4096 * 4)
        fused = cases["cuDNN fused conv + bias + ReLU graph, Inf bias"]["inputs"]
        self.assertEqual(fused, {"x": {"inf": 0, "nan": 0}, "w": {"inf": 0, "nan": 0},
                                 "b": {"inf": 2, "nan": 0}})
        sdpa = cases["cuDNN attention (SDPA_FWD operation), Inf in q"]["inputs"]
        self.assertEqual(sdpa["q"], {"inf": 64 * 2 * 16, "nan": 0})
        var = cases["cuDNN BatchNorm inference, NaN running variance"]["inputs"]
        self.assertEqual(var["estimatedVariance"], {"inf": 0, "nan": 2})
        self.assertEqual(var["x"], {"inf": 0, "nan": 0})
        neg = cases["cuDNN BatchNorm inference, negative running variance"]
        self.assertIs(neg["inputs_finite"], True)
        self.assertEqual(neg["run"]["values"]["nan"], "16")
        bwd = cases["cuDNN BatchNorm backward, Inf in dy"]["inputs"]
        self.assertEqual(bwd["dy"], {"inf": 2, "nan": 0})
        grouped = cases["cuBLAS grouped GEMM, group 1 overflows"]["run"]
        self.assertEqual(grouped["values"]["inf"], "12")
        self.assertEqual(grouped["summary"]["cublasGemmGroupedBatchedEx"]["checked"], 2)

    def test_epilogue_outputs(self):
        cases = {c["case"]: c for c in self.fig["epilogue_outputs"]}
        self.assertEqual(len(cases), 4)
        for c in cases.values():
            self.assertTrue(c["as_expected"], c)
        bgradb = cases["BGRADB, sum over k = 4096 x 20"]["record"]
        self.assertEqual((bgradb["output"], bgradb["numel"]), ("bias_grad", 8))
        self.assertEqual(bgradb["inputs"], {"B": {"inf": 0, "nan": 0}})
        self.assertEqual(cases["GELU_AUX, 16224 x 16.7"]["record"]["numel"], 64)

    def test_dlsym_lookups(self):
        runs = {c["case"]: c["run"] for c in self.fig["dlsym"]}
        plain, preload = runs["without the shim"], runs["LD_PRELOAD only"]
        audit = runs["LD_PRELOAD + LD_AUDIT (--follow-dlsym)"]
        self.assertEqual((plain["values"]["c0"], preload["values"]["c0"], audit["values"]["c0"]),
                         ("2048", "2048", "4096"))
        self.assertEqual(preload["values"]["gemm_in_safehalf"], "0")
        self.assertEqual(preload["summary"], {})
        self.assertEqual(audit["values"]["in_safehalf_cudnnBackendExecute"], "1")
        self.assertEqual(audit["summary"]["cublasGemmEx"]["upcasts"], 1)
        self.assertTrue(audit["command"].startswith(
            "LD_AUDIT=libsafehalf-audit.so LD_PRELOAD=libsafehalf.so "), audit["command"])

    def test_overflow_saturate(self):
        runs = {r["command"]: r for r in self.fig["overflow"]}
        sat = [r for c, r in runs.items() if "saturate" in c][0]
        self.assertEqual((sat["values"]["inf"], sat["values"]["maxfinite"]), ("0", "65504"))
        self.assertEqual(self.md.count("| 24 | 0 | 1 | cublasGemmStridedBatchedEx | yes |"), 3)
        self.assertIn("| `SAFEHALF_CHECK=sync`, another thread capturing | 0 (other thread's capture 0) | 24 |",
                      self.md)
        self.assertIn("| `SAFEHALF_ON_NONFINITE=saturate` | 0 | 0 | 65504 | 1 | cublasGemmStridedBatchedEx "
                      "| yes |", self.md)
        self.assertIn("| without the shim | 0 | 24 | 0 | - | - | yes |", self.md)
        plain = [r for c, r in runs.items() if "LD_PRELOAD" not in c][0]
        self.assertEqual(plain["values"]["inf"], "24")
        self.assertIsNone(plain["summary"])

    def test_gpu_only_sections_skipped(self):
        self.assertNotIn("torch_einsum", self.fig)
        self.assertNotIn("scan_bandwidth", self.fig)
        self.assertEqual(len(self.fig["gemm_speed"]), 5)
        for g in self.fig["gemm_speed"]:
            self.assertEqual(g["run"]["values"]["status"], "0")
            self.assertIn("tflops_median", g["run"]["values"])

    def test_bad_section(self):
        p = subprocess.run([sys.executable, SUITE, "--build", "x", "--only", "numerics,gpu"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown section(s): gpu", p.stderr)


def state_once_ended(pid):
    """A process's state letter once it has had 5 s to end: Z or X if it
    did (its pipes close before it has quite ended), else what it is."""
    state, deadline = "?", time.monotonic() + 5
    while state not in "ZX" and time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                state = f.read().split(") ")[1][0]
        except FileNotFoundError:
            state = "X"
        time.sleep(0.01)
    return state


class TimeLimit(unittest.TestCase):
    """--time-limit: a program is killed when the limit comes, later ones are
    recorded as not run, and both count as failures in the file."""

    def make_suite(self, time_limit=None):
        """The suite module, and a Suite on the emulated build's perf section."""
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        import gpu_suite
        args = gpu_suite.argparse.Namespace(build="build", out=None, json=None, only="perf",
                                            emu=True, quick=False, commit=None, command=None,
                                            app_libs=None, time_limit=time_limit)
        suite = gpu_suite.Suite(args)
        self.addCleanup(shutil.rmtree, suite.logroot, True)
        return gpu_suite, suite

    def test_limit(self):
        _, suite = self.make_suite(2)
        t0 = time.monotonic()
        quick = suite.run("quick", [sys.executable, "-c", "print('x=1')"])
        slow = suite.run("slow", [sys.executable, "-c", "import sys, time; "
                                  "sys.stderr.write('waiting for the GPU\\n'); time.sleep(60)"])
        late = suite.run("late", [sys.executable, "-c", "print('x=2')"])
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual((quick.rc, quick.kv), (0, {"x": "1"}))
        self.assertEqual(slow.rc, "timeout")
        self.assertRegex(slow.err, r"^waiting for the GPU\nkilled after [12] s$")
        self.assertEqual((late.rc, late.kv), ("not run", {}))
        self.assertIn("time limit", late.err)
        self.assertEqual(suite.failed, 2)
        suite.footer([quick, slow, late])
        md = "\n".join(suite.md)
        self.assertIn("exit timeout", md)
        self.assertIn("exit not run", md)

    def test_timeout_ends_the_program_group(self):
        """A program past its time is ended with its children: one that left
        a child holding its pipes, one whose child ignores SIGTERM, and one
        whose child left the group (setsid) and holds the pipes do not hold
        the suite past the limit, and the children in the group are gone."""
        _, suite = self.make_suite()
        suite.GRACE = 1
        parent = ("import os, signal, subprocess, sys, time\n"
                  "c = subprocess.Popen([sys.executable, '-c', %r])\n"
                  "print('child=%%d' %% c.pid, flush=True)\n"
                  "sys.stderr.write('started\\n'); sys.stderr.flush()\n"
                  "time.sleep(60)\n")
        sleeper = "import time; time.sleep(60)"
        ignorer = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
        leaver = "import os, time; os.setsid(); time.sleep(60)"
        children = []
        for name, child, in_group in (("sleeper", sleeper, True), ("ignorer", ignorer, True),
                                      ("leaver", leaver, False)):
            t0 = time.monotonic()
            r = suite.run(name, [sys.executable, "-c", parent % child], timeout=2)
            took = time.monotonic() - t0
            self.assertEqual(r.rc, "timeout", name)
            self.assertLess(took, 8, name)
            self.assertEqual(r.err, "started\nkilled after 2 s", name)
            pid = int(r.kv["child"])
            children.append(pid)
            if in_group:
                self.assertIn(state_once_ended(pid), "ZX", name)
        os.kill(children[2], signal.SIGKILL)
        self.assertEqual(suite.failed, 3)

    def test_stopped_suite_takes_the_program_group(self):
        """SIGTERM to the suite while a program runs: the program and its
        children end with it, and the suite's Stopped goes on up."""
        gpu_suite, suite = self.make_suite()
        old = signal.signal(signal.SIGTERM, gpu_suite.stop)
        self.addCleanup(signal.signal, signal.SIGTERM, old)
        tmp = tempfile.mkdtemp(prefix="safehalf-gpu-suite-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        pidfile = os.path.join(tmp, "child")
        parent = ("import subprocess, sys, time\n"
                  "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                  "open(%r, 'w').write(str(c.pid))\n"
                  "time.sleep(60)\n" % pidfile)
        killer = subprocess.Popen([sys.executable, "-c", "import os, sys, time\n"
                                   "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
                                   "time.sleep(0.2); os.kill(int(sys.argv[2]), 15)",
                                   pidfile, str(os.getpid())])
        self.addCleanup(killer.wait)
        t0 = time.monotonic()
        with self.assertRaises(gpu_suite.Stopped):
            suite.run("stopped", [sys.executable, "-c", parent])
        self.assertLess(time.monotonic() - t0, 20)
        with open(pidfile) as f:
            pid = int(f.read())
        state = state_once_ended(pid)
        if state not in "ZX":
            os.kill(pid, signal.SIGKILL)
        self.assertIn(state, "ZX")

    def test_sigterm_keeps_what_was_measured(self):
        """SIGTERM (a lent machine's call that reached its length, through
        timeout(1)): the suite ends at once and still writes both files,
        with the runs made so far, and says where it stopped."""
        build = os.path.dirname(os.path.dirname(env_path("SH_LIB")))
        tmp = tempfile.mkdtemp(prefix="safehalf-gpu-suite-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        md, js = os.path.join(tmp, "s.md"), os.path.join(tmp, "s.json")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEHALF_")}
        p = subprocess.Popen([sys.executable, SUITE, "--build", build, "--emu", "--only", "numerics,perf",
                              "--out", md, "--json", js], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, env=env)
        # Wait for the first few runs, then stop it in the middle of numerics.
        seen = 0
        while seen < 5:
            line = p.stderr.readline()
            self.assertTrue(line, "the suite ended before it was stopped")
            seen += line.startswith("gpu-suite: gemm ")
        t0 = time.monotonic()
        p.terminate()
        err = p.stderr.read()
        rc = p.wait(timeout=60)
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(rc, 1, err[-2000:])
        self.assertIn("gpu-suite: stopped (SIGTERM) in section numerics", err)
        with open(md) as f:
            text = f.read()
        self.assertIn("**The suite was stopped (SIGTERM) in section numerics", text)
        self.assertNotIn("## 3. Performance", text)
        with open(js) as f:
            doc = json.load(f)
        self.assertGreaterEqual(len(doc["runs"]), 4)

    def test_shim_not_loaded(self):
        """A shim the dynamic loader could not load (it says so and goes on):
        the run is a failure, not the shim's figures."""
        _, suite = self.make_suite()
        suite.lib = os.path.join(suite.logroot, "libsafehalf.so")
        suite.audit_lib = os.path.join(suite.logroot, "libsafehalf-audit.so")
        hello = [sys.executable, "-c", "print('x=1')"]
        plain = suite.run("plain", hello)
        shim = suite.run("shim", hello, shim=True)
        audit = suite.run("audit", hello, audit=True)
        self.assertEqual(plain.rc, 0)
        self.assertEqual((shim.rc, shim.kv), ("libsafehalf.so not loaded (exit 0)", {"x": "1"}))
        self.assertEqual(audit.rc, "libsafehalf-audit.so not loaded (exit 0)")
        self.assertEqual(suite.failed, 2)

    def test_bad_limit(self):
        p = subprocess.run([os.path.join(ROOT, "scripts", "gpu-suite"), "--time-limit", "9m"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--time-limit takes whole seconds, not '9m'", p.stderr)


class Wrapper(unittest.TestCase):
    """scripts/gpu-suite's own steps, on a made-up machine: a toolkit
    without cuBLAS and cuDNN, whose python3 has them as CUDA 13's pip
    wheels lay them out (nvidia/cu13/, nvidia/cudnn/), and a ninja that
    only stands in for the build (the build folder is configured already,
    so meson is not run)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="safehalf-gpu-suite-wrapper-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        t = self.tmp
        for d in ("cuda/bin", "cuda/include", "cuda/lib64", "bin", "build",
                  "site1/nvidia/cuda_runtime/include", "site2/nvidia/cu13/include",
                  "site2/nvidia/cu13/lib", "site2/nvidia/cudnn/include", "site2/nvidia/cudnn/lib",
                  "site2/nvidia/cudnn/extra/include"):
            os.makedirs(os.path.join(t, d))
        for f in ("cuda/include/cuda_runtime.h", "site1/nvidia/cuda_runtime/include/cuda_runtime.h",
                  "site2/nvidia/cu13/include/cublas_api.h", "site2/nvidia/cudnn/include/cudnn.h",
                  "site2/nvidia/cudnn/extra/include/cudnn.h", "build/build.ninja"):
            open(os.path.join(t, f), "w").close()
        self.script("cuda/bin/nvcc", "exit 0")
        # No GPU tool answers; the build takes as long as FAKE_BUILD_SECONDS.
        self.script("bin/nvidia-smi", "exit 9")
        self.script("bin/ninja", 'echo "ninja $*"; exec sleep "${FAKE_BUILD_SECONDS:-0}"')
        self.env = dict(os.environ, CUDA_HOME=os.path.join(t, "cuda"),
                        PATH=os.path.join(t, "bin") + os.pathsep + os.environ["PATH"],
                        PYTHONPATH=os.pathsep.join([os.path.join(t, "site1"), os.path.join(t, "site2")]))

    def script(self, path, body):
        path = os.path.join(self.tmp, path)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body + "\n")
        os.chmod(path, 0o755)

    def suite(self, *args, **env):
        return subprocess.run([os.path.join(ROOT, "scripts", "gpu-suite"), "--build",
                               os.path.join(self.tmp, "build"), "--out-dir", os.path.join(self.tmp, "out")]
                              + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, env=dict(self.env, **env), timeout=60)

    def test_libraries_from_pip_wheels(self):
        p = self.suite("--build-only")
        self.assertEqual(p.returncode, 0, p.stderr)
        site2 = os.path.join(self.tmp, "site2", "nvidia")
        self.assertIn("gpu-suite: cublas from %s/cu13\n" % site2, p.stdout)
        # Two cudnn.h: the first found is taken, and the search ends there.
        self.assertRegex(p.stdout, r"gpu-suite: cudnn from %s/cudnn(/extra)?\n" % re.escape(site2))
        self.assertIn("ninja -C %s" % os.path.join(self.tmp, "build"), p.stdout)

    def test_header_nowhere(self):
        os.remove(os.path.join(self.tmp, "site2", "nvidia", "cu13", "include", "cublas_api.h"))
        p = self.suite("--build-only")
        self.assertEqual(p.returncode, 1)
        self.assertIn("cublas_api.h is neither in %s/include nor in python3's nvidia packages"
                      % os.path.join(self.tmp, "cuda"), p.stderr)

    def test_build_within_time_limit(self):
        t0 = time.monotonic()
        p = self.suite("--time-limit", "2", FAKE_BUILD_SECONDS="30")
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual(p.returncode, 124, p.stderr)
        self.assertIn("gpu-suite: the build did not finish within --time-limit 2; nothing was run",
                      p.stderr)


class GpuSectionsFormatting(unittest.TestCase):
    """The sections that need a GPU (PyTorch, bandwidth) cannot run here:
    their bookkeeping is checked on runs that return canned output, so a
    slip in it does not first show on a lent GPU."""

    def setUp(self):
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        import gpu_suite
        self.gs = gpu_suite
        args = gpu_suite.argparse.Namespace(build="build", out=None, json=None, only="torch,perf",
                                            emu=False, quick=False, commit=None, command=None,
                                            app_libs=None)
        self.suite = gpu_suite.Suite(args)
        self.addCleanup(shutil.rmtree, self.suite.logroot, True)
        self.calls = []
        self.timeouts = {}
        self.suite.run = self.fake_run

    def fake_run(self, label, argv, shim=False, env=None, timeout=120, may_fail=False,
                 audit=False):
        self.calls.append((label, shim, dict(env or {})) + ((True,) if audit else ()))
        self.timeouts[label] = timeout
        r = self.gs.Result(label, argv, list((env or {}).items()), shim, audit)
        r.rc, r.logdir = 0, self.suite.logroot
        summary = {"ev": "summary", "apis": {"cublasGemmStridedBatchedEx": {
            "calls": 3, "upcasts": 0, "checked": 3, "nonfinite": 1 if "einsum" in label else 0}}}
        if label == "einsum":
            r.kv = {"inf": "56", "finite": "8", "maxfinite": "33872", "line": "23"}
        elif label == "einsum shim":
            r.kv = {"inf": "56", "finite": "8", "maxfinite": "33872", "line": "23"}
            r.records = [summary, {"ev": "nonfinite", "api": "cublasGemmStridedBatchedEx", "inf": 56, "site": [
                {"file": "/x/tests/gpu/einsum_overflow.py", "line": 23, "func": "masked_sums"},
                {"file": "/x/tests/gpu/einsum_overflow.py", "line": 38, "func": "main"}]}]
        elif label == "einsum saturate":
            r.kv = {"inf": "0", "finite": "64", "maxfinite": "65504", "line": "23"}
            r.records = [summary, {"ev": "nonfinite", "api": "cublasGemmStridedBatchedEx", "inf": 56,
                                   "action": "saturated"}]
        elif label == "einsum report":
            r.out = "First non-finite output\n  /x/tests/gpu/einsum_overflow.py:23 in masked_sums\n"
        elif label.startswith("jax"):
            sat = "saturate" in label
            r.kv = {"jax": "0.11.2", "jaxlib": "0.11.2", "device": "NVIDIA H100 80GB HBM3",
                    "inf": "0" if sat else "56", "finite": "64" if sat else "8",
                    "maxfinite": "65504" if sat else "33872", "line": "41"}
            if audit:
                lt = {"calls": 1, "upcasts": 0, "checked": 1, "nonfinite": 1}
                r.records = [{"ev": "summary", "apis": {"cublasLtMatmul": lt}},
                             {"ev": "nonfinite", "api": "cublasLtMatmul", "inf": 56,
                              "action": "saturated" if sat else "logged"}]
            elif shim:
                r.records = [{"ev": "summary", "apis": {}}]
            if label == "jax report":
                r.kv = {}
                r.out = "First non-finite output\n  where:     /x/tests/gpu/jax_einsum.py:41 in masked_sums\n"
        elif label.startswith("fp16acc"):
            err = "1.0e-04" if "shim" in label else "3.0e-02"
            r.kv = {"fp16_accumulation": "1", "mlp_loss_ref": "0.5", "mlp_loss": "0.51",
                    "mlp_loss_rel_err": err, "mlp_out_rel_err": err, "pool_loss_ref": "0",
                    "pool_loss": "0.1", "pool_loss_rel_err": err, "pool_out_rel_err": err}
            r.records = [summary] if shim else []
        elif label.startswith("train"):
            slow = 0.0 if not shim else 0.5 if "sync" in label else 0.02
            # Rounds differ, the first slowest: the table takes the median.
            spread = {"(round 1)": 0.9, "(round 2)": 1.1}.get(label[-9:], 1.0)
            r.kv = {"torch": "2.11.0+cu130", "cuda": "13.0", "cudnn": "91900",
                    "device": "NVIDIA H100 80GB HBM3",
                    "transformer_steps_per_s": "%.2f" % (100 * (1 - slow) * spread),
                    "conv_steps_per_s": "%.2f" % (50 * (1 - slow) * spread), "transformer_loss_first": "7",
                    "transformer_loss_last": "6", "transformer_skipped": "0",
                    "conv_loss_first": "7", "conv_loss_last": "5", "conv_skipped": "1"}
            r.records = [summary] if shim else []
        elif label.startswith("gemm_speed"):
            t = "600.0" if "16F, no shim" in label else "590.0"
            r.kv = {"status": "0", "tflops_best": t, "tflops_median": t, "ms_median": "0.2"}
            if shim:
                checked = 0 if (env or {}).get("SAFEHALF_CHECK") == "off" else 105
                r.records = [{"ev": "summary", "apis": {"cublasGemmEx": {
                    "calls": 105, "upcasts": 105 if "16F" in label else 0, "checked": checked,
                    "nonfinite": 0}}}]
            if label == "gemm_speed 8192 x 8192 x 128 COMPUTE_32F under the shim (pass + check)":
                r.records += [{"ev": "warn", "msg": "cannot launch the Inf/NaN scan (CUDA error 209)"}] * 2
        elif label == "env: device":
            r.kv = {"device_name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0",
                    "driver_version": "13.0", "runtime_version": "13.0"}
        elif label.startswith("env: "):
            lib = "cudnn" if "cuDNN" in label else "cublas"
            r.kv = {"torch": "2.11.0+cu130", "torch_cudnn": "91900"} if "PyTorch" in label else {}
            r.records = [{"ev": "start", "libs": {lib: {"path": "/x/lib%s.so" % lib, "version": 9}}}]
        elif label == "scan bandwidth":
            r.out = "bandwidth min_mib=1 max_mib=1024 reps=20\n\n size_MiB copy_GB/s\n        1 1000.0\n" \
                    "size_mib=1 copy_gbs=1000.0\ntiny_launch_host_ns_median=2100\n"
        self.suite.results.append(r)
        return r

    def test_torch_section(self):
        self.suite.section_torch()
        md = "\n".join(self.suite.md)
        self.assertIn("First record: cublasGemmStridedBatchedEx, site einsum_overflow.py:23 in masked_sums; "
                      "einsum_overflow.py:38 in main. The report names `einsum_overflow.py:23` (the einsum's "
                      "line): **yes**.", md)
        self.assertIn("| without the shim | 56 | 8 | 33872 | - | yes |", md)
        self.assertIn("| default policy | 56 | 8 | 33872 | 1 | yes |", md)
        self.assertIn("| `SAFEHALF_ON_NONFINITE=saturate` | 0 | 64 | 65504 | 1 | yes |", md)
        self.assertEqual(self.suite.unexpected, 0)
        self.assertIn("| mlp | cuBLASLt | 0.5 | 0.51 | 3.0e-02 | 3.0e-02 | 0.51 | 1.0e-04 | 1.0e-04 |", md)
        self.assertIn(("fp16acc cuBLASLt shim", True, {"TORCH_BLAS_PREFER_CUBLASLT": "1"}), self.calls)
        self.assertIn("| without the shim | 100.00 (90.00-110.00) | +0.0% | 7 -> 6 | 0 | "
                      "50.00 (45.00-55.00) | +0.0% |", md)
        self.assertIn("| default policy | 98.00 (88.20-107.80) | -2.0% | 7 -> 6 | 0 | 49.00 (44.10-53.90) | "
                      "-2.0% | 7 -> 5 | 1 |", md)
        self.assertIn("| `SAFEHALF_CHECK=sync` | 50.00 (45.00-55.00) | -50.0% |", md)
        self.assertIn("| default policy + `LD_AUDIT` (`--follow-dlsym`) | 98.00 (88.20-107.80) | -2.0% |", md)
        # Three rounds, each running every configuration in turn.
        trains = [c[0] for c in self.calls if c[0].startswith("train")]
        self.assertEqual(len(trains), 18)
        self.assertEqual(trains[5:8], ["train default policy + `LD_AUDIT` (`--follow-dlsym`) (round 1)",
                                       "train without the shim (round 2)", "train default policy (round 2)"])
        self.assertIn(("train default policy + `LD_AUDIT` (`--follow-dlsym`) (round 3)", True, {}, True),
                      self.calls)
        self.assertIn("| cublasGemmStridedBatchedEx | 3 | 0 | 3 | 0 |", md)
        self.assertTrue(self.suite.figures["torch_einsum"]["report_names_line"])
        self.assertIn("### (c) FP16 training, autocast + GradScaler, 200 timed steps", md)
        # Under the section's heading, for a file of this section alone.
        self.assertIn("## 2. PyTorch end to end (unmodified scripts under `LD_PRELOAD`)\n\n"
                      "As the scripts below printed them: PyTorch 2.11.0+cu130, CUDA 13.0, cuDNN 91900, "
                      "device NVIDIA H100 80GB HBM3.\n", md)

    def test_jax_section(self):
        self.suite.section_jax()
        md = "\n".join(self.suite.md)
        self.assertIn("| without the shim | 56 | 8 | 33872 | - | - | - | yes |", md)
        self.assertIn("| LD_PRELOAD only | 56 | 8 | 33872 | none | 0 | - | - (what XLA does) |", md)
        self.assertIn("| LD_PRELOAD + LD_AUDIT (`--follow-dlsym`) | 56 | 8 | 33872 | cublasLtMatmul: 1 / 0 / 1 "
                      "| 1 | cublasLtMatmul | yes |", md)
        self.assertIn("| `--follow-dlsym`, `SAFEHALF_ON_NONFINITE=saturate` | 0 | 64 | 65504 | "
                      "cublasLtMatmul: 1 / 0 / 1 | 1 | cublasLtMatmul | yes |", md)
        self.assertIn("JAX 0.11.2 (jaxlib 0.11.2) on NVIDIA H100 80GB HBM3. The report of the "
                      "`--follow-dlsym` run names `jax_einsum.py:41`", md)
        self.assertIn("own, where there is no Python call site): yes.", md)
        self.assertIn(("jax LD_PRELOAD + LD_AUDIT (`--follow-dlsym`)", True, {}, True), self.calls)
        self.assertEqual(self.timeouts["jax without the shim"], 300)
        self.assertEqual((self.suite.failed, self.suite.unexpected), (0, 0))

    def test_jax_section_not_followed(self):
        """The audit run whose GEMM the shim did not see is a row marked NO;
        the LD_PRELOAD-only run is never one (it shows what XLA does)."""
        real = self.fake_run

        def run(label, argv, **kw):
            r = real(label, argv, **kw)
            if label.startswith("jax LD_PRELOAD + LD_AUDIT"):
                r.records = [{"ev": "summary", "apis": {}}]
            return r
        self.suite.run = run
        self.suite.section_jax()
        md = "\n".join(self.suite.md)
        self.assertIn("| LD_PRELOAD + LD_AUDIT (`--follow-dlsym`) | 56 | 8 | 33872 | none | 0 | - | **NO** |", md)
        self.assertEqual((self.suite.failed, self.suite.unexpected), (0, 1))

    def test_env_section(self):
        """The driver's CUDA version (cudaDriverGetVersion's 13.0) is not
        shown as the driver's version (nvidia-smi's 580.xx); every command
        the table's figures came from is listed under it."""
        self.suite.section_env()
        md = "\n".join(self.suite.md)
        self.assertIn("| CUDA version the driver supports (cudaDriverGetVersion) | 13.0 |", md)
        self.assertIn("| CUDA runtime linked into scan_gpu (cudaRuntimeGetVersion) | 13.0 |", md)
        self.assertNotIn("| driver_version |", md)
        self.assertIn("| nvidia-smi (name, driver, memory, compute capability, max SM clock) | ", md)
        self.assertIn("| cublas (apps) | /x/libcublas.so, version 9 |", md)
        self.assertIn("| cudnn (apps) | /x/libcudnn.so, version 9 |", md)
        self.assertIn("| torch_cudnn | 91900 |", md)
        self.assertIn("<details><summary>commands</summary>", md)
        self.assertIn("scan_gpu bandwidth --min-mib 1 --max-mib 1 --reps 1", md)

    def test_not_as_expected_counts(self):
        """A finding marked **NO** is counted at the head of the file and
        in the exit status, not only in its row."""
        real = self.fake_run

        def run(label, argv, **kw):
            r = real(label, argv, **kw)
            if label == "einsum report":
                r.out = "First non-finite output\n  /x/tests/gpu/einsum_overflow.py:99 in other\n"
            return r
        self.suite.run = run
        self.suite.section_torch()
        md = "\n".join(self.suite.md)
        self.assertIn("(the einsum's line): **NO**.", md)
        self.assertEqual((self.suite.failed, self.suite.unexpected), (0, 1))

    def test_einsum_not_saturated_counts(self):
        """saturate that left an Inf, or a default run whose record is
        missing, is a row marked NO and counted."""
        real = self.fake_run

        def run(label, argv, **kw):
            r = real(label, argv, **kw)
            if label == "einsum saturate":
                r.kv = {"inf": "1", "finite": "63", "maxfinite": "65504", "line": "23"}
            if label == "einsum shim":
                r.records = [e for e in r.records if e["ev"] != "nonfinite"]
            return r
        self.suite.run = run
        self.suite.section_torch()
        md = "\n".join(self.suite.md)
        self.assertIn("| default policy | 56 | 8 | 33872 | 0 | **NO** |", md)
        self.assertIn("| `SAFEHALF_ON_NONFINITE=saturate` | 1 | 63 | 65504 | 1 | **NO** |", md)
        self.assertIn("| without the shim | 56 | 8 | 33872 | - | yes |", md)
        self.assertEqual((self.suite.failed, self.suite.unexpected), (0, 2))

    def test_inputs_row_says_why_no_record(self):
        """A case whose library call failed (the real cuDNN may have no
        attention engine for the shape) says which call and status."""
        def run(label, argv, shim=False, env=None, timeout=300, may_fail=False, audit=False):
            r = self.gs.Result(label, argv, list((env or {}).items()), shim, audit)
            r.logdir = self.suite.logroot
            r.rc, r.kv = 0, {"status": "0"}
            if "SDPA" in label:
                r.rc, r.kv = 1, {"failed": "cudnnBackendFinalize(plan)", "status": "3000"}
            self.suite.results.append(r)
            return r
        self.suite.run = run
        self.suite.section_numerics()
        md = "\n".join(self.suite.md)
        self.assertIn("| cuDNN attention (SDPA_FWD operation), Inf in q | false | no record; exit 1, "
                      "cudnnBackendFinalize(plan): status 3000 | - | **NO** |", md)
        self.assertIn("| cuBLAS GEMM overflow | true | no record | - | **NO** |", md)

    def test_epilogue_the_library_refuses(self):
        """An epilogue cuBLASLt has no algorithm for, with the shim and
        without it alike, is the library's answer: said so, not counted
        against the shim. Refused under the shim only, it is a failure."""
        def run(label, argv, shim=False, env=None, timeout=300, may_fail=False, audit=False):
            r = self.gs.Result(label, argv, list((env or {}).items()), shim, audit)
            r.logdir = self.suite.logroot
            r.rc, r.kv = 0, {"status": "0"}
            if "DGELU_BGRAD" in label or ("BGRADA" in label and shim):
                r.rc, r.kv = 2, {"status_cublasLtMatmulAlgoGetHeuristic": "15"}
            self.suite.results.append(r)
            if not r.ok() and not may_fail:
                self.suite.failed += 1
            return r
        self.suite.run = run
        failed0, unexpected0 = self.suite.failed, self.suite.unexpected
        self.suite.section_numerics()
        md = "\n".join(self.suite.md)
        self.assertIn("| DGELU_BGRAD, sum over 8 columns of 40000 | ? | ? | none | - | not run: cuBLASLt "
                      "offers no algorithm (status 15, without the shim too) |", md)
        self.assertIn("| BGRADA, sum over k = 4096 x 20 | ? | ? | none | - | **NO** |", md)
        refused = {c["case"]: c["library_refused"] for c in self.suite.figures["epilogue_outputs"]}
        self.assertEqual(refused["DGELU_BGRAD, sum over 8 columns of 40000"], "15")
        self.assertIsNone(refused["BGRADA, sum over k = 4096 x 20"])
        labels = [r.label for r in self.suite.results]
        self.assertIn("epilogue DGELU_BGRAD, sum over 8 columns of 40000 without the shim", labels)
        self.assertNotIn("epilogue GELU_AUX, 16224 x 16.7 without the shim", labels)
        # BGRADA (refused under the shim alone) counts once as failed; every
        # other run here succeeds.
        self.assertEqual(self.suite.failed - failed0, 1)
        self.assertGreaterEqual(self.suite.unexpected - unexpected0, 1)

    def test_timeouts(self):
        """A hung C program gives way after two minutes; the training runs
        get five."""
        import inspect
        self.assertEqual(inspect.signature(self.gs.Suite.run).parameters["timeout"].default, 120)
        self.suite.section_torch()
        self.assertEqual(self.timeouts["train default policy (round 1)"], 300)
        self.assertEqual(self.timeouts["einsum shim"], 120)

    def test_torch_quick_steps(self):
        self.suite.args.quick = True
        self.suite.section_torch()
        md = "\n".join(self.suite.md)
        self.assertIn("### (c) FP16 training, autocast + GradScaler, 50 timed steps", md)
        self.assertIn(("train without the shim (round 1)", False, {}), self.calls)
        self.assertNotIn(("train without the shim (round 2)", False, {}), self.calls)

    def test_torch_flag_unknown_when_runs_failed(self):
        """A script that failed printed nothing of allow_fp16_accumulation:
        the file must not say PyTorch lacks the flag."""
        real = self.fake_run

        def run(label, argv, **kw):
            r = real(label, argv, **kw)
            if label.startswith("fp16acc"):
                r.rc, r.kv = 1, {}
            return r
        self.suite.run = run
        self.suite.section_torch()
        md = "\n".join(self.suite.md)
        self.assertIn("PyTorch has the flag: unknown (no run printed it).", md)
        self.assertNotIn("PyTorch has the flag: NO", md)

    def test_perf_section(self):
        self.suite.section_perf()
        md = "\n".join(self.suite.md)
        self.assertIn(" size_MiB copy_GB/s", md)
        self.assertIn("tiny_launch_host_ns_median=2100", md)
        self.assertIn("| 8192^3 | COMPUTE_16F under the shim (upcast + check) | 590.0 | 590.0 | 0.2 | x0.983 |", md)
        self.assertEqual(len(self.suite.figures["gemm_speed"]), 15)
        self.assertIn("| 8192 x 8192 x 128 | COMPUTE_32F under the shim (pass + check) | 590.0 |", md)
        # What the shim did to the GEMMs of each run, and what it warned of
        self.assertIn("| 8192^3 | COMPUTE_16F, no shim | 600.0 | 600.0 | 0.2 | x1.000 | - |", md)
        self.assertIn("| 8192^3 | COMPUTE_16F under the shim (upcast), checks off | 590.0 | 590.0 | 0.2 | "
                      "x0.983 | 105 / 105 / 0 |", md)
        self.assertIn("| 8192^3 | COMPUTE_16F under the shim (upcast + check) | 590.0 | 590.0 | 0.2 | "
                      "x0.983 | 105 / 105 / 105 |", md)
        self.assertRegex(md, r"The shim warned \(its log's warn and error records\):\n\n```\n"
                         r"\$ LD_PRELOAD=libsafehalf.so \S*/tests/gpu/gemm_speed --m 8192 --n 8192 "
                         r"--k 128 --compute 32F\nwarn: cannot launch the Inf/NaN scan \(CUDA error 209\)\n```")

    def test_bandwidth_killed_keeps_sizes_measured(self):
        """scan_gpu bandwidth killed before its table: the sizes it measured,
        printed one by one, are in the file."""
        real = self.fake_run

        def run(label, argv, **kw):
            r = real(label, argv, **kw)
            if label == "scan bandwidth":
                r.rc = "timeout"
                r.out = "bandwidth min_mib=1 max_mib=1024 reps=20\nsize_mib=1 copy_gbs=1000.0\n" \
                        "size_mib=2 copy_gbs=1500.0\n"
            return r
        self.suite.run = run
        self.suite.section_perf()
        md = "\n".join(self.suite.md)
        self.assertIn("```\nbandwidth min_mib=1 max_mib=1024 reps=20\nsize_mib=1 copy_gbs=1000.0\n"
                      "size_mib=2 copy_gbs=1500.0\n```", md)

    def test_perf_baseline_failed(self):
        """The ratio column is against COMPUTE_16F without the shim: when that
        run printed no figure, the column has none, rather than a ratio
        against the next configuration under the same heading."""
        real = self.fake_run

        def run(label, argv, **kw):
            r = real(label, argv, **kw)
            if label == "gemm_speed 4096^3 COMPUTE_16F, no shim":
                r.rc, r.kv = 2, {"status": "13"}
            return r
        self.suite.run = run
        self.suite.section_perf()
        md = "\n".join(self.suite.md)
        self.assertIn("| 4096^3 | COMPUTE_32F, no shim | 590.0 | 590.0 | 0.2 | ? |", md)
        self.assertIn("| 4096^3 | COMPUTE_16F under the shim (upcast + check) | 590.0 | 590.0 | 0.2 | ? |",
                      md)
        self.assertIn("| 8192^3 | COMPUTE_32F, no shim | 590.0 | 590.0 | 0.2 | x0.983 |", md)


if __name__ == "__main__":
    unittest.main()
