"""scripts/gpu_suite.py, the GPU suite's runner, on the emulated libraries
(--emu): it must run every program without and with the shim, read their
figures and the shim's logs, and write them to Markdown and JSON. The
emulation's numbers are exact, so the figures it reads are checked here;
a GPU run then only changes which libraries answer."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
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
             "env,numerics,torch,perf", "--out", cls.md_path, "--json", cls.json_path,
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
        self.assertIn("gpu-suite: %d runs, 0 failed" % len(self.doc["runs"]), self.proc.stderr)
        self.assertGreater(len(self.doc["runs"]), 50)
        for r in self.doc["runs"]:
            self.assertEqual(r["rc"], 0, r)

    def test_marked_emulated(self):
        self.assertIn("EMULATED", self.md.splitlines()[0])
        self.assertIn("| repository commit | abc123 |", self.md)
        self.assertIn("tests/emu/libcublas.so.13", self.fig["env"]["cublas (apps)"])

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
        s = pick(self.fig["splitk"], k=4096)
        self.assertEqual((s["without"]["values"]["c0"], s["with"]["values"]["c0"]), ("1", "1.75"))
        d = pick(self.fig["reductions"], op="dot")
        self.assertEqual((d["without"]["values"]["result"], d["with"]["values"]["result"]),
                         ("2048", "4096"))
        lt = pick(self.fig["cublaslt"], compute="16F", k=4096, algo="null")
        self.assertEqual((lt["without"]["values"]["d0"], lt["with"]["values"]["d0"]), ("1024", "2048"))
        for op in ("fwd", "bwd-filter", "graph-conv"):
            c = pick(self.fig["cudnn"], op=op)
            self.assertEqual((c["without"]["values"]["out0"], c["with"]["values"]["out0"]),
                             ("2048", "4096"), op)

    def test_overflow_saturate(self):
        runs = {r["command"]: r for r in self.fig["overflow"]}
        sat = [r for c, r in runs.items() if "saturate" in c][0]
        self.assertEqual((sat["values"]["inf"], sat["values"]["maxfinite"]), ("0", "65504"))
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


if __name__ == "__main__":
    unittest.main()
