"""pysite_app: a Python program that issues cuBLAS calls through ctypes, from
nested functions, as PyTorch's forward pass does from Python code. It knows
nothing of safehalf. The GEMM is the einsum overflow of overflow_app.c:
cublasGemmStridedBatchedEx, FP16 data, FP32 compute, k = 16224 products of
1 x 16.7 -> +Inf in every output element.

  python3 pysite_app.py [--calls N] [--value V] [--gil held|released]
                        [--thread NAME] [--two-sites] [--crash] [--kill]
                        [--own-handle] [--many-stacks N] [--nest D]
                        [--deep D] [--non-ascii] [--subinterpreter]
                        [--survive-abort]

  --gil held      call through ctypes.PyDLL, which keeps the GIL during the
                  call; released (default): ctypes.CDLL, which releases it
                  (as PyTorch's ops do)
  --thread NAME   make the calls from a threading.Thread named NAME
  --two-sites     also call from a second line (the einsum with k = 16)
  --busy-thread   another Python thread runs Python code (holding the GIL
                  most of the time) while the calls are made
  --crash         after the calls, read address 0 (SIGSEGV)
  --kill          after the calls, SIGKILL itself
  --survive-abort a SIGABRT handler (signal.signal) installed before the
                  first call; after the calls, SIGABRT sent to itself
                  (os.kill), which the handler handles (it prints
                  handled=SIGABRT), then the small einsum (--two-sites)
                  once: the program goes on and exits normally
  --own-handle    call cuBLAS through the handle ctypes.CDLL("libcublas.so.13")
                  returns (each function looked up with dlsym on it, as JAX's
                  and many ctypes programs' calls are), not the global scope
  --many-stacks N after the calls, the small einsum from N different stacks:
                  each from a function of its own in a file with a long
                  name (about 270 bytes), which calls itself D times
                  (--nest, default 30) before the call
  --deep D        after the calls, the einsum once more (bmm) from such a
                  function, which calls itself D times before the call
  --subinterpreter  run all this in a sub-interpreter (_xxsubinterpreters);
                  prints subinterpreter=0 and runs in the main one where
                  this Python has none
  --non-ascii     after the calls, the einsum once more (bmm) from a
                  function named f + 100 x "\u00e9" (201 bytes of UTF-8) in
                  a file /generated/ + 200 x "\u00e9" + /stack.py (420 bytes)

Prints key=value lines: status (0 when every call succeeded), out0 (first
output element), inf, line_NAME for each line marked SITE=NAME (bmm and
small make the calls; attention and forward lead to bmm), tid and comm (the
calling thread's id and native name), qualname (1 when this Python names
methods Class.method in code objects: 3.11+).
"""
import argparse
import ctypes
import os
import re
import signal
import struct
import sys
import threading

HERE_LINES = {}


def find_lines():
    marker = re.compile(r"#\s*SITE\s*=\s*(\w+)\s*$")
    with open(__file__) as f:
        for number, text in enumerate(f, 1):
            found = marker.search(text)
            if found:
                HERE_LINES[found.group(1)] = number


class Cuda:
    def __init__(self, gil, own_handle=False):
        # Loaded into the global scope and called through it, as a Python
        # extension linked against cuBLAS calls it (a function looked up on
        # the library's own handle would bypass anything preloaded: that is
        # --own-handle).
        loader = ctypes.PyDLL if gil == "held" else ctypes.CDLL
        if own_handle:
            self.rt = loader("libcudart.so.13")
            self.blas = loader("libcublas.so.13")
        else:
            for name in ("libcudart.so.13", "libcublas.so.13"):
                ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
            self.rt = self.blas = loader(None)
        vp = ctypes.c_void_p
        self.rt.cudaMalloc.argtypes = [ctypes.POINTER(vp), ctypes.c_size_t]
        self.rt.cudaMemcpy.argtypes = [vp, vp, ctypes.c_size_t, ctypes.c_int]
        self.rt.cudaDeviceSynchronize.argtypes = []
        self.rt.cudaFree.argtypes = [vp]
        self.blas.cublasCreate_v2.argtypes = [ctypes.POINTER(vp)]
        self.blas.cublasDestroy_v2.argtypes = [vp]
        i, ll = ctypes.c_int, ctypes.c_longlong
        self.blas.cublasGemmStridedBatchedEx.argtypes = [
            vp, i, i, i, i, i, vp, vp, i, i, ll, vp, i, i, ll, vp, vp, i, i, ll, i, i, i]
        self.handle = vp()
        self.status = self.blas.cublasCreate_v2(ctypes.byref(self.handle))

    def upload(self, values):
        data = struct.pack("<%de" % len(values), *values)
        ptr = ctypes.c_void_p()
        self.status |= self.rt.cudaMalloc(ctypes.byref(ptr), len(data))
        self.status |= self.rt.cudaMemcpy(ptr, data, len(data), 1)
        return ptr

    def download(self, ptr, count):
        buf = ctypes.create_string_buffer(2 * count)
        self.status |= self.rt.cudaMemcpy(buf, ptr, 2 * count, 2)
        return struct.unpack("<%de" % count, buf.raw)


CUDA_R_16F, CUBLAS_COMPUTE_32F, OP_N, OP_T = 2, 68, 0, 1


