"""An ordinary JAX script (it knows nothing of safehalf): the FP16 einsum of
tests/gpu/einsum_overflow.py, through XLA.

jnp.einsum('bnhw,bchw->bnc', masks, feats) with a mask area of 16,224 and
features up to 16.7: the sums reach 270,990, above FP16's largest finite
value, whatever the accumulation: 7 of 8 channels of each of 2 x 4 masks,
56 outputs, are +Inf. XLA loads cuBLAS itself and looks its entry points up
with dlsym on its own handle, which LD_PRELOAD alone does not reach and
`safehalf --follow-dlsym` (LD_AUDIT) does.

XLA picks its own Triton GEMM kernels or cuBLAS by autotuning; only cuBLAS
is a library call, so Triton GEMMs are turned off
(XLA_FLAGS=--xla_gpu_enable_triton_gemm=false), as a user who wants the
GEMMs seen would do. JAX is told not to take 75% of the GPU's memory up
front (XLA_PYTHON_CLIENT_PREALLOCATE=false).

Prints one key=value per line: jax, jaxlib, device, inf, nan, finite,
maxfinite (largest finite |x| of the output), line (this file's line that
makes the einsum).
"""
import inspect
import os

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_gpu_enable_triton_gemm=false").strip()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jaxlib  # noqa: E402
import numpy as np  # noqa: E402


def masked_sums(masks, feats):
    line = inspect.currentframe().f_lineno + 1
    out = jnp.einsum("bnhw,bchw->bnc", masks, feats)
    return out.block_until_ready(), line


def main():
    b, n, c, h, w = 2, 4, 8, 128, 128
    area = 16224
    masks = np.zeros((b, n, h * w), np.float32)
    masks[:, :, :area] = 1.0
    scale = (np.arange(c, dtype=np.float32) + 1.0) / c
    feats = np.full((b, c, h, w), 16.7, np.float32) * scale.reshape(1, c, 1, 1)
    gpu = jax.devices("gpu")[0]
    masks = jax.device_put(jnp.asarray(masks.reshape(b, n, h, w), jnp.float16), gpu)
    feats = jax.device_put(jnp.asarray(feats, jnp.float16), gpu)
    out, line = masked_sums(masks, feats)
    out = np.asarray(out, np.float32)
    finite = np.isfinite(out)
    print("jax=%s" % jax.__version__)
    print("jaxlib=%s" % jaxlib.__version__)
    print("device=%s" % gpu.device_kind)
    print("inf=%d" % int(np.isinf(out).sum()))
    print("nan=%d" % int(np.isnan(out).sum()))
    print("finite=%d" % int(finite.sum()))
    print("maxfinite=%.9g" % float(np.abs(out[finite]).max()) if finite.any() else "maxfinite=0")
    print("line=%d" % line)


if __name__ == "__main__":
    main()
