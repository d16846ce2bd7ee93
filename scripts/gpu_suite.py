#!/usr/bin/env python3
"""The GPU suite's runner (scripts/gpu-suite builds, then calls this).

    gpu_suite.py --build DIR [--out FILE.md] [--json FILE] [--only SECTIONS]
                 [--emu] [--quick] [--commit HASH] [--command TEXT]
                 [--app-libs DIR:DIR] [--time-limit SECONDS]

Runs the programs of tests/apps, tests/gpu and the PyTorch scripts of
tests/gpu, each without and with libsafehalf.so preloaded (LD_PRELOAD, the
way users run it), reads what they print (key=value lines) and the logs the
shim wrote, and writes one Markdown file (every figure, the command that
produced it, the machine and library versions) and the same figures as JSON.

SECTIONS (comma list, default all): env, numerics (real numerics against
the libraries the programs load), torch (PyTorch end to end), jax (JAX/XLA's
FP16 einsum, without and with --follow-dlsym), perf (scan bandwidth, GEMM
TFLOP/s, the training overhead). --emu runs against the
emulated CUDA libraries of the build (tests/emu) instead of NVIDIA's: it
checks the suite itself on a machine without a GPU (figures from it are not
GPU figures); sections needing a real GPU are skipped there. --quick runs
fewer sizes. --time-limit bounds the whole run: no program outlives it,
and once it has passed the programs left are recorded as not run (a lent
machine's call has a fixed length; what was measured before still gets
written). SIGTERM ends the run at once, and the files are written with
what was measured until then.

Nothing here asserts: a failing program is reported with its exit status and
the end of its stderr, and the suite goes on. Rows that check a finding
against what is expected say "as expected: yes" or "**NO**". The exit
status is 0 when every program ran and every such row says yes, 1 otherwise
(the file is written either way; its first lines count both).
"""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KV = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


class Result:
    def __init__(self, label, argv, env_shown, shim, audit=False):
        self.label, self.argv, self.env_shown, self.shim = label, argv, env_shown, shim
        self.audit = audit
        self.rc, self.out, self.err, self.secs = None, "", "", 0.0
        self.kv, self.records = {}, []

    def command(self):
        """The command as a user would type it, paths relative to the repository."""
        env = (["LD_AUDIT=libsafehalf-audit.so"] if self.audit else []) + (
            ["LD_PRELOAD=libsafehalf.so"] if self.shim else []) + [
            "%s=%s" % kv for kv in self.env_shown]
        return " ".join(env + [shlex.quote(rel(a)) for a in self.argv])

    def ok(self):
        return self.rc == 0

    def summary(self):
        """Per-api counts of the shim's summary records, summed over processes."""
        apis = {}
        for r in self.records:
            if r.get("ev") == "summary" and isinstance(r.get("apis"), dict):
                for api, c in r["apis"].items():
                    a = apis.setdefault(api, {"calls": 0, "upcasts": 0, "checked": 0, "nonfinite": 0})
                    for key in a:
                        a[key] += int(c.get(key) or 0)
        return apis

    def events(self, ev):
        return [r for r in self.records if r.get("ev") == ev]

    def warnings(self):
        """What the shim warned of (no kernels, a scan that could not be
        launched...), each message once: a run can exit 0 with figures that
        do not mean what its row says."""
        seen = []
        for r in self.records:
            if r.get("ev") in ("warn", "error"):
                msg = "%s: %s" % (r["ev"], r.get("msg"))
                if msg not in seen:
                    seen.append(msg)
        return seen

    def as_json(self):
        return {"label": self.label, "command": self.command(), "rc": self.rc,
                "seconds": round(self.secs, 3), "values": self.kv,
                "summary": self.summary() if self.shim else None,
                "nonfinite_records": len(self.events("nonfinite")) if self.shim else None,
                "shim_warnings": self.warnings() if self.shim else None}


def rel(path):
    p = str(path)
    if os.path.isabs(p) and p.startswith(ROOT + os.sep):
        return os.path.relpath(p, ROOT)
    return p


