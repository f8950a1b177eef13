#!/usr/bin/python3
"""Render scenes of shapes for the bundled detector and segmenter.

A scene is a textured, noisy background with 1..MAX_SHAPES filled shapes (circle, square,
triangle, star) of random colour, size, rotation and position. Everything is drawn with
OpenCV from a numpy RandomState, so a scene is a pure function of its seed: the same seed
gives the same pixels, boxes and mask on any machine with the same numpy/OpenCV.

    render(seed, width=None, height=None) -> Scene(image, boxes, classes, mask)

image  : uint8 [H, W, 3], RGB
boxes  : float32 [n, 4], x1, y1, x2, y2 in pixels (tight around the shape's visible pixels,
         x2/y2 exclusive: a shape covering columns 10..19 has x1=10, x2=20)
classes: int64 [n], index into CLASSES
mask   : uint8 [H, W], 0 = background, 1 + class index elsewhere

Shapes overlap little (boxes' IoU below 0.15 by rejection sampling); where they do overlap
the later shape is on top in both the image and the mask, and boxes follow the visible pixels.

Run as a script to write a few sample scenes: shapes.py --out DIR --count N --seed S
"""
import argparse
import collections
import os

import cv2
import numpy as np

CLASSES = ["circle", "square", "triangle", "star"]
MAX_SHAPES = 6
Scene = collections.namedtuple("Scene", "image boxes classes mask")


def _background(rng, h, w):
    """Smooth colour gradient + low-frequency blotches + stripes or grid + pixel noise."""
    c0 = rng.uniform(0, 255, 3)
    c1 = rng.uniform(0, 255, 3)
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (np.cos(ang) * xx / w + np.sin(ang) * yy / h)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
    # low-frequency blotches: upsampled coarse noise
    g = rng.uniform(-1, 1, (rng.randint(3, 9), rng.randint(3, 9), 3)).astype(np.float32)
    img += rng.uniform(10, 50) * cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
    kind = rng.randint(3)
    if kind == 0:   # stripes
        period = rng.uniform(6, 30)
        a2 = rng.uniform(0, np.pi)
        s = np.sin(2 * np.pi * (np.cos(a2) * xx + np.sin(a2) * yy) / period)
        img += rng.uniform(5, 30) * s[..., None]
    elif kind == 1:  # thin random lines (clutter that is not a shape)
        tmp = np.zeros((h, w, 3), np.float32)
        for _ in range(rng.randint(2, 8)):
            p0 = (int(rng.randint(w)), int(rng.randint(h)))
            p1 = (int(rng.randint(w)), int(rng.randint(h)))
            col = tuple(float(v) for v in rng.uniform(-60, 60, 3))
            cv2.line(tmp, p0, p1, col, int(rng.randint(1, 3)), cv2.LINE_AA)
        img += tmp
    noise_sd = rng.uniform(2, 14)
    return img, noise_sd


def _polygon(cls, cx, cy, r, rot):
    if cls == 1:      # square
        k, radii = 4, [r]
    elif cls == 2:    # triangle
        k, radii = 3, [r]
    else:             # star, five points
        k, radii = 10, [r, r * 0.45]
    pts = []
    for i in range(k):
        a = rot + 2 * np.pi * i / k
        rr = radii[i % len(radii)]
        pts.append((cx + rr * np.cos(a), cy + rr * np.sin(a)))
    return np.array(pts, np.float64)


