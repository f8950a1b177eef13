#!/usr/bin/python3
"""Compare lens against PyTorch on one exported model.

Usage: check_parity.py MODEL [--opset N] --lens PATH_TO_LENS --cache DIR [--threads N]

Exports the model into the cache if missing (export_models.py), runs
`lens run model.onnx --input NAME=input_0.npy --output-dir TMP`, loads TMP/output_<i>.npy and
checks, for every output:
  - same shape and dtype kind, max |lens - ref| <= 1e-3 * max(1, max |ref|)
  - classification: same top-1 class (a differing top-1 passes only when PyTorch's own margin
    between the two classes is within the tolerance, i.e. a genuine tie)
  - segmentation: same argmax on >= 99.9% of pixels
  - detection: same number of detections; boxes, scores and labels within the tolerance, in
    the order produced, except that detections whose scores tie within the tolerance may come
    in either order and the last-kept one may swap with an equally scored rival (see
    match_detections)
Prints one summary line; exit status 0 pass, 1 mismatch, 2 setup error (no lens, export failed).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_models  # noqa: E402

RTOL = 1e-3
SEG_AGREEMENT = 0.999


def tol_for(ref):
    m = float(np.abs(ref).max()) if ref.size else 0.0
    return RTOL * max(1.0, m)


def match_detections(refs, outs):
    """Pair lens's detections with PyTorch's, in the order produced, up to ties.

    Random-weight detectors give many detections whose scores differ by ~1e-6, well inside
    float32 rounding, so two engines may legitimately emit them in either order (sort, TopK
    and NMS all break ties by score). Detection i of lens matches the nearest-in-order
    unmatched PyTorch detection with the same label, score within the tolerance and box
    within the tolerance. A detection left unmatched is accepted only as a cut-off swap: its
    score is within the tolerance of the lowest score kept (the detections_per_img cap or the
    score threshold decided between near-equal candidates).
    Returns (in_order, reordered, boundary_swaps, max_abs_diff_over_pairs, failure_lines)."""
    rb, rs, rl = refs
    ob, os_, ol = outs
    tb, ts = tol_for(rb), tol_for(rs)
    n = rb.shape[0]
    used = np.zeros(n, bool)
    in_order = reordered = 0
    worst = 0.0
    unmatched = []
    for i in range(ob.shape[0]):
        cand = np.nonzero(~used & (rl == ol[i]) & (np.abs(rs - os_[i]) <= ts) &
                          (np.abs(rb - ob[i]).max(1) <= tb))[0]
        if cand.size == 0:
            unmatched.append(i)
            continue
        j = cand[np.argmin(np.abs(cand - i))]
        used[j] = True
        worst = max(worst, float(np.abs(rb[j] - ob[i]).max()), float(abs(rs[j] - os_[i])))
        if j == i:
            in_order += 1
        else:
            reordered += 1
    fails = []
    floor = float(rs.min()) if n else 0.0
    bad_lens = [i for i in unmatched if float(os_[i]) > floor + ts]
    bad_ref = [j for j in np.nonzero(~used)[0] if float(rs[j]) > floor + ts]
    for i in bad_lens[:5]:
        fails.append("lens detection %d (label %d, score %.6g, box %s) has no PyTorch match" % (
            i, int(ol[i]), float(os_[i]), np.round(ob[i], 2).tolist()))
    for j in bad_ref[:5]:
        fails.append("PyTorch detection %d (label %d, score %.6g, box %s) missing from lens" % (
            j, int(rl[j]), float(rs[j]), np.round(rb[j], 2).tolist()))
    return in_order, reordered, len(unmatched) - len(bad_lens), worst, fails


def compare(meta, refs, outs):
    """Return (ok, max_abs_diff, max_rel_diff, agreement_text, failure_lines)."""
    fails, worst_abs, worst_rel = [], 0.0, 0.0
    task = meta["task"]
    if len(outs) != len(refs):
        return False, float("nan"), float("nan"), "-", ["lens wrote %d outputs, expected %d" % (len(outs), len(refs))]
    shapes_ok = True
    for i, (r, o) in enumerate(zip(refs, outs)):
        name = meta["output_names"][i]
        if r.shape != o.shape:
            shapes_ok = False
            if task == "detect":
                fails.append("%s: %d detections, PyTorch has %d (shape %s vs %s)" % (
                    name, o.shape[0] if o.ndim else -1, r.shape[0], list(o.shape), list(r.shape)))
            else:
                fails.append("%s: shape %s, expected %s" % (name, list(o.shape), list(r.shape)))
            continue
        if r.dtype.kind != o.dtype.kind:
            fails.append("%s: dtype %s, expected %s" % (name, o.dtype, r.dtype))
        if r.size == 0:
            continue
        if not np.isfinite(o.astype(np.float64)).all():
            fails.append("%s: non-finite values" % name)
        d = np.abs(o.astype(np.float64) - r.astype(np.float64))
        mad = float(np.nanmax(d))
        t = tol_for(r)
        rel = mad / max(1.0, float(np.abs(r).max()))
        worst_abs, worst_rel = max(worst_abs, mad), max(worst_rel, rel)
        if not mad <= t and task != "detect":
            idx = np.unravel_index(np.nanargmax(d), d.shape)
            fails.append("%s: max abs diff %.3g > %.3g at %s (lens %.6g, PyTorch %.6g)" % (
                name, mad, t, list(map(int, idx)), float(o[idx]), float(r[idx])))

    agree = "-"
    if task == "classify" and shapes_ok:
        r, o = refs[0].reshape(refs[0].shape[0], -1), outs[0].reshape(outs[0].shape[0], -1)
        for b in range(r.shape[0]):
            tr, to = int(r[b].argmax()), int(o[b].argmax())
            if tr != to:
                margin = float(r[b, tr] - r[b, to])
                if margin > tol_for(refs[0]):
                    fails.append("top-1 %d, PyTorch %d (margin %.3g)" % (to, tr, margin))
                    agree = "top1 %d!=%d" % (to, tr)
                    continue
            agree = "top1 %d same" % tr
    elif task == "segment" and shapes_ok:
        a = float((refs[0].argmax(1) == outs[0].argmax(1)).mean())
        agree = "argmax %.4f%%" % (100 * a)
        if a < SEG_AGREEMENT:
            fails.append("argmax agrees on %.4f%% of pixels (< %.1f%%)" % (100 * a, 100 * SEG_AGREEMENT))
    elif task == "detect" and shapes_ok:
        # The verdict is the matching, because near-tied scores may legitimately come out in
        # another order; the reported difference is over matched pairs.
        # Detectors order their outputs differently (Faster R-CNN: boxes, labels,
        # scores; SSD: boxes, scores, labels): match by output name.
        pos = {n: i for i, n in enumerate(meta["output_names"])}
        order = [pos["boxes"], pos["scores"], pos["labels"]]
        k, reord, swaps, worst_abs, f = match_detections([refs[i] for i in order],
                                                         [outs[i] for i in order])
        worst_rel = worst_abs / max(1.0, float(np.abs(refs[0]).max()) if refs[0].size else 1.0)
        fails += f
        agree = "dets %d/%d: %d in order, %d reordered among ties, %d cut-off swaps" % (
            outs[0].shape[0], refs[0].shape[0], k, reord, swaps)
    elif task == "yolo" and shapes_ok:
        agree = "best box %s" % ("same" if int(refs[0][0, :, 4:].max(1).argmax()) ==
                                 int(outs[0][0, :, 4:].max(1).argmax()) else "differs")
    return not fails, worst_abs, worst_rel, agree, fails


def run_lens(lens, model_dir, meta, out_dir, threads):
    cmd = [lens, "run", os.path.join(model_dir, "model.onnx")]
    for i, n in enumerate(meta["input_names"]):
        cmd += ["--input", "%s=%s" % (n, os.path.join(model_dir, "input_%d.npy" % i))]
    cmd += ["--output-dir", out_dir]
    if threads:
        cmd += ["--threads", str(threads)]
    t = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    return p, time.time() - t, cmd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--opset", type=int)
    ap.add_argument("--lens", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--keep", help="write lens's outputs here instead of a temporary directory")
    a = ap.parse_args()

    if not os.access(a.lens, os.X_OK):
        print("%s: lens binary %s not found or not executable" % (a.model, a.lens))
        return 2
    try:
        d = export_models.ensure(a.model, a.cache, a.opset)
    except Exception as e:
        print("%s: export failed: %s: %s" % (a.model, type(e).__name__, e))
        return 2
    meta = json.load(open(os.path.join(d, "meta.json")))
    refs = [np.load(os.path.join(d, "ref_%d.npy" % i)) for i in range(len(meta["output_names"]))]

    with tempfile.TemporaryDirectory(prefix="lens-parity-") as tmp:
        out_dir = a.keep or tmp
        os.makedirs(out_dir, exist_ok=True)
        p, secs, cmd = run_lens(a.lens, d, meta, out_dir, a.threads)
        if p.returncode != 0:
            print("%-40s op%-2d FAIL lens run exited %d after %.1fs" % (a.model, meta["opset"], p.returncode, secs))
            print("  command: %s" % " ".join(cmd))
            sys.stdout.write("".join("  | " + l + "\n" for l in (p.stderr or p.stdout).strip().splitlines()[-20:]))
            return 1
        outs = []
        for i in range(len(refs)):
            f = os.path.join(out_dir, "output_%d.npy" % i)
            if not os.path.exists(f):
                break
            outs.append(np.load(f))
    ok, mad, rel, agree, fails = compare(meta, refs, outs)
    print("%-40s op%-2d %s max_abs_diff %.3g rel %.3g %s (lens run %.1fs)" % (
        a.model, meta["opset"], "PASS" if ok else "FAIL", mad, rel, agree, secs))
    for f in fails:
        print("  " + f)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
