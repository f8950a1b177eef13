#!/usr/bin/python3
"""Train the bundled shape segmenter (background, circle, square, triangle, star) on
rendered scenes (tools/shapes.py), deterministically on one CPU thread, evaluate mIoU on
fresh held-out scenes, and export it with tools/lens-export to models/shapes_seg.onnx.

    /usr/bin/python3 tools/train_shapes_seg.py [--out models] [--steps 700] [--eval 300]
    /usr/bin/python3 tools/train_shapes_seg.py --eval-only models/shapes_seg.pt

The network is a small encoder-decoder: strided conv stages to 1/16 with residual blocks,
then two upsample + skip-concat stages back to 1/4. Output: [1, 5, 64, 64] logits for a
256x256 input (lens upsamples the logits and takes the argmax per pixel). Input: RGB,
stretched to 256x256, /255.

mIoU is measured the way lens reports masks: logits resized bilinearly to the input size,
then to the scene's own size, argmax, compared with the rendered mask; intersections and
unions are summed over all held-out scenes per class, and the IoUs of the 5 classes averaged.
Training scenes use seeds 0.., held-out scenes seeds 60_000_000.. (never trained on).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lens_reference as ref  # noqa: E402
import shapes  # noqa: E402
from train_shapes_det import Block, conv  # noqa: E402

SIZE = 256
NCLS = 1 + len(shapes.CLASSES)
LABELS = ["background"] + shapes.CLASSES
SPEC = dict(ref.DEFAULTS, width=SIZE, height=SIZE, resize="stretch")
HELDOUT_SEED = 60_000_000
TRAIN_SEED = 20_000_000


class ShapesSeg(nn.Module):
    def __init__(self, ncls=NCLS):
        super().__init__()
        self.s2 = nn.Sequential(conv(3, 16, 3, 2), conv(16, 24, 3, 2), Block(24))   # /4
        self.s3 = nn.Sequential(conv(24, 40, 3, 2), Block(40))                      # /8
        self.s4 = nn.Sequential(conv(40, 64, 3, 2), Block(64), Block(64))           # /16
        self.d3 = conv(64 + 40, 40)
        self.d2 = conv(40 + 24, 32)
        self.head = nn.Conv2d(32, ncls, 1)

    def forward(self, x):
        f4 = self.s2(x)
        f8 = self.s3(f4)
        f16 = self.s4(f8)
        u8 = self.d3(torch.cat([F.interpolate(f16, scale_factor=2.0, mode="nearest"), f8], 1))
        u4 = self.d2(torch.cat([F.interpolate(u8, scale_factor=2.0, mode="nearest"), f4], 1))
        return self.head(u4)


def batch(seeds):
    xs, ms = [], []
    for sd in seeds:
        s = shapes.render(int(sd))
        xs.append(torch.from_numpy(ref.preprocess(s.image, SPEC)[0]))
        ms.append(torch.from_numpy(cv2.resize(s.mask, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST).astype(np.int64)))
    return torch.stack(xs), torch.stack(ms)


def evaluate(forward, count):
    """(mIoU, per-class IoU) over `count` held-out scenes, at each scene's own resolution."""
    inter = np.zeros(NCLS, np.int64)
    union = np.zeros(NCLS, np.int64)
    meta = {"lens.output.layout": "logits"}
    for i in range(count):
        s = shapes.render(HELDOUT_SEED + i)
        h0, w0 = s.image.shape[:2]
        out = forward(ref.preprocess(s.image, SPEC))
        pred = ref.segment_map([out], meta, w0, h0, SPEC)
        gt = s.mask.astype(np.int64)
        for c in range(NCLS):
            p, g = pred == c, gt == c
            inter[c] += int((p & g).sum())
            union[c] += int((p | g).sum())
    iou = inter / np.maximum(union, 1)
    return float(iou.mean()), [float(v) for v in iou]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--steps", type=int, default=700)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--eval", type=int, default=300, help="held-out scenes for mIoU")
    ap.add_argument("--eval-only", metavar="PT", help="evaluate a saved TorchScript model and stop")
    ap.add_argument("--update-json", metavar="FILE", help="with --eval-only: write the held-out numbers into FILE")
    ap.add_argument("--lens", help="lens binary for lens-export's check")
    a = ap.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    def fwd_of(model):
        def f(x):
            with torch.no_grad():
                return model(torch.from_numpy(x)).numpy()
        return f

    if a.eval_only:
        model = torch.jit.load(a.eval_only).eval()
        m, ious = evaluate(fwd_of(model), a.eval)
        print("held-out mIoU %.4f on %d scenes; per class %s" % (m, a.eval, [round(x, 4) for x in ious]))
        if a.update_json:
            with open(a.update_json) as f:
                info = json.load(f)
            info.update({"heldout_miou": round(m, 4), "heldout_scenes": a.eval,
                         "heldout_iou_per_class": dict(zip(LABELS, [round(x, 4) for x in ious]))})
            with open(a.update_json, "w") as f:
                json.dump(info, f, indent=1)
        return 0
    model = ShapesSeg()
    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps, pct_start=0.1)
    t0, c0 = time.time(), time.process_time()
    for step in range(a.steps):
        model.train()
        x, m = batch(range(TRAIN_SEED + step * a.batch, TRAIN_SEED + (step + 1) * a.batch))
        logits = F.interpolate(model(x), size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        loss = F.cross_entropy(logits, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == a.steps - 1:
            print("step %5d  loss %.4f  %.0fs" % (step, float(loss), time.time() - t0), flush=True)
        if step and step % 500 == 0:
            model.eval()
            print("  mIoU on 50 held-out scenes: %.4f" % evaluate(fwd_of(model), 50)[0], flush=True)
    train_s, train_cpu = time.time() - t0, time.process_time() - c0
    model.eval()
    miou, ious = evaluate(fwd_of(model), a.eval)
    print("held-out mIoU %.4f on %d scenes; per class %s" % (miou, a.eval, [round(x, 4) for x in ious]))
    os.makedirs(a.out, exist_ok=True)
    pt = os.path.join(a.out, "shapes_seg.pt")
    torch.jit.trace(model, torch.zeros(1, 3, SIZE, SIZE)).save(pt)
    labels = os.path.join(tempfile.mkdtemp(prefix="lens-train-"), "labels.txt")
    with open(labels, "w") as f:
        f.write("\n".join(LABELS) + "\n")
    sample = os.path.join(a.out, "samples", "shapes_1.png")
    cmd = [sys.executable, os.path.join(HERE, "lens-export"), pt, "-o", os.path.join(a.out, "shapes_seg.onnx"),
           "--task", "segment", "--size", "%d,%d" % (SIZE, SIZE), "--resize", "stretch", "--labels", labels,
           "--layout", "logits", "--opset", "13", "--input-name", "images", "--output-name", "logits", "--save-check"]
    if os.path.exists(sample):
        cmd += ["--image", sample]
    if a.lens:
        cmd += ["--lens", a.lens]
    print(" ".join(cmd), flush=True)
    rc = subprocess.call(cmd)
    info = {"heldout_miou": round(miou, 4), "heldout_iou_per_class": dict(zip(LABELS, [round(x, 4) for x in ious])),
            "heldout_scenes": a.eval, "heldout_seeds": "%d.." % HELDOUT_SEED, "train_steps": a.steps,
            "batch": a.batch, "train_scenes": a.steps * a.batch, "train_seconds_wall": round(train_s),
            "train_seconds_cpu": round(train_cpu), "params": int(nparams), "input": [1, 3, SIZE, SIZE],
            "output": [1, NCLS, SIZE // 4, SIZE // 4], "torch": torch.__version__}
    with open(os.path.join(a.out, "shapes_seg.json"), "w") as f:
        json.dump(info, f, indent=1)
    return rc


if __name__ == "__main__":
    sys.exit(main())