class Suite:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.lib = os.path.join(self.build, "shim", "libsafehalf.so")
        self.audit_lib = os.path.join(self.build, "shim", "libsafehalf-audit.so")
        self.apps = os.path.join(self.build, "tests", "apps")
        self.gpu = os.path.join(self.build, "tests", "gpu")
        self.emu_dir = os.path.join(self.build, "tests", "emu")
        self.logroot = tempfile.mkdtemp(prefix="safehalf-gpu-suite-")
        self.results = []
        self.md = []
        self.figures = {}
        self.failed = 0
        self.unexpected = 0  # rows marked **NO** (a finding not as expected)
        self.deadline = (time.monotonic() + args.time_limit
                         if getattr(args, "time_limit", None) is not None else None)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SAFEHALF_") and k not in ("LD_PRELOAD", "LD_AUDIT")}
        if args.emu:
            env["LD_LIBRARY_PATH"] = ":".join(
                p for p in [self.emu_dir, env.get("LD_LIBRARY_PATH", "")] if p)
        env["PYTHONUNBUFFERED"] = "1"
        self.env = env
        # The C programs may need the toolkit's and cuDNN's library folders;
        # PyTorch finds its own copies and must not be handed these.
        self.app_env = dict(env)
        if args.app_libs:
            self.app_env["LD_LIBRARY_PATH"] = ":".join(
                p for p in [env.get("LD_LIBRARY_PATH", ""), args.app_libs] if p)

    # ---- running ---------------------------------------------------------

    # A program of tests/apps takes a second or two (cuDNN's engines and
    # runtime compilation some more): one that hangs gives way after two
    # minutes instead of five, leaving the rest of a lent machine's call to
    # the other runs. PyTorch training and scan_gpu verify get LONG.
    LONG = 300
    GRACE = 5  # seconds between SIGTERM and SIGKILL for a program past its time

    def run(self, label, argv, shim=False, env=None, timeout=120, may_fail=False, audit=False):
        env = list((env or {}).items())
        res = Result(label, argv, env, shim, audit)
        full = dict(self.env if os.path.basename(argv[0]).startswith("python") else self.app_env)
        full.update(env)
        logdir = os.path.join(self.logroot, "run-%d" % len(self.results))
        os.makedirs(logdir)
        if shim:
            full["LD_PRELOAD"] = self.lib
            full.setdefault("SAFEHALF_LOG", os.path.join(logdir, "safehalf-%p.jsonl"))
        if audit:
            full["LD_AUDIT"] = self.audit_lib
        res.logdir = logdir
        if self.deadline is not None:
            left = int(self.deadline - time.monotonic())
            if left < 1:
                res.rc, res.err = "not run", "the suite's time limit (--time-limit) had passed"
                return self.record(res, False)
            timeout = min(timeout, left)
        sys.stderr.write("gpu-suite: %s: %s\n" % (label, res.command()))
        t0 = time.monotonic()
        try:
            # A session of its own: the program's children (PyTorch's compile
            # workers, a shell's commands) are stopped with it, and cannot
            # keep its pipes open past its time.
            p = subprocess.Popen(argv, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 universal_newlines=True, errors="replace", cwd=ROOT,
                                 start_new_session=True)
        except OSError as e:
            res.rc, res.err = "not run", str(e)
        else:
            try:
                res.out, res.err = p.communicate(timeout=timeout)
                res.rc = p.returncode
            except subprocess.TimeoutExpired:
                out, err = stop_group(p, self.GRACE)
                res.rc, res.out = "timeout", out
                # What it said before it hung is often what explains the hang.
                res.err = (err.rstrip() + "\n" if err.strip() else "") + "killed after %d s" % timeout
            except BaseException:  # the suite stopped (SIGTERM): its program goes with it
                try:
                    stop_group(p, grace=0)
                except Exception:  # a communicate cut short may not take another
                    os.killpg(p.pid, signal.SIGKILL)
                raise
        res.secs = time.monotonic() - t0
        # The dynamic loader goes on without an object it cannot load: the
        # program then runs as it would without the shim, and its figures
        # would be shown as the shim's.
        if isinstance(res.rc, int):
            for wanted, what, path in ((shim, "from LD_PRELOAD cannot be preloaded", self.lib),
                                       (audit, "cannot be loaded as audit interface", self.audit_lib)):
                if wanted and "ERROR: ld.so: object '%s' %s" % (path, what) in res.err:
                    res.rc = "%s not loaded (exit %d)" % (os.path.basename(path), res.rc)
        for line in res.out.splitlines():
            m = KV.match(line.strip())
            if m:
                res.kv[m.group(1)] = m.group(2)
        for path in sorted(glob.glob(os.path.join(logdir, "*.jsonl"))):
            with open(path, errors="replace") as f:
                for line in f:
                    try:
                        res.records.append(json.loads(line))
                    except ValueError:
                        pass
        return self.record(res, may_fail)

    def overflow_as_expected(self, r, nf, shim, saturate, api, inf):
        """One run of an overflowing GEMM (overflow_app, the einsum): without
        the shim, or with it and the default action, the output holds `inf`
        Infs (the data fix the count) and the shim names `api` in a record;
        saturated, the output is finite with 65504 its largest value, and the
        record says so. Counted in the file's rows marked NO when not so."""
        if saturate:
            ok = r.kv.get("inf") == "0" and r.kv.get("maxfinite") == "65504" and \
                any(e.get("action") == "saturated" for e in nf)
        else:
            ok = r.kv.get("inf") == str(inf)
        if shim:
            ok = ok and bool(nf) and nf[0].get("api") == api and nf[0].get("inf") == inf
        ok = ok and r.ok()
        self.unexpected += not ok
        return ok

    def record(self, res, may_fail):
        if not res.ok() and not may_fail:
            self.failed += 1
            sys.stderr.write("gpu-suite:   exit %s; stderr ends:\n%s\n" % (res.rc, tail(res.err, 8)))
        self.results.append(res)
        return res

    def both(self, label, argv, env=None, may_fail_without=False, timeout=120):
        """The program without the shim, then under it: (without, with)."""
        return (self.run(label, argv, env=env, may_fail=may_fail_without, timeout=timeout),
                self.run(label + " shim", argv, shim=True, env=env, timeout=timeout))

    def app(self, name):
        return os.path.join(self.apps, name)

    # ---- writing ---------------------------------------------------------

    def h(self, level, text):
        self.md += ["", "#" * level + " " + text, ""]

    def p(self, text):
        self.md += [text, ""] if text else [""]

    def table(self, headers, rows):
        self.md.append("| " + " | ".join(headers) + " |")
        self.md.append("|" + "|".join("---" for _ in headers) + "|")
        for r in rows:
            self.md.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
        self.md.append("")

    def commands(self, results):
        self.md.append("<details><summary>commands</summary>")
        self.md.append("")
        self.md.append("```")
        for r in results:
            self.md.append(r.command())
        self.md.append("```")
        self.md.append("</details>")
        self.md.append("")

    def footer(self, results):
        """Under a table: the runs that failed, what the shim warned of, then
        every command."""
        self.failures(results)
        warned = [r for r in results if r.warnings()]
        if warned:
            self.p("The shim warned (its log's warn and error records):")
            self.md.append("```")
            for r in warned:
                self.md.append("$ " + r.command())
                self.md += [tail(w, 3) for w in r.warnings()[:5]]
            self.md.append("```")
            self.md.append("")
        self.commands(results)

    def failures(self, results):
        bad = [r for r in results if not r.ok()]
        if bad:
            self.p("Failed runs:")
            self.md.append("```")
            for r in bad:
                self.md.append("$ " + r.command())
                self.md.append("exit %s" % r.rc)
                self.md += tail(r.err, 6).splitlines()
            self.md.append("```")
            self.md.append("")

    # ---- sections --------------------------------------------------------

    def section_env(self):
        self.h(2, "Machine and versions")
        rows = [("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
                ("host", "%s %s" % (platform.node(), platform.platform())),
                ("repository commit", self.args.commit or "not given"),
                ("command", self.args.command or "scripts/gpu_suite.py " + " ".join(sys.argv[1:]))]
        if self.args.emu:
            rows.append(("backend", "EMULATED (tests/emu): no figure here is a GPU figure"))
        smi = shutil.which("nvidia-smi")
        if not self.args.emu:
            q = run_text([smi, "--query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm",
                          "--format=csv,noheader"]) if smi else "not on PATH"
            rows.append(("nvidia-smi (name, driver, memory, compute capability, max SM clock)",
                         q.strip() or "no answer"))
            # The kernel module's version, which nvidia-smi's driver_version is,
            # where nvidia-smi is missing or does not answer.
            try:
                with open("/proc/driver/nvidia/version") as f:
                    rows.append(("/proc/driver/nvidia/version", f.readline().strip()))
            except OSError:
                pass
        nvcc = shutil.which("nvcc") or os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "nvcc")
        if os.path.exists(nvcc):
            v = re.search(r"release ([0-9.]+), (V[0-9.]+)", run_text([nvcc, "--version"]))
            rows.append(("nvcc", "%s (%s)" % (v.group(1), v.group(2)) if v else "unknown"))
        # Which libraries the programs get, as the shim resolved them.
        probe = self.run("env: libraries the apps load", [self.app("gemm_app"), "cublasGemmEx", "--k", "16"],
                         shim=True)
        # gemm_app loads no cuDNN: dnn_app's start record names it (and its
        # version, cudnnGetVersion) even if the convolution itself fails.
        dnn = self.run("env: cuDNN the apps load", [self.app("dnn_app"), "--op", "fwd", "--r", "16",
                                                    "--compute", "FLOAT"], shim=True, may_fail=True)
        seen = set()
        for row in loaded_libs(probe, "apps") + loaded_libs(dnn, "apps"):
            if row[0] not in seen:
                seen.add(row[0])
                rows.append(row)
        runs = [probe, dnn]
        if not self.args.emu:
            sg = self.run("env: device", [os.path.join(self.gpu, "scan_gpu"), "bandwidth",
                                          "--min-mib", "1", "--max-mib", "1", "--reps", "1"])
            for key, label in (("device_name", None), ("compute_capability", None), ("sm_count", None),
                               ("global_mem_mib", None), ("l2_cache_mib", None), ("peak_mem_gbs", None),
                               # CUDA versions (13.0), not the driver's own (580.xx: nvidia-smi's)
                               ("driver_version", "CUDA version the driver supports (cudaDriverGetVersion)"),
                               ("runtime_version", "CUDA runtime linked into scan_gpu (cudaRuntimeGetVersion)")):
                if key in sg.kv:
                    rows.append((label or key, sg.kv[key]))
            torch = self.run("env: PyTorch", [sys.executable, "-c", TORCH_VERSIONS], shim=True)
            for key in ("torch", "torch_cuda", "torch_cudnn", "torch_device"):
                if key in torch.kv:
                    rows.append((key, torch.kv[key]))
            rows += loaded_libs(torch, "PyTorch")
            runs += [sg, torch]
        self.table(["what", "value"], rows)
        self.footer(runs)
        self.figures["env"] = dict((str(a), str(b)) for a, b in rows)

    def section_numerics(self):
        quick = self.args.quick
        self.h(2, "1. Real numerics")
        self.p("Each program is an ordinary CUDA program (tests/apps); it runs without the shim, "
               "then with `LD_PRELOAD=libsafehalf.so` and the default policy. Errors are against a "
               "double-precision product of the same FP16 inputs (`max_rel_err` = max |C - ref| / "
               "max |ref|).")

        # 1a. FP16-accumulating GEMMs.
        self.h(3, "FP16-accumulating GEMMs (`CUBLAS_COMPUTE_16F`, `cublasHgemm`)")
        ks = [1024, 4096, 16384, 65536] if quick else [1024, 2048, 4096, 8192, 16384, 32768, 65536]
        cases = [("cublasGemmEx", d, k, []) for d in ("ones", "random") for k in ks]
        cases += [("cublasHgemm", "random", k, []) for k in ([4096] if quick else [4096, 65536])]
        cases += [("cublasGemmStridedBatchedEx", "random", 4096, ["--batch", "4"])]
        rows, runs, fig = [], [], []
        for entry, data, k, extra in cases:
            argv = [self.app("gemm_app"), entry, "--data", data, "--k", str(k)] + extra
            if entry != "cublasHgemm":
                argv += ["--compute", "16F"]
            a, b = self.both("gemm %s %s k=%d" % (entry, data, k), argv)
            runs += [a, b]
            rows.append([entry + (" " + " ".join(extra) if extra else ""), data, k,
                         a.kv.get("ref0", "?"), a.kv.get("c0", "?"), a.kv.get("inf", "?"),
                         fmt_err(a.kv.get("max_rel_err")), b.kv.get("c0", "?"), b.kv.get("inf", "?"),
                         fmt_err(b.kv.get("max_rel_err")), action(b)])
            fig.append({"entry": entry, "data": data, "k": k, "without": a.as_json(), "with": b.as_json()})
        self.table(["entry", "data", "k", "ref C[0]", "C[0] without", "Inf without", "max rel err without",
                    "C[0] with", "Inf with", "max rel err with", "shim action"], rows)
        self.p("ones: every element of C is k (k = 65536 is above FP16's 65504, so the right answer "
               "is +Inf, which the shim's check then reports).")
        self.footer(runs)
        self.figures["gemm_fp16_accumulation"] = fig

        # 1b. Split-K.
        self.h(3, "Split-K reductions (`CUBLAS_COMPUTE_32F`, FP16 C, 16 x 16 outputs)")
        self.p("Data `splitk` (tests/apps/gemm_app.c): the exact product is 1.75; a split-K "
               "reduction that rounds partial sums to FP16 loses it. The shim sets "
               "`CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION` on every handle.")
        rows, runs, fig = [], [], []
        # cublasSgemmEx (FP32 compute of its own, FP16 C) takes the handle's flag too.
        for entry in ("cublasGemmEx", "cublasSgemmEx"):
            for k in ([4096, 65536] if quick else [4096, 16384, 65536]):
                argv = [self.app("gemm_app"), entry, "--data", "splitk", "--k", str(k)]
                a, b = self.both("splitk %s k=%d" % (entry, k), argv)
                runs += [a, b]
                rows.append([entry, k, a.kv.get("c0", "?"), fmt_err(a.kv.get("max_rel_err")),
                             b.kv.get("c0", "?"), fmt_err(b.kv.get("max_rel_err"))])
                fig.append({"entry": entry, "k": k, "without": a.as_json(), "with": b.as_json()})
        self.table(["entry", "k", "C[0] without", "max rel err without", "C[0] with", "max rel err with"],
                   rows)
        self.footer(runs)
        self.figures["splitk"] = fig

        # 1c. Reductions.
        self.h(3, "cuBLAS reductions with FP16 execution (`cublasDotEx`, `cublasNrm2Ex`, `cublasAxpyEx`)")
        rows, runs, fig = [], [], []
        for op, extra in (("dot", []), ("nrm2", []), ("axpy", [])):
            argv = [self.app("reduce_app"), "--op", op, "--n", "4096", "--exec", "16F"] + extra
            # NVIDIA's cuBLAS 13 refuses FP16 execution (README, "What it does today").
            a, b = self.both("reduce %s" % op, argv, may_fail_without=True)
            runs += [a, b]
            val = "result" if op != "axpy" else "out0"
            rows.append([op, a.kv.get("status", "?"), a.kv.get(val, "?"), b.kv.get("status", "?"),
                         b.kv.get(val, "?"), action(b)])
            fig.append({"op": op, "without": a.as_json(), "with": b.as_json()})
        self.table(["op (n = 4096, ones)", "status without", "value without", "status with", "value with",
                    "shim action"], rows)
        # A result in host memory, read there when the call returns.
        a, b = self.both("reduce dot overflow, host result",
                         [self.app("reduce_app"), "--op", "dot", "--n", "70000", "--exec", "32F"])
        runs += [a, b]
        nf = b.events("nonfinite")
        ok = a.kv.get("result") == "inf" and b.kv.get("result") == "inf" and len(nf) == 1 and \
            nf[0].get("check") == "host" and nf[0].get("pos_inf") == 1 and b.ok()
        self.unexpected += not ok
        self.p("`cublasDotEx` of 70,000 ones, FP32 execution, FP16 result in host memory (host pointer "
               "mode): %s without the shim, %s with it; nonfinite records: %d, check `%s`: **%s**."
               % (a.kv.get("result", "?"), b.kv.get("result", "?"), len(nf),
                  nf[0].get("check") if nf else "-", "as expected" if ok else "NO"))
        fig.append({"op": "dot host result", "as_expected": ok, "without": a.as_json(), "with": b.as_json()})
        self.footer(runs)
        self.figures["reductions"] = fig

        # 1d. cuBLASLt.
        self.h(3, "cuBLASLt (`cublasLtMatmul`, 64 x 64, A = 0.5, B = 1: D = k / 2)")
        rows, runs, fig = [], [], []
        lt_cases = [(c, k, algo, []) for c in ("16F",) for k in ([4096, 65536] if quick else [1024, 4096, 16384, 65536])
                    for algo in ("heuristic", "null")]
        lt_cases += [("32F_FAST_16F", 4096, "heuristic", []), ("32F", 65536, "heuristic", [])]
        # The algorithm the shim picks for a slice of a tensor (aligned to 2
        # or 16 bytes) must suit it: what cuBLASLt does with one that does
        # not is only emulated. Half scalars in device memory converted for
        # a thread whose first CUDA call is the matmul, on the NULL stream.
        lt_cases += [("32F", 16384, "null", ["--misalign", m]) for m in ("2", "16")]
        lt_cases += [("16F", 4096, "null", ["--pointer-mode", "device", "--fresh-thread"])]
        for compute, k, algo, extra in lt_cases:
            argv = [self.app("lt_app"), "--compute", compute, "--k", str(k), "--value", "0.5",
                    "--algo", algo] + extra
            a, b = self.both("lt %s k=%d %s %s" % (compute, k, algo, " ".join(extra)), argv)
            runs += [a, b]
            rows.append([compute, k, algo, " ".join(extra) or "-", k // 2, a.kv.get("matmul_status", "?"),
                         a.kv.get("d0", "?"), b.kv.get("matmul_status", "?"), b.kv.get("d0", "?"), action(b)])
            fig.append({"compute": compute, "k": k, "algo": algo, "extra": extra, "without": a.as_json(),
                        "with": b.as_json()})
        self.table(["compute", "k", "algo", "options", "exact D", "status without", "D[0] without",
                    "status with", "D[0] with", "shim action"], rows)
        self.footer(runs)
        self.figures["cublaslt"] = fig

        # 1e. cuDNN.
        self.h(3, "cuDNN with HALF compute (sum of 4096 ones: 4096 exact, 2048 if the sum stalls in FP16)")
        rows, runs, fig = [], [], []
        for op in ("fwd", "fwd-nd", "fwd-bias-act", "bwd-data", "bwd-filter", "reduce", "graph-conv",
                   "graph-matmul"):
            argv = [self.app("dnn_app"), "--op", op, "--r", "4096", "--compute", "HALF"]
            # cuDNN may refuse a HALF compute type outright (cuDNN 9 on an H100
            # does for the backward filter's ALGO_0): a fact the table shows.
            a, b = self.both("dnn %s" % op, argv, may_fail_without=True)
            runs += [a, b]
            rows.append([op, a.kv.get("status", "?"), a.kv.get("failed", ""), a.kv.get("out0", "?"),
                         b.kv.get("status", "?"), b.kv.get("out0", "?"), action(b)])
            fig.append({"op": op, "without": a.as_json(), "with": b.as_json()})
        self.table(["op", "status without", "failed call without", "out[0] without", "status with",
                    "out[0] with", "shim action"], rows)
        self.footer(runs)
        self.figures["cudnn"] = fig

        # 1f. The einsum overflow as a C program.
        self.h(3, "Overflow to +Inf in an FP32-accumulated GEMM (tests/apps/overflow_app.c, the einsum's bmm)")
        rows, runs = [], []
        for label, shim, env in (("without the shim", False, {}), ("default policy", True, {}),
                                 ("`SAFEHALF_ON_NONFINITE=saturate`", True, {"SAFEHALF_ON_NONFINITE": "saturate"}),
                                 ("`SAFEHALF_CHECK=sync`", True, {"SAFEHALF_CHECK": "sync"}),
                                 # Its stream sync must not invalidate the
                                 # other thread's capture (global mode).
                                 ("`SAFEHALF_CHECK=sync`, another thread capturing", True,
                                  {"SAFEHALF_CHECK": "sync"}),
                                 ("in a CUDA graph, 3 replays", True, {})):
            argv = [self.app("overflow_app")] + (["--capture", "3"] if "graph" in label else
                                                 ["--beside-capture"] if "capturing" in label else [])
            r = self.run("overflow %s" % label, argv, shim=shim, env=env)
            runs.append(r)
            nf = r.events("nonfinite")
            status = r.kv.get("status", "?")
            if "capture_status" in r.kv:  # the graph's capture and launches fail on their own
                status += " (capture %s, graph %s)" % (r.kv["capture_status"], r.kv.get("graph_status", "?"))
            if "beside_capture_status" in r.kv:
                status += " (other thread's capture %s)" % r.kv["beside_capture_status"]
            ok = self.overflow_as_expected(r, nf, shim, env.get("SAFEHALF_ON_NONFINITE") == "saturate",
                                           "cublasGemmStridedBatchedEx", 24)
            rows.append([label, status, r.kv.get("inf", "?"), r.kv.get("maxfinite", "?"),
                         len(nf) if shim else "-", nf[0].get("api") if nf else "-",
                         "yes" if ok else "**NO**"])
        self.table(["run", "status", "Inf in output", "largest finite", "nonfinite records", "api named",
                    "as expected"], rows)
        self.footer(runs)
        self.figures["overflow"] = [r.as_json() for r in runs]

        # 1g. Which inputs a finding names.
        self.h(3, "Inputs a finding names (`SAFEHALF_CHECK_INPUTS=1`): made here (true), "
                  "received (false) or unknown (null)")
        small = ["--compute", "32F", "--k", "16", "--m", "8", "--n", "8"]
        over = ["--compute", "32F", "--value", "16.7", "--k", "16224", "--m", "8", "--n", "8"]
        cases = [
            ("cuBLAS GEMM overflow", ["overflow_app"], True, None),
            ("cuBLAS GEMM, NaN in A", ["overflow_app", "--nan-input", "--value", "1"], False, "A"),
            ("cuBLAS GEMM, Inf in C, beta 1", ["overflow_app", "--value", "1", "--inf-c"], None, None),
            ("cuBLAS grouped GEMM, group 1 overflows", ["overflow_app", "--entry", "grouped"], True,
             None),
            ("cuBLASLt overflow", ["lt_app"] + over, True, None),
            ("cuBLASLt, Inf in C apart from D, beta 1",
             ["lt_app"] + small + ["--beta", "1", "--c-value", "inf"], False, "C"),
            ("cuBLASLt, Inf in C, D is C, beta 1",
             ["lt_app"] + small + ["--beta", "1", "--c-value", "inf", "--in-place"], None, None),
            ("cuBLASLt, Inf bias per batch member",
             ["lt_app"] + small + ["--epilogue", "bias", "--bias-value", "inf", "--batch", "2",
                                   "--bias-stride", "8"], False, "bias"),
            ("cuDNN fused forward overflow", ["dnn_app", "--op", "fwd-bias-act", "--bvalue", "20"],
             True, None),
            ("cuDNN fused forward, Inf bias", ["dnn_app", "--op", "fwd-bias-act", "--bias", "inf"],
             False, "bias"),
            ("cuDNN graph convolution overflow", ["dnn_app", "--op", "graph-conv", "--compute",
                                                  "FLOAT", "--value", "16", "--r", "8192"],
             True, None),
            ("cuDNN graph convolution, Inf in x", ["dnn_app", "--op", "graph-conv", "--value", "inf"],
             False, "x"),
            ("cuDNN fused conv + bias + ReLU graph overflow",
             ["dnn_app", "--op", "graph-conv-bias-relu", "--compute", "FLOAT", "--value", "16",
              "--r", "8192"], True, None),
            ("cuDNN fused conv + bias + ReLU graph, Inf bias",
             ["dnn_app", "--op", "graph-conv-bias-relu", "--bias", "inf"], False, "b"),
            ("cuDNN ReLU backward (pointwise RELU_BWD), Inf in dy",
             ["dnn_app", "--op", "graph-drelu", "--value", "inf"], False, "dy"),
            ("cuDNN attention (SDPA_FWD operation), Inf in q",
             ["dnn_app", "--op", "graph-sdpa", "--r", "64", "--value", "inf"], False, "q"),
            ("cuDNN BatchNorm training (as PyTorch calls it), scale 1e5 overflows y",
             ["bn_app", "--op", "train-ex", "--scale", "100000"], True, None),
            ("cuDNN BatchNorm inference, negative running variance",
             ["bn_app", "--op", "infer", "--var", "-1"], True, None),
            ("cuDNN BatchNorm inference, NaN running variance",
             ["bn_app", "--op", "infer", "--var", "nan"], False, "estimatedVariance"),
            ("cuDNN BatchNorm backward, Inf in dy",
             ["bn_app", "--op", "bwd-ex", "--dy", "inf"], False, "dy"),
        ]
        rows, runs, fig = [], [], []
        word = {True: "true", False: "false", None: "null"}
        for label, argv, want, culprit in cases:
            r = self.run("inputs %s" % label, [self.app(argv[0])] + argv[1:], shim=True,
                         env={"SAFEHALF_CHECK_INPUTS": "1"})
            runs.append(r)
            nf = r.events("nonfinite")
            got = nf[0].get("inputs_finite", "absent") if nf else "no record"
            if not nf and not r.ok():
                # Why: a library that refuses the call (cuDNN with no engine
                # for the attention's shape on this device) says so here.
                got += "; exit %s%s" % (r.rc, ", %s: status %s" % (r.kv["failed"], r.kv.get("status", "?"))
                                        if "failed" in r.kv else "")
            inputs = nf[0].get("inputs") or {} if nf else {}
            named = ", ".join("%s %s Inf %s NaN" % (k, v.get("inf"), v.get("nan"))
                              for k, v in inputs.items())
            ok = bool(nf) and got is want and (
                culprit is None or (inputs.get(culprit, {}).get("inf", 0) or 0) +
                (inputs.get(culprit, {}).get("nan", 0) or 0) > 0)
            shown = got if isinstance(got, str) else word.get(got, str(got))
            self.unexpected += not ok
            rows.append([label, word[want], shown, named or "-", "yes" if ok else "**NO**"])
            fig.append({"case": label, "expected": want, "as_expected": ok, "run": r.as_json(),
                        "inputs_finite": None if isinstance(got, str) else got, "inputs": inputs})
        self.table(["call and data", "expected", "inputs_finite", "inputs scanned", "as expected"],
                   rows)
        self.footer(runs)
        self.figures["inputs"] = fig

        # 1g'. What an epilogue writes beside D.
        self.h(3, "cuBLASLt epilogue outputs beside D (`SAFEHALF_CHECK_INPUTS=1`): "
                  "the bias gradient and the GELU input are checked in records of their own")
        long_k = ["--compute", "32F", "--k", "4096", "--m", "8", "--n", "8"]
        cases = [
            # cuBLASLt 13.1 on an H100 offers BGRADB only with B transposed
            # (as in a weight gradient), BGRADA only with A not transposed.
            ("BGRADB, sum over k = 4096 x 20", long_k + ["--value", "0.0001", "--b-value", "20",
                                                       "--epilogue", "bgradb", "--transb"],
             "bias_grad", "g", 8),
            ("BGRADA, sum over k = 4096 x 20", long_k + ["--value", "20", "--b-value", "0.0001",
                                                       "--epilogue", "bgrada"], "bias_grad", "g", 8),
            ("DGELU_BGRAD, sum over 8 columns of 40000",
             ["--compute", "32F", "--k", "16", "--m", "8", "--n", "8", "--value", "50",
              "--b-value", "100", "--epilogue", "dgelu_bgrad"], "bias_grad", "g", 8),
            ("GELU_AUX, 16224 x 16.7", over + ["--epilogue", "gelu_aux"], "aux", "aux", 64),
        ]
        rows, runs, fig = [], [], []
        heur = "status_cublasLtMatmulAlgoGetHeuristic"
        for label, args, output, key, want in cases:
            r = self.run("epilogue %s" % label, [self.app("lt_app")] + args, shim=True,
                         env={"SAFEHALF_CHECK_INPUTS": "1"}, may_fail=True)
            runs.append(r)
            refused = None
            if r.kv.get(heur):
                # No algorithm for it: the library's answer or the shim's doing?
                bare = self.run("epilogue %s without the shim" % label,
                                [self.app("lt_app")] + args, may_fail=True)
                runs.append(bare)
                if bare.kv.get(heur) == r.kv.get(heur):
                    refused = r.kv[heur]
            if not r.ok() and refused is None:
                self.failed += 1
            recs = [e for e in r.events("nonfinite") if e.get("output") == output]
            rec = recs[0] if recs else {}
            inf = r.kv.get(key + "inf", "?")
            ok = r.kv.get("matmul_status") == "0" and inf == str(want) and \
                rec.get("inf") == want and rec.get("inputs_finite") is True
            self.unexpected += not ok and refused is None
            verdict = "yes" if ok else "**NO**"
            if refused is not None:
                verdict = "not run: cuBLASLt offers no algorithm (status %s, without the shim too)" % refused
            rows.append([label, r.kv.get("matmul_status", "?"), inf, output if recs else "none",
                         word.get(rec.get("inputs_finite"), "-") if recs else "-", verdict])
            fig.append({"case": label, "output": output, "as_expected": ok, "run": r.as_json(),
                        "record": rec or None, "library_refused": refused})
        self.table(["epilogue and data", "matmul status", "Inf in that output",
                    "record's output", "inputs_finite", "as expected"], rows)
        self.footer(runs)
        self.figures["epilogue_outputs"] = fig

        # 1h'. A program that looks cuBLAS up with dlsym (JAX/XLA's way).
        self.h(3, "cuBLAS looked up with dlsym on the program's own handle (tests/apps/dlsym_app.c, "
                  "as JAX/XLA does; `CUBLAS_COMPUTE_16F`, 4096 ones)")
        probes = ["--probe", "libcublasLt.so.13", "cublasLtMatmul", "--probe", "libcudnn.so.9",
                  "cudnnBackendExecute"]
        rows, runs, fig = [], [], []
        for label, shim, audit in (("without the shim", False, False),
                                   ("LD_PRELOAD only", True, False),
                                   ("LD_PRELOAD + LD_AUDIT (--follow-dlsym)", True, True)):
            r = self.run("dlsym %s" % label, [self.app("dlsym_app")] + probes, shim=shim,
                         audit=audit)
            runs.append(r)
            calls = r.summary().get("cublasGemmEx", {}).get("calls", 0) if shim else "-"
            rows.append([label, r.kv.get("gemm_in_safehalf", "?"),
                         r.kv.get("in_safehalf_cublasLtMatmul", "?"),
                         r.kv.get("in_safehalf_cudnnBackendExecute", "?"), r.kv.get("status", "?"),
                         r.kv.get("c0", "?"), calls])
            fig.append({"case": label, "run": r.as_json()})
        self.table(["run", "cublasGemmEx in the shim", "cublasLtMatmul in the shim",
                    "cudnnBackendExecute in the shim", "status", "C[0]", "GEMM calls the shim saw"],
                   rows)
        self.p("Expected (not measured: the table above is): under `LD_PRELOAD` alone the lookups "
               "reach the real library (C[0] = 2048 where the sum stalls in FP16); with the audit "
               "module they reach the shim (4096).")
        self.footer(runs)
        self.figures["dlsym"] = fig

        # 1h. The kernels against their host twins.
        if not self.args.emu:
            self.h(3, "Scan kernels against their host twins (`scan_gpu verify`)")
            r = self.run("scan_gpu verify", [os.path.join(self.gpu, "scan_gpu"), "verify"],
                         timeout=self.LONG)
            self.md.append("```")
            self.md += [l for l in r.out.splitlines() if l.startswith("verify")] or tail(r.out, 10).splitlines()
            self.md.append("```")
            self.md.append("")
            self.footer([r])
            self.figures["scan_verify"] = r.as_json()

    def section_torch(self):
        if self.args.emu:
            return
        self.h(2, "2. PyTorch end to end (unmodified scripts under `LD_PRELOAD`)")
        py = sys.executable

        # 2a. einsum overflow.
        # The versions as the scripts print them, for a file of this
        # section alone (--only torch), which has no "Machine and versions":
        # a line here, filled in at the end.
        first_run, versions_at = len(self.results), len(self.md)
        self.h(3, "(a) `torch.einsum('bnhw,bchw->bnc', masks, feats)` in FP16 (tests/gpu/einsum_overflow.py)")
        script = os.path.join(ROOT, "tests", "gpu", "einsum_overflow.py")
        a, b = self.both("einsum", [py, script])
        c = self.run("einsum saturate", [py, script], shim=True, env={"SAFEHALF_ON_NONFINITE": "saturate"})
        runs = [a, b, c]
        line = b.kv.get("line") or a.kv.get("line") or "?"
        nf = b.events("nonfinite")
        named = "no nonfinite record"
        if nf:
            frames = nf[0].get("site") or []
            named = "%s, site %s" % (nf[0].get("api"), "; ".join(
                "%s:%s in %s" % (os.path.basename(str(f.get("file"))), f.get("line"), f.get("func"))
                for f in frames[:2]) or "none")
        report = self.run("einsum report", [py, os.path.join(ROOT, "scripts", "safehalf.py"), "report"] +
                          sorted(glob.glob(os.path.join(b.logdir, "*.jsonl"))))
        runs.append(report)
        found = "einsum_overflow.py:%s" % line in report.out
        self.unexpected += not found
        # 7 of the 8 channels overflow in each of 2 x 4 masks (the script's
        # docstring): 56 Infs, whichever GEMM PyTorch picks for the bmm.
        rows = []
        for label, r, shim, sat in (("without the shim", a, False, False), ("default policy", b, True, False),
                                    ("`SAFEHALF_ON_NONFINITE=saturate`", c, True, True)):
            nfr = r.events("nonfinite")
            ok = self.overflow_as_expected(r, nfr, shim, sat, nfr[0].get("api") if nfr else None, 56)
            rows.append([label, r.kv.get("inf", "?"), r.kv.get("finite", "?"), r.kv.get("maxfinite", "?"),
                         len(nfr) if shim else "-", "yes" if ok else "**NO**"])
        self.table(["run", "Inf in output", "finite", "largest finite", "nonfinite records", "as expected"],
                   rows)
        self.p("First record: %s. The report names `einsum_overflow.py:%s` (the einsum's line): **%s**."
               % (named, line, "yes" if found else "NO"))
        self.md.append("```")
        self.md += report.out.splitlines()[:40]
        self.md.append("```")
        self.md.append("")
        self.footer(runs)
        self.figures["torch_einsum"] = {"runs": [r.as_json() for r in runs], "line": line,
                                        "report_names_line": found}

        # 2b. allow_fp16_accumulation.
        self.h(3, "(b) `torch.backends.cuda.matmul.allow_fp16_accumulation = True` (tests/gpu/fp16_accumulation.py)")
        script = os.path.join(ROOT, "tests", "gpu", "fp16_accumulation.py")
        rows, runs = [], []
        # PyTorch's own choice of library, then every GEMM through cuBLASLt.
        for blas, env in (("default", {}), ("cuBLASLt", {"TORCH_BLAS_PREFER_CUBLASLT": "1"})):
            a, b = self.both("fp16acc %s" % blas, [py, script], env=env)
            runs += [a, b]
            for m in ("mlp", "pool"):
                rows.append([m, blas, a.kv.get(m + "_loss_ref", "?"), a.kv.get(m + "_loss", "?"),
                             a.kv.get(m + "_loss_rel_err", "?"), a.kv.get(m + "_out_rel_err", "?"),
                             b.kv.get(m + "_loss", "?"), b.kv.get(m + "_loss_rel_err", "?"),
                             b.kv.get(m + "_out_rel_err", "?")])
        self.table(["model", "GEMM library", "FP32 loss", "FP16 loss without", "loss rel err without",
                    "output rel err without", "FP16 loss with", "loss rel err with", "output rel err with"],
                   rows)
        # From the first run that printed it: a failed run says nothing of the flag.
        flag = ([r.kv["fp16_accumulation"] for r in runs if "fp16_accumulation" in r.kv] or ["?"])[0]
        self.p("PyTorch has the flag: %s. Calls the shim saw (api: calls / upcasts / checked): default: %s; "
               "`TORCH_BLAS_PREFER_CUBLASLT=1`: %s."
               % ({"1": "yes", "0": "NO"}.get(flag, "unknown (no run printed it)"), api_line(runs[1]),
                  api_line(runs[3])))
        self.footer(runs)
        self.figures["torch_fp16_accumulation"] = [r.as_json() for r in runs]

        # 2c. Training.
        # The script's defaults are 200 timed steps after 20 of warm-up.
        steps = ["--steps", "50", "--warmup", "10"] if self.args.quick else []
        self.h(3, "(c) FP16 training, autocast + GradScaler, %s timed steps (tests/gpu/train_fp16.py)"
               % (steps[1] if steps else "200"))
        script = os.path.join(ROOT, "tests", "gpu", "train_fp16.py")
        # The audit module's run says whether PyTorch runs, and how fast, with
        # LD_AUDIT too (it is opt-in until this has been measured).
        configs = (("without the shim", False, {}, False), ("default policy", True, {}, False),
                   ("`SAFEHALF_CHECK=every:16`", True, {"SAFEHALF_CHECK": "every:16"}, False),
                   ("`SAFEHALF_CHECK=off`", True, {"SAFEHALF_CHECK": "off"}, False),
                   ("`SAFEHALF_CHECK=sync`", True, {"SAFEHALF_CHECK": "sync"}, False),
                   ("default policy + `LD_AUDIT` (`--follow-dlsym`)", True, {}, True))
        # Steps/s of one short run moves by 10% and more from run to run (seen
        # on an H100: 264 then 306 for the same program), and the first run of
        # a suite is often slowest: the configurations run in turn, ROUNDS
        # times over, and each figure is the median of its rounds.
        rounds = 1 if self.args.quick or self.args.emu else 3
        by_config = [[] for _ in configs]
        for k in range(rounds):
            for i, (label, shim, env, audit) in enumerate(configs):
                by_config[i].append(self.run("train %s (round %d)" % (label, k + 1), [py, script] + steps,
                                             shim=shim, env=env, audit=audit, timeout=self.LONG))

        def steps_per_s(rs, m):
            return sorted(float(r.kv[m + "_steps_per_s"]) for r in rs if r.kv.get(m + "_steps_per_s"))

        def med(vals):
            return statistics.median(vals) if vals else None

        rows = []
        base = {m: med(steps_per_s(by_config[0], m)) for m in ("transformer", "conv")}
        for (label, _, _, _), rs in zip(configs, by_config):
            row = [label]
            r = rs[0]
            for m in ("transformer", "conv"):
                vals = steps_per_s(rs, m)
                mid = med(vals)
                shown = "?" if mid is None else "%.2f" % mid
                if len(vals) > 1:
                    shown += " (%.2f-%.2f)" % (vals[0], vals[-1])
                row += [shown, ratio(mid, base[m]),
                        "%s -> %s" % (r.kv.get(m + "_loss_first", "?"), r.kv.get(m + "_loss_last", "?")),
                        r.kv.get(m + "_skipped", "?")]
            rows.append(row)
        self.table(["run", "transformer steps/s", "vs without", "transformer loss", "skipped steps",
                    "conv steps/s", "vs without", "conv loss", "skipped steps"], rows)
        self.p("Steps/s: the median of %d rounds (lowest-highest in brackets), the configurations "
               "taking turns in each round; slowdown = 1 - (steps/s with) / (steps/s without) "
               "(DESIGN.md target for the default policy: <= 3%%). Losses and skipped steps: "
               "the first round." % rounds)
        apis = by_config[1][0].summary()
        self.table(["api (default policy run)", "calls", "upcasts", "checked", "nonfinite"],
                   [[k, v["calls"], v["upcasts"], v["checked"], v["nonfinite"]] for k, v in sorted(apis.items())])
        self.footer([r for rs in by_config for r in rs])
        self.figures["torch_training"] = [r.as_json() for rs in by_config for r in rs]

        versions = {}
        for r in self.results[first_run:]:
            for key in ("torch", "cuda", "cudnn", "device"):
                if key in r.kv:
                    versions.setdefault(key, r.kv[key])
        self.md[versions_at:versions_at] = [
            "As the scripts below printed them: PyTorch %s, CUDA %s, cuDNN %s, device %s."
            % tuple(versions.get(k, "?") for k in ("torch", "cuda", "cudnn", "device")), ""]
        self.figures["torch_versions"] = versions

    def section_jax(self):
        if self.args.emu:
            return
        self.h(2, "4. JAX/XLA end to end (cuBLAS looked up with dlsym: `--follow-dlsym`)")
        self.h(3, "`jnp.einsum('bnhw,bchw->bnc', masks, feats)` in FP16 (tests/gpu/jax_einsum.py)")
        script = os.path.join(ROOT, "tests", "gpu", "jax_einsum.py")
        py = sys.executable
        configs = (("without the shim", False, False, {}),
                   ("LD_PRELOAD only", True, False, {}),
                   ("LD_PRELOAD + LD_AUDIT (`--follow-dlsym`)", True, True, {}),
                   ("`--follow-dlsym`, `SAFEHALF_ON_NONFINITE=saturate`", True, True,
                    {"SAFEHALF_ON_NONFINITE": "saturate"}))
        runs = [self.run("jax %s" % label, [py, script], shim=shim, audit=audit, env=env,
                         timeout=self.LONG)
                for label, shim, audit, env in configs]
        rows = []
        for (label, shim, audit, env), r in zip(configs, runs):
            nf = r.events("nonfinite")
            if shim and not audit:
                # Not a finding of the shim's: whether XLA's lookups pass by
                # LD_PRELOAD, as REFERENCE.md says they do.
                verdict = "- (what XLA does)"
            else:
                ok = self.overflow_as_expected(r, nf, shim, bool(env), nf[0].get("api") if nf else None, 56)
                verdict = "yes" if ok else "**NO**"
            rows.append([label, r.kv.get("inf", "?"), r.kv.get("finite", "?"), r.kv.get("maxfinite", "?"),
                         api_line(r) if shim else "-", len(nf) if shim else "-",
                         nf[0].get("api", "?") if nf else "-", verdict])
        self.table(["run", "Inf in output", "finite", "largest finite",
                    "calls the shim saw (api: calls / upcasts / checked)", "nonfinite records",
                    "first record's api", "as expected"], rows)
        followed = runs[2]
        report = self.run("jax report", [py, os.path.join(ROOT, "scripts", "safehalf.py"), "report"] +
                          sorted(glob.glob(os.path.join(followed.logdir, "*.jsonl"))), may_fail=True)
        line = followed.kv.get("line") or runs[0].kv.get("line") or "?"
        self.p("JAX %s (jaxlib %s) on %s. The report of the `--follow-dlsym` run names "
               "`jax_einsum.py:%s` (the einsum's line; XLA may run the GEMM from a thread of its "
               "own, where there is no Python call site): %s."
               % (runs[0].kv.get("jax", "?"), runs[0].kv.get("jaxlib", "?"), runs[0].kv.get("device", "?"),
                  line, "yes" if "jax_einsum.py:%s" % line in report.out else "no"))
        self.md.append("```")
        self.md += report.out.splitlines()[:40]
        self.md.append("```")
        self.md.append("")
        self.footer(runs + [report])
        self.figures["jax_einsum"] = {"runs": [r.as_json() for r in runs + [report]], "line": line}

    def section_perf(self):
        self.h(2, "3. Performance")
        if not self.args.emu:
            self.h(3, "Inf/NaN scan vs device-to-device copy (`scan_gpu bandwidth`)")
            r = self.run("scan bandwidth", [os.path.join(self.gpu, "scan_gpu"), "bandwidth"])
            self.md.append("```")
            # The table comes at the end; a run killed before it has printed
            # each size it measured as a key=value line.
            table = [l for l in r.out.splitlines() if l.strip() and "=" not in l.split()[0]]
            self.md += table if any("size_MiB" in l for l in table) else tail(r.out, 40).splitlines()
            self.md += [l for l in r.out.splitlines() if l.startswith("tiny_")]
            self.md.append("```")
            self.md.append("")
            self.footer([r])
            self.figures["scan_bandwidth"] = {"run": r.as_json(), "output": r.out}

        self.h(3, "FP16 GEMM throughput (tests/gpu/gemm_speed.c, A/B/C FP16, random data)")
        # The issue's two cubes, and an attention-like k = 128, where the scan
        # of the output costs the most next to the GEMM (DESIGN.md's cost model).
        sizes = [(64, 64, 64)] if self.args.emu else [(4096, 4096, 4096), (8192, 8192, 8192),
                                                     (8192, 8192, 128)]
        rows, runs, fig = [], [], []
        for m, n, k in sizes:
            shape = "%d^3" % m if m == n == k else "%d x %d x %d" % (m, n, k)
            base = None
            for i, (label, compute, shim, env) in enumerate((
                    ("COMPUTE_16F, no shim", "16F", False, {}),
                    ("COMPUTE_32F, no shim", "32F", False, {}),
                    ("COMPUTE_16F under the shim (upcast), checks off", "16F", True, {"SAFEHALF_CHECK": "off"}),
                    ("COMPUTE_16F under the shim (upcast + check)", "16F", True, {}),
                    ("COMPUTE_32F under the shim (pass + check)", "32F", True, {}))):
                argv = [os.path.join(self.gpu, "gemm_speed"), "--m", str(m), "--n", str(n), "--k", str(k),
                        "--compute", compute]
                if self.args.emu:
                    argv += ["--iters", "2", "--reps", "2", "--warmup", "1"]
                r = self.run("gemm_speed %s %s" % (shape, label), argv, shim=shim, env=env)
                runs.append(r)
                t = r.kv.get("tflops_median")
                # The column compares with the first configuration only: if
                # that run gave no figure, there is nothing to compare with.
                if i == 0:
                    base = t
                # What the shim did to the GEMMs: a "check" row whose scans
                # were not launched measured no check.
                gemm = r.summary().get("cublasGemmEx") if shim else None
                did = "-" if not shim else "no summary" if gemm is None else "%d / %d / %d" % (
                    gemm["calls"], gemm["upcasts"], gemm["checked"])
                rows.append([shape, label, r.kv.get("tflops_best", "?"), t or "?",
                             r.kv.get("ms_median", "?"), ratio(t, base, slowdown=False), did])
                fig.append({"m": m, "n": n, "k": k, "config": label, "run": r.as_json()})
        self.table(["m x n x k", "configuration", "TFLOP/s best", "TFLOP/s median", "ms median",
                    "vs COMPUTE_16F no shim", "GEMMs: calls / upcast / checked"], rows)
        self.footer(runs)
        self.figures["gemm_speed"] = fig

    # ---- driver ----------------------------------------------------------

    def write(self, sections):
        title = "# GPU suite%s, %s" % (" (EMULATED backend: not GPU figures)" if self.args.emu else "",
                                        datetime.date.today().isoformat())
        text = "\n".join([title, "", "Written by `scripts/gpu-suite` (scripts/gpu_suite.py); "
                          "sections: %s. Every figure below was printed by the command listed under it."
                          % ", ".join(sections), "", "%d runs, %d failed, %d with warnings of the shim; "
                          "%d findings not as expected (rows marked NO)."
                          % (len(self.results), self.failed, sum(1 for r in self.results if r.warnings()),
                             self.unexpected)]
                         + self.md) + "\n"
        if self.args.out:
            with open(self.args.out, "w") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
        if self.args.json:
            with open(self.args.json, "w") as f:
                json.dump({"sections": sections, "emu": self.args.emu, "failed": self.failed,
                           "not_as_expected": self.unexpected, "figures": self.figures,
                           "runs": [r.as_json() for r in self.results]}, f, indent=1)


