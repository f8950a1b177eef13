#!/usr/bin/python3
"""Train the bundled shape detector (circle, square, triangle, star) on rendered scenes
(tools/shapes.py), deterministically on one CPU thread, evaluate mAP@0.5 on fresh held-out
scenes, and export it with tools/lens-export to models/shapes_det.onnx.

    /usr/bin/python3 tools/train_shapes_det.py [--out models] [--steps 900] [--eval 500]
    /usr/bin/python3 tools/train_shapes_det.py --eval-only models/shapes_det.pt

The network is YOLO-style and anchor-free: a small strided conv backbone, a two-level
top-down FPN, and per-cell heads at strides 8, 16 and 32 predicting the distances from the
cell centre to the four box sides (softplus x stride) and per-class sigmoid scores. The graph
output is the yolov8 layout [1, 4+nc, N]: cx, cy, w, h in input pixels, then class scores;
there is no NMS in the graph (lens does it). Input: 256x256 RGB, letterbox, pad 114, /255.

Training scenes use seeds 0.., held-out scenes seeds 50_000_000.. (never trained on).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lens_reference as ref  # noqa: E402
import shapes  # noqa: E402

SIZE = 256
STRIDES = (8, 16, 32)
NC = len(shapes.CLASSES)
SPEC = dict(ref.DEFAULTS, width=SIZE, height=SIZE, resize="letterbox", pad=114)
HELDOUT_SEED = 50_000_000


def conv(ci, co, k=3, s=1):
    return nn.Sequential(nn.Conv2d(ci, co, k, s, k // 2, bias=False), nn.BatchNorm2d(co), nn.SiLU())


class Block(nn.Module):
    """Residual pair of 3x3 convs."""

    def __init__(self, c):
        super().__init__()
        self.a, self.b = conv(c, c), conv(c, c)

    def forward(self, x):
        return x + self.b(self.a(x))


class ShapesDet(nn.Module):
    def __init__(self, nc=NC, size=SIZE):
        super().__init__()
        self.nc = nc
        self.stem = conv(3, 16, 3, 2)                                    # /2
        self.s2 = nn.Sequential(conv(16, 24, 3, 2), Block(24))           # /4
        self.s3 = nn.Sequential(conv(24, 40, 3, 2), Block(40))           # /8
        self.s4 = nn.Sequential(conv(40, 56, 3, 2), Block(56))           # /16
        self.s5 = nn.Sequential(conv(56, 80, 3, 2), Block(80))           # /32
        self.lat4 = conv(80 + 56, 56, 1)
        self.out4 = conv(56, 56)
        self.lat3 = conv(56 + 40, 40, 1)
        self.out3 = conv(40, 40)
        chans = (40, 56, 80)
        self.heads = nn.ModuleList(nn.Sequential(conv(c, 40), nn.Conv2d(40, 4 + nc, 1)) for c in chans)
        for h in self.heads:   # start with low class scores (prior 0.01), as detectors do
            nn.init.constant_(h[1].bias[4:], -4.6)
        anchors, strides = [], []
        for s in STRIDES:
            n = size // s
            yy, xx = torch.meshgrid(torch.arange(n, dtype=torch.float32), torch.arange(n, dtype=torch.float32),
                                    indexing="ij")
            anchors.append(torch.stack([(xx + 0.5) * s, (yy + 0.5) * s], 0).view(2, -1))
            strides.append(torch.full((1, n * n), float(s)))
        self.register_buffer("anchors", torch.cat(anchors, 1)[None])   # [1, 2, N] cell centres, pixels
        self.register_buffer("strides", torch.cat(strides, 1)[None])   # [1, 1, N]

    def raw(self, x):
        """[B, 4+nc, N]: side distances (pre-softplus) and class logits, cells in level order."""
        x = self.s2(self.stem(x))
        p3 = self.s3(x)
        p4 = self.s4(p3)
        p5 = self.s5(p4)
        n4 = self.out4(self.lat4(torch.cat([F.interpolate(p5, scale_factor=2.0, mode="nearest"), p4], 1)))
        n3 = self.out3(self.lat3(torch.cat([F.interpolate(n4, scale_factor=2.0, mode="nearest"), p3], 1)))
        outs = [h(f) for h, f in zip(self.heads, (n3, n4, p5))]
        return torch.cat([o.flatten(2) for o in outs], 2)

    def decode(self, r):
        """raw -> (ltrb distances in pixels [B, 4, N], class logits [B, nc, N])."""
        return F.softplus(r[:, :4]) * self.strides, r[:, 4:]

    def forward(self, x):
        d, logits = self.decode(self.raw(x))
        lt, rb = d[:, :2], d[:, 2:]
        cxcy = self.anchors + (rb - lt) / 2
        wh = lt + rb
        return torch.cat([cxcy, wh, logits.sigmoid()], 1)              # [B, 4+nc, N]


# ---------------------------------------------------------------- data

def sample(seed):
    """(input tensor [3, S, S], boxes in input pixels [n, 4], classes [n]) for one scene."""
    s = shapes.render(seed)
    h0, w0 = s.image.shape[:2]
    x = ref.preprocess(s.image, SPEC)[0]
    sx, sy, ox, oy = ref.transform(SPEC, w0, h0)
    b = s.boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([ox, oy, ox, oy], np.float32)
    return x, b, s.classes


def batch(seeds):
    xs, targets = [], []
    for sd in seeds:
        x, b, c = sample(int(sd))
        xs.append(torch.from_numpy(x))
        targets.append((torch.from_numpy(b), torch.from_numpy(c)))
    return torch.stack(xs), targets


# ---------------------------------------------------------------- training

def assign(model, boxes, classes):
    """Positive cells for one image: a cell is positive for a box when its centre lies inside
    the box and within 2.5 strides of the box centre, on a level whose size range suits the
    box (stride 8: up to 64 px, 16: 32..128, 32: from 64); a cell claimed by several boxes
    goes to the smallest. Every box gets at least its nearest cell on its best level.
    Returns (gt index per cell, -1 = negative)."""
    anc = model.anchors[0].t()                      # [N, 2]
    st = model.strides[0, 0]                        # [N]
    n = anc.shape[0]
    gt = torch.full((n,), -1, dtype=torch.long)
    if len(boxes) == 0:
        return gt
    size = torch.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])   # [G]
    lo = torch.tensor([0.0, 32.0, 64.0])
    hi = torch.tensor([64.0, 128.0, 1e9])
    lvl = torch.zeros(n, dtype=torch.long)
    off = 0
    for i, s in enumerate(STRIDES):
        k = (SIZE // s) ** 2
        lvl[off:off + k] = i
        off += k
    ctr = (boxes[:, :2] + boxes[:, 2:]) / 2
    inside = ((anc[:, None, 0] > boxes[None, :, 0]) & (anc[:, None, 0] < boxes[None, :, 2]) &
              (anc[:, None, 1] > boxes[None, :, 1]) & (anc[:, None, 1] < boxes[None, :, 3]))
    near = ((anc[:, None, :] - ctr[None]).abs().max(2).values < 2.5 * st[:, None])
    fits = (size[None, :] >= lo[lvl][:, None]) & (size[None, :] <= hi[lvl][:, None])
    ok = inside & near & fits                       # [N, G]
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].expand(n, -1)
    cost = torch.where(ok, area, torch.full_like(area, float("inf")))
    best, arg = cost.min(1)
    gt[best < float("inf")] = arg[best < float("inf")]
    for g in range(len(boxes)):                     # guarantee one cell per box
        if (gt == g).any():
            continue
        lv = int(((size[g] >= lo) & (size[g] <= hi)).nonzero()[0])
        cand = (lvl == lv).nonzero()[:, 0]
        d = (anc[cand] - ctr[g]).pow(2).sum(1)
        gt[cand[d.argmin()]] = g
    return gt


def giou(a, b):
    lt = torch.max(a[:, :2], b[:, :2])
    rb = torch.min(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(1)
    union = area_a + area_b - inter + 1e-7
    iou = inter / union
    elt = torch.min(a[:, :2], b[:, :2])
    erb = torch.max(a[:, 2:], b[:, 2:])
    enc = (erb - elt).clamp(min=0).prod(1) + 1e-7
    return iou - (enc - union) / enc, iou


def loss_fn(model, raw, targets):
    d, logits = model.decode(raw)
    anc = model.anchors[0].t()
    cls_t = torch.zeros_like(logits)
    box_losses, npos = [], 0
    for i, (boxes, classes) in enumerate(targets):
        gt = assign(model, boxes, classes)
        pos = gt >= 0
        if pos.any():
            di = d[i][:, pos].t()                                     # [P, 4] ltrb
            a = anc[pos]
            pred = torch.cat([a - di[:, :2], a + di[:, 2:]], 1)
            g, iou = giou(pred, boxes[gt[pos]])
            box_losses.append(1 - g)
            # IoU-aware class target: the score learns to rank well-placed boxes first
            cls_t[i, classes[gt[pos]], pos.nonzero()[:, 0]] = iou.detach().clamp(min=0.2)
            npos += int(pos.sum())
    npos = max(npos, 1)
    l_cls = F.binary_cross_entropy_with_logits(logits, cls_t, reduction="sum") / npos
    l_box = torch.cat(box_losses).sum() / npos if box_losses else raw.sum() * 0
    return l_cls + 3.0 * l_box, float(l_cls), float(l_box)


# ---------------------------------------------------------------- evaluation

def average_precision(tp, scores, npos):
    """VOC all-point interpolated AP from per-detection TP flags and scores."""
    if npos == 0:
        return float("nan")
    if len(tp) == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.asarray(tp, np.float64)[order]
    ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
    rec = ctp / npos
    prec = ctp / np.maximum(ctp + cfp, 1e-12)
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[1.0], prec, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def map50(dets_per_image, gts_per_image, nc):
    """mAP@0.5 (VOC all-point) over images. dets: list of (boxes, scores, classes);
    gts: list of (boxes, classes). Greedy matching by score, each GT matched once."""
    per_class = {c: ([], []) for c in range(nc)}
    npos = np.zeros(nc, np.int64)
    for (db, ds, dc), (gb, gc) in zip(dets_per_image, gts_per_image):
        for c in range(nc):
            npos[c] += int((gc == c).sum())
            g = gb[gc == c]
            m = dc == c
            b, s = db[m], ds[m]
            order = np.argsort(-s, kind="stable")
            used = np.zeros(len(g), bool)
            iou = ref.box_iou(b, g) if len(g) and len(b) else np.zeros((len(b), len(g)))
            for k in order:
                hit = False
                if len(g):
                    cand = np.where(used, -1.0, iou[k])
                    j = int(cand.argmax())
                    if cand[j] >= 0.5:
                        used[j] = True
                        hit = True
                per_class[c][0].append(1.0 if hit else 0.0)
                per_class[c][1].append(float(s[k]))
    aps = [average_precision(per_class[c][0], per_class[c][1], npos[c]) for c in range(nc)]
    return float(np.nanmean(aps)), aps


def evaluate(model, count, conf=0.001, iou=0.45, forward=None):
    """mAP@0.5 on `count` held-out scenes, boxes mapped back to the scene's own pixels (what
    lens reports), per-class NMS in numpy. `forward` maps an input tensor to the output."""
    forward = forward or (lambda x: model(torch.from_numpy(x)).numpy())
    meta = {"lens.output.layout": "yolov8", "lens.output.box": "cxcywh",
            "lens.labels": json.dumps(shapes.CLASSES), "lens.post.conf": str(conf),
            "lens.post.iou": str(iou), "lens.post.max_det": "100"}
    dets, gts = [], []
    for i in range(count):
        s = shapes.render(HELDOUT_SEED + i)
        h0, w0 = s.image.shape[:2]
        x = ref.preprocess(s.image, SPEC)
        with torch.no_grad():
            out = forward(x)
        r = ref.detect_result([out], meta, shapes.CLASSES, w0, h0, SPEC)
        d = r["detections"]
        dets.append((np.array([e["box"] for e in d], np.float64).reshape(-1, 4),
                     np.array([e["score"] for e in d], np.float64),
                     np.array([e["class"] for e in d], np.int64)))
        gts.append((s.boxes.astype(np.float64), s.classes))
    return map50(dets, gts, NC)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--steps", type=int, default=900)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval", type=int, default=500, help="held-out scenes for mAP@0.5")
    ap.add_argument("--eval-only", metavar="PT", help="evaluate a saved TorchScript model and stop")
    ap.add_argument("--update-json", metavar="FILE", help="with --eval-only: write the held-out numbers into FILE")
    ap.add_argument("--lens", help="lens binary for lens-export's check")
    a = ap.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if a.eval_only:
        model = torch.jit.load(a.eval_only).eval()
        m, aps = evaluate(model, a.eval)
        print("held-out mAP@0.5 %.4f on %d scenes; per class %s" % (m, a.eval, [round(x, 4) for x in aps]))
        if a.update_json:
            with open(a.update_json) as f:
                info = json.load(f)
            info.update({"heldout_map50": round(m, 4), "heldout_scenes": a.eval,
                         "heldout_ap50_per_class": dict(zip(shapes.CLASSES, [round(x, 4) for x in aps]))})
            with open(a.update_json, "w") as f:
                json.dump(info, f, indent=1)
        return 0
    model = ShapesDet()
    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps, pct_start=0.1)
    t0, c0 = time.time(), time.process_time()
    for step in range(a.steps):
        model.train()
        x, targets = batch(range(step * a.batch, (step + 1) * a.batch))
        loss, lc, lb = loss_fn(model, model.raw(x), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == a.steps - 1:
            print("step %5d  loss %.4f (cls %.4f box %.4f)  %.0fs" % (step, float(loss), lc, lb, time.time() - t0),
                  flush=True)
        if step and step % 400 == 0:
            model.eval()
            print("  mAP@0.5 on 100 held-out scenes: %.4f" % evaluate(model, 100)[0], flush=True)
    train_s, train_cpu = time.time() - t0, time.process_time() - c0
    model.eval()
    t1 = time.time()
    m, aps = evaluate(model, a.eval)
    print("held-out mAP@0.5 %.4f on %d scenes (%.0fs); per class %s" % (m, a.eval, time.time() - t1,
                                                                         [round(x, 4) for x in aps]))
    os.makedirs(a.out, exist_ok=True)
    pt = os.path.join(a.out, "shapes_det.pt")
    traced = torch.jit.trace(model, torch.zeros(1, 3, SIZE, SIZE))
    traced.save(pt)
    onnx_path = os.path.join(a.out, "shapes_det.onnx")
    labels = os.path.join(tempfile.mkdtemp(prefix="lens-train-"), "labels.txt")
    with open(labels, "w") as f:
        f.write("\n".join(shapes.CLASSES) + "\n")
    sample = os.path.join(a.out, "samples", "shapes_1.png")
    cmd = [sys.executable, os.path.join(HERE, "lens-export"), pt, "-o", onnx_path, "--task", "detect",
           "--size", "%d,%d" % (SIZE, SIZE), "--resize", "letterbox", "--pad", "114", "--labels", labels,
           "--layout", "yolov8", "--box", "cxcywh", "--conf", "0.25", "--iou", "0.45", "--opset", "13",
           "--input-name", "images", "--output-name", "output0", "--save-check"]
    if os.path.exists(sample):
        cmd += ["--image", sample]
    if a.lens:
        cmd += ["--lens", a.lens]
    print(" ".join(cmd), flush=True)
    rc = subprocess.call(cmd)
    info = {"heldout_map50": round(m, 4), "heldout_ap50_per_class": dict(zip(shapes.CLASSES, [round(x, 4) for x in aps])),
            "heldout_scenes": a.eval, "heldout_seeds": "%d.." % HELDOUT_SEED, "train_steps": a.steps,
            "batch": a.batch, "train_scenes": a.steps * a.batch, "train_seconds_wall": round(train_s),
            "train_seconds_cpu": round(train_cpu),
            "params": int(nparams), "input": [1, 3, SIZE, SIZE], "torch": torch.__version__}
    with open(os.path.join(a.out, "shapes_det.json"), "w") as f:
        json.dump(info, f, indent=1)
    return rc


if __name__ == "__main__":
    sys.exit(main())
