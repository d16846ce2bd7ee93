"""An ordinary PyTorch script (it knows nothing of safehalf): a small FP16
mixed-precision training run (torch.autocast + GradScaler + AdamW) of a
transformer block and of a convolutional net, on fixed random data.

    train_fp16.py [--model transformer|conv|both] [--steps N] [--warmup N]

Each model trains --warmup steps (default 20, not timed), then --steps
(default 200) timed steps between two torch.cuda.synchronize() calls.

Prints one key=value per line: torch, cuda, cudnn (cuDNN's version as
PyTorch reports it), device, then for each model NAME: NAME_steps,
NAME_steps_per_s, NAME_loss_first, NAME_loss_last (of the timed steps),
NAME_skipped (steps GradScaler skipped because it found Inf/NaN gradients).
"""
import argparse
import time

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, d=1024, heads=16, classes=1000):
        super().__init__()
        self.embed = nn.Linear(d, d)
        self.layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.0,
                                                batch_first=True, norm_first=True)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.layer(self.embed(x)).mean(dim=1))


def conv_net(classes=1000):
    def stage(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.MaxPool2d(2)]
    return nn.Sequential(*stage(3, 64), *stage(64, 128), *stage(128, 256), *stage(256, 512),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes))


def train(name, model, x, y, steps, warmup):
    dev = x.device
    model = model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda")
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    losses = []
    for _ in range(steps):
        losses.append(step().detach())
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    # Asking the scaler after each step would synchronize; AdamW counts the
    # steps it took, and GradScaler skips the optimizer on Inf/NaN gradients.
    p = next(model.parameters())
    skipped = warmup + steps - int(opt.state[p]["step"]) if p in opt.state else warmup + steps
    first, last = float(losses[0]), float(losses[-1])
    print("%s_steps=%d" % (name, steps))
    print("%s_steps_per_s=%.2f" % (name, steps / dt))
    print("%s_loss_first=%.6g" % (name, first))
    print("%s_loss_last=%.6g" % (name, last))
    print("%s_skipped=%d" % (name, skipped))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["transformer", "conv", "both"], default="both")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    a = ap.parse_args()
    print("torch=%s" % torch.__version__)
    print("cuda=%s" % torch.version.cuda)
    print("cudnn=%s" % torch.backends.cudnn.version())
    print("device=%s" % torch.cuda.get_device_name())
    torch.manual_seed(0)
    dev = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    if a.model in ("transformer", "both"):
        x = torch.randn(16, 256, 1024, device=dev)
        y = torch.randint(0, 1000, (16,), device=dev)
        train("transformer", Block(), x, y, a.steps, a.warmup)
    if a.model in ("conv", "both"):
        x = torch.randn(64, 3, 64, 64, device=dev)
        y = torch.randint(0, 1000, (64,), device=dev)
        train("conv", conv_net(), x, y, a.steps, a.warmup)


if __name__ == "__main__":
    main()
