"""Host cost of a cuBLAS GEMM made from Python code, as PyTorch's forward pass
makes it: through ctypes, from a few nested Python functions. Run it on the
emulated backend with EMU_NULL_COMPUTE=1, with and without the shim (and with
SAFEHALF_PYSTACK=0 / 8): the differences are what the shim and its Python
call-site capture add to each call.

  python3 bench_pysite.py [--gil released|held] [--batches N] [--calls N]

--gil released (default): ctypes.CDLL, which releases the GIL around the
call, as PyTorch's ops do (the shim then takes it for the capture); held:
ctypes.PyDLL.

Prints gil, calls, median_ns, p10_ns, p90_ns: nanoseconds per call over
batches of back-to-back calls (the median of the batches' averages).
"""
import argparse
import ctypes
import statistics
import struct
import time


def setup(gil):
    for name in ("libcudart.so.13", "libcublas.so.13"):
        ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
    lib = (ctypes.PyDLL if gil == "held" else ctypes.CDLL)(None)
    vp, i = ctypes.c_void_p, ctypes.c_int
    lib.cudaMalloc.argtypes = [ctypes.POINTER(vp), ctypes.c_size_t]
    lib.cublasCreate_v2.argtypes = [ctypes.POINTER(vp)]
    lib.cublasGemmEx.argtypes = [vp, i, i, i, i, i, vp, vp, i, i, vp, i, i, vp, vp, i, i, i, i]
    handle = vp()
    if lib.cublasCreate_v2(ctypes.byref(handle)):
        raise SystemExit("cublasCreate failed")
    bufs = []
    for _ in range(3):
        p = vp()
        if lib.cudaMalloc(ctypes.byref(p), 2):
            raise SystemExit("cudaMalloc failed")
        bufs.append(p)
    return lib, handle, bufs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gil", choices=["released", "held"], default="released")
    ap.add_argument("--batches", type=int, default=101)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    lib, handle, (a, b, c) = setup(args.gil)
    alpha, beta = ctypes.c_float(1.0), ctypes.c_float(0.0)
    pa, pb = ctypes.byref(alpha), ctypes.byref(beta)
    gemm = lib.cublasGemmEx
    # 1 x 1 x 1, FP16 data, FP32 compute: nothing to upcast; CUDA_R_16F = 2,
    # CUBLAS_COMPUTE_32F = 68, CUBLAS_GEMM_DEFAULT = -1.

    def layer():
        return gemm(handle, 0, 0, 1, 1, 1, pa, a, 2, 1, b, 2, 1, pb, c, 2, 1, 68, -1)

    def block():
        return layer()

    def model(n):
        status = 0
        for _ in range(n):
            status |= block()
        return status

    if model(100):
        raise SystemExit("cublasGemmEx failed")
    per_call = []
    for _ in range(args.batches):
        t0 = time.perf_counter_ns()
        model(args.calls)
        per_call.append((time.perf_counter_ns() - t0) / args.calls)
    per_call.sort()
    q = statistics.quantiles(per_call, n=10)
    print("gil=%s" % args.gil)
    print("calls=%d" % (args.batches * args.calls))
    print("median_ns=%.0f" % statistics.median(per_call))
    print("p10_ns=%.0f" % q[0])
    print("p90_ns=%.0f" % q[-1])


if __name__ == "__main__":
    main()