TORCH_VERSIONS = """
import torch
print("torch=%s" % torch.__version__)
print("torch_cuda=%s" % torch.version.cuda)
print("torch_cudnn=%s" % torch.backends.cudnn.version())
print("torch_device=%s" % torch.cuda.get_device_name())
a = torch.ones(64, 64, device="cuda", dtype=torch.float16)
(a @ a).sum().item()
torch.nn.functional.conv2d(torch.ones(1, 8, 8, 8, device="cuda", dtype=torch.float16),
                           torch.ones(8, 8, 3, 3, device="cuda", dtype=torch.float16)).sum().item()
"""


def loaded_libs(res, who):
    """Rows naming the libraries a run's shim resolved (its start record)."""
    rows = []
    for r in res.events("start")[:1]:
        for lib, v in sorted((r.get("libs") or {}).items()):
            if v and v.get("path"):
                rows.append(("%s (%s)" % (lib, who), "%s, version %s" % (v.get("path"), v.get("version"))))
    return rows


def run_text(argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)


def tail(text, n):
    return "\n".join((text or "").rstrip().splitlines()[-n:])


def fmt_err(v):
    try:
        return "%.2e" % float(v)
    except (TypeError, ValueError):
        return "?" if v is None else v


def ratio(v, base, slowdown=True):
    """'-3.1%' style slowdown of v against base (or 'x0.97' for throughput ratios)."""
    try:
        v, base = float(v), float(base)
    except (TypeError, ValueError):
        return "?"
    if base <= 0:
        return "?"
    if slowdown:
        return "%+.1f%%" % (100.0 * (v / base - 1.0))
    return "x%.3f" % (v / base)


