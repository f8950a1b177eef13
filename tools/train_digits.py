#!/usr/bin/python3
"""Train the bundled default classifier: a small CNN on scikit-learn's
digits (8x8 grey images of 0-9), deterministically, and export it with
tools/lens-export (metadata: classify, gray, 8x8, area resize, /255) together
with sample images.

    /usr/bin/python3 tools/train_digits.py [--out models] [--lens build/lens]

The network takes the 8x8 image and upsamples it to 32x32 itself (bilinear,
inside the graph), so the model input is the digit as scikit-learn stores it.
Training sees exactly what the image path gives: pixel = round(v * 255 / 16)
for v in 0..16, times 1/255.

Held-out accuracy is measured on digits the model never saw (a fixed 25%
split), twice: on the tensors directly and through the image path (64x64
PNG, nearest-upscaled, read back, area-resized to 8x8 per the metadata by
tools/lens_reference.py), and written to models/digits.json. Writes
models/samples/digit_<c>.png (the first held-out example of each class) and
models/digit_<c>.npy (the same as input tensors, for `lens run`)."""
import argparse, json, os, subprocess, sys, tempfile
import cv2
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
from sklearn.datasets import load_digits

def build():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lens_reference as ref  # noqa: E402

SPEC = dict(ref.DEFAULTS, width=8, height=8, interp="area", channels="gray")


def digit_png(img8):
    """uint8 [64, 64] gray picture of one 8x8 digit (values 0..16): each digit pixel
    becomes an 8x8 block of round(v * 255 / 16)."""
    px = np.round(img8 * 255.0 / 16.0).astype(np.uint8)
    return cv2.resize(px, (64, 64), interpolation=cv2.INTER_NEAREST)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--lens", help="lens binary for lens-export's check")
    a = ap.parse_args()
    torch.manual_seed(0); np.random.seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    d = load_digits()
    x = (np.round(d.images * 255.0 / 16.0) / 255.0).astype(np.float32)   # [n, 8, 8] in 0..1
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(0).permutation(len(x))
    ntest = len(x) // 4
    te, tr = perm[:ntest], perm[ntest:]
    X = torch.from_numpy(x)[:, None]
    Y = torch.from_numpy(y)
    model = nn.Sequential(nn.Upsample(size=(32, 32), mode="bilinear", align_corners=False), build())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=40 * ((len(tr) + 63) // 64))
    for epoch in range(40):
        model.train()
        idx = torch.randperm(len(tr))
        for i in range(0, len(tr), 64):
            b = torch.from_numpy(tr)[idx[i:i + 64]]
            xb = X[b]
            loss = F.cross_entropy(model(xb), Y[b])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    model.eval()
    with torch.no_grad():
        acc = (model(X[te]).argmax(1) == Y[te]).float().mean().item()
    # the image path: PNG -> read -> preprocess per the metadata -> model
    with tempfile.TemporaryDirectory() as tmp:
        correct = 0
        for i in te:
            f = os.path.join(tmp, "d.png")
            cv2.imwrite(f, digit_png(d.images[i]))
            t = ref.preprocess(ref.read_image(f), SPEC)
            with torch.no_grad():
                correct += int(model(torch.from_numpy(t)).argmax(1).item() == y[i])
        acc_img = correct / len(te)
    os.makedirs(os.path.join(a.out, "samples"), exist_ok=True)
    # sample inputs: the first held-out example of each class
    for c in range(10):
        i = int(te[np.where(y[te] == c)[0][0]])
        png = os.path.join(a.out, "samples", "digit_%d.png" % c)
        cv2.imwrite(png, digit_png(d.images[i]))
        np.save(os.path.join(a.out, "digit_%d.npy" % c), ref.preprocess(ref.read_image(png), SPEC))
    pt = os.path.join(tempfile.gettempdir(), "lens-digits-%d.pt" % os.getpid())
    torch.jit.trace(model, X[:1]).save(pt)
    labels = os.path.join(tempfile.mkdtemp(prefix="lens-train-"), "labels.txt")
    with open(labels, "w") as f:
        f.write("\n".join(str(c) for c in range(10)) + "\n")
    path = os.path.join(a.out, "digits.onnx")
    cmd = [sys.executable, os.path.join(HERE, "lens-export"), pt, "-o", path, "--task", "classify",
           "--size", "8,8", "--channels", "gray", "--resize", "stretch", "--interp", "area",
           "--scale", repr(1 / 255), "--mean", "0", "--std", "1", "--labels", labels, "--layout", "logits",
           "--opset", "13", "--dynamic-batch", "--input-name", "image", "--output-name", "logits",
           "--image", os.path.join(a.out, "samples", "digit_3.png"), "--save-check"]
    if a.lens:
        cmd += ["--lens", a.lens]
    rc = subprocess.call(cmd)
    os.remove(pt)
    with open(os.path.join(a.out, "digits.json"), "w") as f:
        json.dump({"heldout_accuracy": round(acc, 4), "heldout_accuracy_image_path": round(acc_img, 4),
                   "heldout_images": int(ntest), "train_images": int(len(tr)), "input": [1, 1, 8, 8]}, f, indent=1)
    print(f"held-out accuracy {acc:.4f} (through 64x64 PNGs: {acc_img:.4f}) on {ntest} images; wrote {path}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