def _iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def render(seed, width=None, height=None, min_radius=9, max_radius=None):
    """The scene for `seed`. width/height default to a random size in 192..384."""
    rng = np.random.RandomState(seed)
    w = int(width) if width else int(rng.randint(192, 385))
    h = int(height) if height else int(rng.randint(192, 385))
    max_radius = max_radius or min(w, h) * 0.22
    img, noise_sd = _background(rng, h, w)
    img = img.astype(np.float32)
    mask = np.zeros((h, w), np.uint8)
    ids = np.zeros((h, w), np.int32)         # which shape owns each pixel (0 = none)
    placed, classes = [], []
    n = rng.randint(1, MAX_SHAPES + 1)
    for _ in range(n * 20):
        if len(placed) == n:
            break
        cls = int(rng.randint(len(CLASSES)))
        r = rng.uniform(min_radius, max_radius)
        cx = rng.uniform(r * 0.6, w - r * 0.6)   # may be cut by the border a little
        cy = rng.uniform(r * 0.6, h - r * 0.6)
        est = (cx - r, cy - r, cx + r, cy + r)
        if any(_iou(est, p[1]) > 0.15 for p in placed):
            continue
        # a colour that stands out from the background under the shape
        x0, y0 = int(max(0, cx - r)), int(max(0, cy - r))
        x1, y1 = int(min(w, cx + r)) + 1, int(min(h, cy + r)) + 1
        bg = img[y0:y1, x0:x1].reshape(-1, 3).mean(0)
        for _t in range(10):
            col = rng.uniform(0, 255, 3)
            if np.abs(col - bg).sum() > 150:
                break
        # draw at 1/16-pixel precision (shift=4), only inside the shape's region
        rx0, ry0 = max(0, int(cx - r) - 3), max(0, int(cy - r) - 3)
        rx1, ry1 = min(w, int(cx + r) + 4), min(h, int(cy + r) + 4)
        shape_mask = np.zeros((ry1 - ry0, rx1 - rx0), np.uint8)
        sh = 16.0
        if cls == 0:
            centre = (int(round((cx - rx0) * sh)), int(round((cy - ry0) * sh)))
            cv2.circle(shape_mask, centre, int(round(r * sh)), 1, -1, cv2.LINE_8, 4)
        else:
            poly = _polygon(cls, cx - rx0, cy - ry0, r, rng.uniform(0, 2 * np.pi))
            cv2.fillPoly(shape_mask, [np.round(poly * sh).astype(np.int32)], 1, cv2.LINE_8, 4)
        if shape_mask.sum() < 30:
            continue
        # soft edge: blend with a slightly blurred coverage
        alpha = cv2.GaussianBlur(shape_mask.astype(np.float32), (3, 3), 0.7)[..., None]
        ramp = np.linspace(-1, 1, w, dtype=np.float32)[rx0:rx1]
        shade = col[None, None, :] + rng.uniform(-25, 25) * ramp[None, :, None]
        roi = img[ry0:ry1, rx0:rx1]
        img[ry0:ry1, rx0:rx1] = roi * (1 - alpha) + shade * alpha
        k = len(placed) + 1
        ids[ry0:ry1, rx0:rx1][shape_mask > 0] = k
        mask[ry0:ry1, rx0:rx1][shape_mask > 0] = cls + 1
        placed.append((k, est))
        classes.append(cls)
    # sensor noise over everything, shapes included
    img += rng.normal(0, noise_sd, img.shape).astype(np.float32)
    image = np.clip(np.round(img), 0, 255).astype(np.uint8)
    boxes, out_classes = [], []
    for (k, _), cls in zip(placed, classes):
        ys, xs = np.nonzero(ids == k)   # visible pixels only
        if len(xs) < 30:          # almost entirely hidden by a later shape
            mask[ids == k] = 0
            continue
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        out_classes.append(cls)
    return Scene(image, np.array(boxes, np.float32).reshape(-1, 4), np.array(out_classes, np.int64), mask)


def main():
    ap = argparse.ArgumentParser(description="write scenes as PREFIX_<i>.png (i from 1) with their boxes "
                                 "in PREFIX_<i>.txt (class x1 y1 x2 y2 per line)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=4)
    ap.add_argument("--seed", type=int, default=70_000_000, help="seed of the first scene (then +1, +2, ...)")
    ap.add_argument("--prefix", default="shapes")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.count):
        s = render(a.seed + i)
        base = os.path.join(a.out, "%s_%d" % (a.prefix, i + 1))
        cv2.imwrite(base + ".png", cv2.cvtColor(s.image, cv2.COLOR_RGB2BGR))
        with open(base + ".txt", "w") as f:
            for b, c in zip(s.boxes, s.classes):
                f.write("%s %d %d %d %d\n" % (CLASSES[c], *[int(v) for v in b]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