def action(res):
    """What the shim did to the run's calls, from its summary: 'upcast' when it rewrote any."""
    if not res.shim:
        return "-"
    apis = res.summary()
    if not apis:
        return "no summary"
    up = [k for k, v in sorted(apis.items())
          if v["upcasts"] and k not in ("cublasCreate_v2", "cublasSetMathMode")]
    nf = sum(v["nonfinite"] for v in apis.values())
    return ("upcast: " + ", ".join(up) if up else "pass") + ("; %d nonfinite" % nf if nf else "")


def stop_group(p, grace=5):
    """Ends the process group of p (a session of its own, see Suite.run):
    SIGTERM, then SIGKILL after `grace` seconds (at once with grace 0).
    Returns what p wrote; a process that left the group and holds the
    pipes is given `grace` seconds more, then its pipes are closed on it."""
    partial = None
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, max(grace, 1))):
        try:
            os.killpg(p.pid, sig)
        except OSError:  # the group is gone already
            pass
        if not wait:
            continue
        try:
            return p.communicate(timeout=wait)
        except subprocess.TimeoutExpired as e:
            partial = e
    for f in (p.stdout, p.stderr):
        f.close()
    p.wait()
    return tuple(x if isinstance(x, str) else (x or b"").decode(errors="replace")
                 for x in (partial.stdout, partial.stderr))


