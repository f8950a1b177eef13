#!/usr/bin/python3
"""Export the comparison benchmark's models to ONNX (random weights, fixed seed).

Usage: export.py --out DIR [NAME...]   (no names: all of MODELS)

Writes DIR/<name>.onnx and DIR/<name>.pt (the same network and weights as
frozen TorchScript, for the PyTorch timings) unless they are already there. BatchNorm statistics are
calibrated on random input first, so activations stay in a sane range (no
denormals or infinities that would make the timings meaningless). Every model
has a fixed input shape, batch 1.

yolov8n is written here: the YOLOv8n backbone (Conv/C2f/SPPF), PAN neck and
decoupled head (DFL box branch 4*16 + 80 classes per level), SiLU everywhere,
~3.2M parameters, random weights, raw head output (1 x 144 x 8400).
"""
import argparse
import os
import sys
import tempfile

import torch
import torch.nn as nn
import torchvision

OPSET = int(os.environ.get("LENS_BENCH_OPSET", "17"))
SEED = 1234

# name -> (builder, input side)
CLS = 224
SEG = 520
YOLO = 640


def conv_bn(c1, c2, k=1, s=1):
    return nn.Sequential(nn.Conv2d(c1, c2, k, s, k // 2, bias=False), nn.BatchNorm2d(c2), nn.SiLU())


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.cv1, self.cv2, self.add = conv_bn(c, c, 3), conv_bn(c, c, 3), shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=False):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = conv_bn(c1, 2 * self.c, 1)
        self.cv2 = conv_bn((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c = c1 // 2
        self.cv1, self.cv2 = conv_bn(c1, c, 1), conv_bn(4 * c, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat([x, y1, y2, self.m(y2)], 1))


class YOLOv8n(nn.Module):
    def __init__(self, nc=80, reg_max=16):
        super().__init__()
        self.b0, self.b1 = conv_bn(3, 16, 3, 2), conv_bn(16, 32, 3, 2)
        self.b2 = C2f(32, 32, 1, True)
        self.b3, self.b4 = conv_bn(32, 64, 3, 2), C2f(64, 64, 2, True)      # P3
        self.b5, self.b6 = conv_bn(64, 128, 3, 2), C2f(128, 128, 2, True)   # P4
        self.b7, self.b8 = conv_bn(128, 256, 3, 2), C2f(256, 256, 1, True)
        self.b9 = SPPF(256, 256)                                             # P5
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h12 = C2f(384, 128)
        self.h15 = C2f(192, 64)
        self.h16, self.h18 = conv_bn(64, 64, 3, 2), C2f(192, 128)
        self.h19, self.h21 = conv_bn(128, 128, 3, 2), C2f(384, 256)
        c2, c3 = max(16, 64 // 4, reg_max * 4), max(64, min(nc, 100))
        chs = (64, 128, 256)
        self.box = nn.ModuleList(nn.Sequential(conv_bn(c, c2, 3), conv_bn(c2, c2, 3),
                                               nn.Conv2d(c2, 4 * reg_max, 1)) for c in chs)
        self.cls = nn.ModuleList(nn.Sequential(conv_bn(c, c3, 3), conv_bn(c3, c3, 3),
                                               nn.Conv2d(c3, nc, 1)) for c in chs)

    def forward(self, x):
        x = self.b2(self.b1(self.b0(x)))
        p3 = self.b4(self.b3(x))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        h = self.h12(torch.cat([self.up(p5), p4], 1))
        n3 = self.h15(torch.cat([self.up(h), p3], 1))
        n4 = self.h18(torch.cat([self.h16(n3), h], 1))
        n5 = self.h21(torch.cat([self.h19(n4), p5], 1))
        outs = []
        for i, f in enumerate((n3, n4, n5)):
            o = torch.cat([self.box[i](f), self.cls[i](f)], 1)
            outs.append(o.flatten(2))
        return torch.cat(outs, 2)


def build(name):
    tv = torchvision.models
    if name == "yolov8n":
        return YOLOv8n(), YOLO
    if name in ("lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large"):
        m = getattr(tv.segmentation, name)(weights=None, weights_backbone=None, num_classes=21,
                                           **({"aux_loss": False} if name.startswith("deeplab") else {}))
        return m, SEG
    return getattr(tv, name)(weights=None), CLS


MODELS = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
          "efficientnet_b0", "convnext_tiny", "lraspp_mobilenet_v3_large",
          "deeplabv3_mobilenet_v3_large", "yolov8n"]


class OutOnly(nn.Module):
    """Segmentation models return a dict: export its 'out' tensor."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        y = self.m(x)
        return y["out"] if isinstance(y, dict) else y


def export(name, out_dir):
    path = os.path.join(out_dir, name + ".onnx")
    pt = os.path.join(out_dir, name + ".pt")
    if os.path.exists(path) and os.path.exists(pt):
        return path
    torch.manual_seed(SEED)
    model, side = build(name)
    model = OutOnly(model)
    # Calibrate BatchNorm on random input (cumulative average), then freeze.
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for b in bns:
        b.reset_running_stats()
        b.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(2, 3, side, side))
    model.eval()
    x = torch.randn(1, 3, side, side)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=out_dir)
    os.close(fd)
    with torch.no_grad():
        torch.onnx.export(model, (x,), tmp, opset_version=OPSET, do_constant_folding=True,
                          input_names=["input"], output_names=["output"])
    os.replace(tmp, path)
    # The same network for PyTorch: traced with the same weights, frozen (Conv+BN
    # folded, as torch.jit.optimize_for_inference would), as TorchScript.
    with torch.no_grad():
        ts = torch.jit.freeze(torch.jit.trace(model, (x,)))
    fd, tmp = tempfile.mkstemp(suffix=".pt", dir=out_dir)
    os.close(fd)
    torch.jit.save(ts, tmp)
    os.replace(tmp, pt)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"exported {name}: {nparams / 1e6:.2f}M params, input 1x3x{side}x{side}", file=sys.stderr)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for n in a.names or MODELS:
        if n not in MODELS:
            sys.exit(f"unknown model {n}; known: {' '.join(MODELS)}")
        print(export(n, a.out))


if __name__ == "__main__":
    main()
