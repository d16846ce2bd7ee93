"""An ordinary PyTorch script (it knows nothing of safehalf): FP16 models
with long reductions, run with torch.backends.cuda.matmul.
allow_fp16_accumulation = True (PyTorch 2.7+; cuBLAS then accumulates FP16
GEMMs in FP16, for speed), compared with the same models in FP32.

Two models, each a forward pass and an MSE loss against a fixed target:
  mlp    Linear(16384, 1024) -> GELU -> Linear(1024, 16384), inputs in
         [0, 1): sums of 16,384 products in the first layer.
  pool   Linear(65536, 64) with every weight 1/65536 (a mean over 65,536
         features, as a pooling layer made of a matmul does), inputs in
         [0, 1): each output is about 0.5, and FP16 accumulation stalls long
         before the last of the 65,536 terms of about 7.6e-6 is added.

Prints one key=value per line: torch, cuda, fp16_accumulation (whether
PyTorch has the flag), then for each model NAME: NAME_loss (FP16),
NAME_loss_ref (FP32 weights and inputs, the same values), NAME_loss_rel_err
(|loss - ref| / |ref|), NAME_out_rel_err (max |out - ref| / max |ref| over
the outputs), NAME_inf, NAME_nan (in the FP16 outputs).
"""
import torch
import torch.nn as nn


def compare(name, model, x, target):
    with torch.no_grad():
        ref_model = model.float()
        ref = ref_model(x.float())
        ref_loss = nn.functional.mse_loss(ref, target.float())
        half_model = model.half()
        out = half_model(x.half())
        loss = nn.functional.mse_loss(out.float(), target.float())
    torch.cuda.synchronize()
    outf = out.float()
    fin = torch.isfinite(outf)
    err = (outf - ref).abs()
    out_rel = float(err[fin].max() / ref.abs().max()) if bool(fin.any()) else float("inf")
    print("%s_loss=%.9g" % (name, float(loss)))
    print("%s_loss_ref=%.9g" % (name, float(ref_loss)))
    print("%s_loss_rel_err=%.3e" % (name, abs(float(loss) - float(ref_loss)) / abs(float(ref_loss))))
    print("%s_out_rel_err=%.3e" % (name, out_rel))
    print("%s_inf=%d" % (name, int(torch.isinf(outf).sum())))
    print("%s_nan=%d" % (name, int(torch.isnan(outf).sum())))


def main():
    has_flag = hasattr(torch.backends.cuda.matmul, "allow_fp16_accumulation")
    if has_flag:
        torch.backends.cuda.matmul.allow_fp16_accumulation = True
    print("torch=%s" % torch.__version__)
    print("cuda=%s" % torch.version.cuda)
    print("fp16_accumulation=%d" % int(has_flag))
    torch.manual_seed(0)
    dev = torch.device("cuda")

    mlp = nn.Sequential(nn.Linear(16384, 1024), nn.GELU(), nn.Linear(1024, 16384)).to(dev)
    x = torch.rand(256, 16384, device=dev).half().float()  # values FP16 can hold
    for p in mlp.parameters():
        p.data = p.data.half().float()
    target = torch.zeros(256, 16384, device=dev)
    compare("mlp", mlp, x, target)

    pool = nn.Linear(65536, 64, bias=False).to(dev)
    pool.weight.data.fill_(1.0 / 65536)  # a power of two: exact in FP16
    x = torch.rand(128, 65536, device=dev).half().float()
    target = torch.full((128, 64), 0.5, device=dev)
    compare("pool", pool, x, target)


if __name__ == "__main__":
    main()