class Model:
    """bmm(feats^T, masks) per batch: what einsum('bnhw,bchw->bnc') does."""

    def __init__(self, cuda, k, value, b=2, n=3, c=4):
        self.cuda, self.k, self.b, self.n, self.c = cuda, k, b, n, c
        self.feats = cuda.upload([value] * (b * c * k))
        self.masks = cuda.upload([1.0] * (b * n * k))
        self.out = cuda.upload([0.0] * (b * c * n))
        self.out_small = cuda.upload([0.0] * (b * c * n))
        self.alpha = ctypes.c_float(1.0)
        self.beta = ctypes.c_float(0.0)

    def forward(self):
        return self.attention()  # SITE=forward

    def attention(self):
        return bmm(self)  # SITE=attention


def bmm(m):
    cuda = m.cuda
    return cuda.blas.cublasGemmStridedBatchedEx(  # SITE=bmm
        cuda.handle, OP_T, OP_N, m.c, m.n, m.k, ctypes.byref(m.alpha),
        m.feats, CUDA_R_16F, m.k, m.c * m.k, m.masks, CUDA_R_16F, m.k, m.n * m.k,
        ctypes.byref(m.beta), m.out, CUDA_R_16F, m.c, m.c * m.n, m.b,
        CUBLAS_COMPUTE_32F, -1)


def small(m):
    cuda = m.cuda
    return cuda.blas.cublasGemmStridedBatchedEx(  # SITE=small
        cuda.handle, OP_T, OP_N, m.c, m.n, 16, ctypes.byref(m.alpha),
        m.feats, CUDA_R_16F, m.k, m.c * m.k, m.masks, CUDA_R_16F, m.k, m.n * m.k,
        ctypes.byref(m.beta), m.out_small, CUDA_R_16F, m.c, m.c * m.n, m.b,
        CUBLAS_COMPUTE_32F, -1)


def nested(call, file="/generated/" + "d" * 250 + "/stack.py", func="nest"):
    """A new function, in a file with a long name, that calls itself d times
    and then call(m)."""
    src = ("def %s(m, d):\n"
           "    return %s(m, d - 1) if d else call(m)\n") % (func, func)
    scope = {"call": call}
    exec(compile(src, file, "exec"), scope)
    return scope[func]


def many_stacks(model, count, nest):
    status = 0
    for i in range(count):
        status |= nested(small)(model, nest)
    return status


def run(args, results):
    cuda = Cuda(args.gil, args.own_handle)
    model = Model(cuda, 16224, args.value)
    status = cuda.status
    for _ in range(args.calls):
        status |= model.forward()
        if args.two_sites:
            status |= small(model)
    if args.many_stacks:
        status |= many_stacks(model, args.many_stacks, args.nest)
    if args.deep:
        status |= nested(bmm)(model, args.deep)
    if args.non_ascii:
        status |= nested(bmm, "/generated/" + "\u00e9" * 200 + "/stack.py",
                         "f" + "\u00e9" * 100)(model, 0)
    if args.survive_abort:
        os.kill(os.getpid(), signal.SIGABRT)  # the handler main() installed runs here
        status |= small(model)
    out = cuda.download(model.out, model.b * model.c * model.n)
    status |= cuda.status
    tid = threading.get_native_id()
    with open("/proc/self/task/%d/comm" % tid) as f:
        comm = f.read().strip()
    results.update(status=status, out0=out[0],
                   inf=sum(1 for x in out if x in (float("inf"), float("-inf"))),
                   tid=tid, comm=comm)


def in_subinterpreter():
    try:
        import _xxsubinterpreters as interpreters
    except ImportError:
        print("subinterpreter=0")
        return None
    argv = [a for a in sys.argv if a != "--subinterpreter"]
    code = ("import runpy, sys\n"
            "sys.argv = %r\n"
            "try:\n"
            "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "except SystemExit as e:\n"
            "    sys.stdout.flush()\n"
            "    assert not e.code, e.code\n" % (argv,))
    interp = interpreters.create()
    interpreters.run_string(interp, code)  # raises when it failed
    print("subinterpreter=1")
    return 0


def main():
    if "--subinterpreter" in sys.argv:
        status = in_subinterpreter()
        if status is not None:
            return status
        sys.argv.remove("--subinterpreter")
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--value", type=float, default=16.7)
    parser.add_argument("--gil", choices=["held", "released"], default="released")
    parser.add_argument("--thread")
    parser.add_argument("--two-sites", action="store_true")
    parser.add_argument("--crash", action="store_true")
    parser.add_argument("--kill", action="store_true")
    parser.add_argument("--busy-thread", action="store_true")
    parser.add_argument("--own-handle", action="store_true")
    parser.add_argument("--many-stacks", type=int, default=0)
    parser.add_argument("--nest", type=int, default=30)
    parser.add_argument("--deep", type=int, default=0)
    parser.add_argument("--non-ascii", action="store_true")
    parser.add_argument("--survive-abort", action="store_true")
    args = parser.parse_args()
    if args.survive_abort:
        signal.signal(signal.SIGABRT, lambda signum, frame: print("handled=SIGABRT"))
    find_lines()
    results = {}
    stop = threading.Event()
    if args.busy_thread:
        def spin():
            n = 0
            while not stop.is_set():
                n += 1
        busy = threading.Thread(target=spin, name="busy")
        busy.start()
    if args.thread:
        t = threading.Thread(target=run, args=(args, results), name=args.thread)
        t.start()
        t.join()
    else:
        run(args, results)
    stop.set()
    for key in ("status", "out0", "inf", "tid", "comm"):
        print("%s=%s" % (key, results.get(key)))
    print("qualname=%d" % (sys.version_info >= (3, 11)))
    for name in sorted(HERE_LINES):
        print("line_%s=%d" % (name, HERE_LINES[name]))
    if args.crash:
        ctypes.string_at(0)
    if args.kill:
        os.kill(os.getpid(), signal.SIGKILL)
    return 0 if results.get("status") == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
