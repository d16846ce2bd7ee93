"""An ordinary PyTorch script (it knows nothing of safehalf): the FP16
einsum that overflows although cuBLAS accumulates it in FP32.

torch.einsum('bnhw,bchw->bnc', masks, feats) sums, for each mask and
channel, the features under the mask. With a mask area of 16,224 pixels and
features up to 16.7 the sums reach 270,990, above FP16's largest finite
value (65,504): those outputs are +Inf. Channel j's features are scaled by
(j + 1) / c, so the low channels stay finite and the high ones overflow.

Prints one key=value per line: torch, cuda, device, area, inf, nan,
finite, maxfinite (largest finite |x| of the output), and line (this file's
line that makes the einsum, for the caller to look for in the report).
"""
import inspect

import torch


def masked_sums(masks, feats):
    line = inspect.currentframe().f_lineno + 1
    out = torch.einsum("bnhw,bchw->bnc", masks, feats)
    return out, line


def main():
    torch.manual_seed(0)
    b, n, c, h, w = 2, 4, 8, 128, 128
    area = 16224
    dev = torch.device("cuda")
    masks = torch.zeros(b, n, h * w, device=dev, dtype=torch.float16)
    masks[:, :, :area] = 1.0
    masks = masks.view(b, n, h, w)
    scale = (torch.arange(c, device=dev, dtype=torch.float32) + 1.0) / c
    feats = (torch.full((b, c, h, w), 16.7, device=dev) * scale.view(1, c, 1, 1)).half()
    out, line = masked_sums(masks, feats)
    torch.cuda.synchronize()
    out = out.float()
    finite = torch.isfinite(out)
    print("torch=%s" % torch.__version__)
    print("cuda=%s" % torch.version.cuda)
    print("device=%s" % torch.cuda.get_device_name())
    print("area=%d" % area)
    print("inf=%d" % int(torch.isinf(out).sum()))
    print("nan=%d" % int(torch.isnan(out).sum()))
    print("finite=%d" % int(finite.sum()))
    print("maxfinite=%.9g" % float(out[finite].abs().max()) if bool(finite.any()) else "maxfinite=0")
    print("line=%d" % line)


if __name__ == "__main__":
    main()