def api_line(res):
    apis = res.summary()
    return ", ".join("%s: %d / %d / %d" % (k, v["calls"], v["upcasts"], v["checked"])
                     for k, v in sorted(apis.items())) or "none"


class Stopped(BaseException):
    """SIGTERM: the suite ends at once and writes what it has. A lent
    machine's call that reaches its length is ended so (timeout(1) sends
    SIGTERM to the whole process group); a BaseException, so that a
    section's own error handling does not carry on past it."""


def stop(signum, frame):
    raise Stopped(signal.Signals(signum).name)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--out")
    ap.add_argument("--json")
    ap.add_argument("--only", default="env,numerics,perf,torch,jax")
    ap.add_argument("--emu", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--commit")
    ap.add_argument("--command")
    ap.add_argument("--app-libs", help="folders appended to LD_LIBRARY_PATH for the C programs")
    ap.add_argument("--time-limit", type=int, metavar="SECONDS",
                    help="no program runs past this many seconds from now")
    args = ap.parse_args(argv)
    sections = [s for s in args.only.split(",") if s]
    unknown = [s for s in sections if s not in ("env", "numerics", "torch", "jax", "perf")]
    if unknown:
        ap.error("unknown section(s): %s (accepted: env, numerics, torch, jax, perf)" % ", ".join(unknown))
    suite = Suite(args)
    if not os.path.exists(suite.lib):
        ap.error("%s not found: build first (scripts/gpu-suite does)" % suite.lib)
    signal.signal(signal.SIGTERM, stop)
    current = None
    try:
        for s in sections:
            current = s
            try:
                getattr(suite, "section_" + s)()
            except Exception as e:  # a bug here must not lose the figures already taken
                suite.failed += 1
                suite.p("**The suite itself failed in section %s: %s: %s**" % (s, type(e).__name__, e))
                sys.stderr.write("gpu-suite: section %s failed: %r\n" % (s, e))
            # After each section: a run killed at its time limit keeps what it measured.
            if args.out:
                suite.write(sections)
        current = None
    except Stopped as e:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        suite.failed += 1
        suite.p("**The suite was stopped (%s) in section %s: the tables of that section's runs made "
                "so far are missing here (the JSON file's `runs` has every run made), and the "
                "runs and sections after it were not made.**" % (e, current))
        sys.stderr.write("gpu-suite: stopped (%s) in section %s\n" % (e, current))
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        suite.write(sections)
        shutil.rmtree(suite.logroot, ignore_errors=True)
    sys.stderr.write("gpu-suite: %d runs, %d failed, %d findings not as expected\n"
                     % (len(suite.results), suite.failed, suite.unexpected))
    return 1 if suite.failed or suite.unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
