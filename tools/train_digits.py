#!/usr/bin/python3
"""Train the bundled default classifier: a small CNN on scikit-learn's
digits (8x8 grey images of 0-9, upscaled to 32x32), deterministically, and
export it to ONNX with sample inputs.

    /usr/bin/python3 tools/train_digits.py [--out models]

Held-out accuracy is measured on digits the model never saw (a fixed 25%
split) and written to models/digits.json."""
import argparse, json, os
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

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models"))
    a = ap.parse_args()
    torch.manual_seed(0); np.random.seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)            # [n, 8, 8] in 0..1
    y = d.target.astype(np.int64)
    perm = np.random.RandomState(0).permutation(len(x))
    ntest = len(x) // 4
    te, tr = perm[:ntest], perm[ntest:]
    X = F.interpolate(torch.from_numpy(x)[:, None], size=(32, 32), mode="bilinear", align_corners=False)
    Y = torch.from_numpy(y)
    model = build()
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
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "digits.onnx")
    torch.onnx.export(model, X[:1], path, opset_version=13, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    # sample inputs: the first held-out example of each class
    samples = {}
    for c in range(10):
        i = int(te[np.where(y[te] == c)[0][0]])
        np.save(os.path.join(a.out, f"digit_{c}.npy"), X[i:i + 1].numpy())
        samples[c] = i
    with open(os.path.join(a.out, "digits.json"), "w") as f:
        json.dump({"heldout_accuracy": round(acc, 4), "heldout_images": int(ntest),
                   "train_images": int(len(tr)), "input": [1, 1, 32, 32]}, f, indent=1)
    print(f"held-out accuracy {acc:.4f} on {ntest} images; wrote {path}")

if __name__ == "__main__":
    main()
