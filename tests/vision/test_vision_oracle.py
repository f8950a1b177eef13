#!/usr/bin/python3
"""Oracle tests of lens detect / segment / classify against a numpy reference.

Usage: test_vision_oracle.py --lens PATH --work DIR

Builds models with onnx.helper whose outputs are constants we choose (the output
is Constant + 0 * mean(input), so the engine really runs), writes random images,
and compares `lens ... --json` (and the class-index PNG of segment -o) with an
independent numpy implementation of: the preprocessing geometry (stretch,
letterbox, crop), every detection layout's decoding, greedy class-aware NMS,
box mapping and clipping, segmentation argmax and mask mapping, softmax.
Exit status 0 if every check passed, 1 otherwise.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FAILS = []
LENS = None


def check(cond, what, detail=""):
    if cond:
        print("ok   %s" % what)
    else:
        print("FAIL %s%s" % (what, (": " + str(detail)[:2000]) if detail else ""))
        FAILS.append(what)


def lens(*args):
    p = subprocess.run([LENS] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors="replace", timeout=300)
    return p.returncode, p.stdout, p.stderr


def const_model(path, in_shape, outputs, metadata=None, in_type=TensorProto.FLOAT):
    """Model with one image input and constant outputs (name -> array), each
    made to depend on the input so that the engine runs the graph."""
    nodes = [helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"])]
    inits = [numpy_helper.from_array(np.array(0, np.float32), "zero")]
    outs = []
    for name, arr in outputs.items():
        arr = np.asarray(arr)
        inits.append(numpy_helper.from_array(arr, name + "_c"))
        if arr.dtype == np.float32:
            nodes.append(helper.make_node("Add", [name + "_c", "z"], [name]))
        else:  # integer outputs: add a zero of their type
            nodes.append(helper.make_node("Cast", ["z"], [name + "_zc"], to=TensorProto.INT64))
            nodes.append(helper.make_node("Add", [name + "_c", name + "_zc"], [name]))
        elem = TensorProto.FLOAT if arr.dtype == np.float32 else TensorProto.INT64
        outs.append(helper.make_tensor_value_info(name, elem, list(arr.shape)))
    if in_type != TensorProto.FLOAT:
        nodes.insert(0, helper.make_node("Cast", ["images_u8"], ["images"], to=TensorProto.FLOAT))
        inp = helper.make_tensor_value_info("images_u8", in_type, in_shape)
    else:
        inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, in_shape)
    g = helper.make_graph(nodes, "g", [inp], outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="lens-tests")
    if metadata:
        helper.set_model_props(m, metadata)
    onnx.save(m, path)
    return path


# ---- reference implementation ---------------------------------------------------

def geometry(w, h, W, H, mode, resize_short=0):
    """(scale_x, scale_y, offset_x, offset_y) as lens_transform: model x = s*scale + offset."""
    if mode == "letterbox":
        r = min(W / w, H / h)
        rw = max(1, min(int(round(w * r)), W))
        rh = max(1, min(int(round(h * r)), H))
        sx, sy = -((W - rw) // 2), -((H - rh) // 2)
    elif mode == "crop":
        S = resize_short or min(W, H)
        if w <= h:
            rw, rh = S, int(np.floor(S * h / w))
        else:
            rh, rw = S, int(np.floor(S * w / h))

        def centre(v, o):
            return int(round((v - o) / 2.0)) if v >= o else -((o - v) // 2)
        sx, sy = centre(rw, W), centre(rh, H)
    else:
        rw, rh, sx, sy = W, H, 0, 0
    # lens_transform stores float32
    return (float(np.float32(rw / w)), float(np.float32(rh / h)), float(np.float32(-sx)), float(np.float32(-sy)))


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else 0.0


def nms(cands, thr, agnostic, max_det):
    cands = sorted(cands, key=lambda c: (-c["score"], c["order"]))
    kept = []
    for c in cands:
        if len(kept) >= max_det:
            break
        if all(not ((agnostic or k["cls"] == c["cls"]) and iou(k["box"], c["box"]) > thr) for k in kept):
            kept.append(c)
    return kept


def to_xyxy(b, fmt):
    if fmt == "cxcywh":
        return [b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2]
    return [min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])]


def decode(layout, outs, conf, W, H, fmt=None, normalized=None):
    """Candidates {box (model pixels), score, cls, order} above conf."""
    c = []
    if layout == "yolov8":
        a = outs[0][0]  # [4+C, N] channel-first expected here
        for i in range(a.shape[1]):
            cls = int(np.argmax(a[4:, i]))
            s = float(a[4 + cls, i])
            if s > conf:
                c.append(dict(box=to_xyxy(a[:4, i].tolist(), fmt or "cxcywh"), score=s, cls=cls, order=i))
    elif layout == "yolov5":
        a = outs[0][0]
        for i in range(a.shape[0]):
            obj = float(a[i, 4])
            if not obj > conf:
                continue
            cls = int(np.argmax(a[i, 5:]))
            s = obj * float(a[i, 5 + cls])
            if s > conf:
                c.append(dict(box=to_xyxy(a[i, :4].tolist(), fmt or "cxcywh"), score=s, cls=cls, order=i))
    elif layout == "boxes_scores":
        boxes, labels, scores = outs
        for i in range(boxes.shape[0]):
            if scores[i] > conf:
                c.append(dict(box=to_xyxy(boxes[i].tolist(), fmt or "xyxy"), score=float(scores[i]),
                              cls=int(labels[i]), order=i))
    elif layout == "ssd":
        a = outs[0].reshape(-1, 7)
        norm = bool(normalized)
        for i in range(a.shape[0]):
            if a[i, 0] < 0:
                break
            if a[i, 2] > conf:
                b = to_xyxy(a[i, 3:7].tolist(), fmt or "xyxy")
                if norm:
                    b = [b[0] * W, b[1] * H, b[2] * W, b[3] * H]
                c.append(dict(box=b, score=float(a[i, 2]), cls=int(a[i, 1]), order=i))
    if normalized and layout != "ssd":
        for d in c:
            b = d["box"]
            d["box"] = [b[0] * W, b[1] * H, b[2] * W, b[3] * H]
    return c


def map_box(b, tf, w, h):
    sx, sy, ox, oy = tf
    x1, x2 = (b[0] - ox) / sx, (b[2] - ox) / sx
    y1, y2 = (b[1] - oy) / sy, (b[3] - oy) / sy
    return [min(max(x1, 0), w), min(max(y1, 0), h), min(max(x2, 0), w), min(max(y2, 0), h)]


def ref_detect(layout, outs, img_wh, model_wh, mode, conf=0.25, iou_thr=0.45, agnostic=False, max_det=100, **kw):
    w, h = img_wh
    W, H = model_wh
    tf = geometry(w, h, W, H, mode)
    # boxes + scores + labels and ssd outputs come after the model's own NMS:
    # lens only orders and cuts them, unless class-agnostic NMS is asked for.
    own_nms = layout in ("boxes_scores", "ssd") and not agnostic
    kept = nms(decode(layout, outs, conf, W, H, **kw), 2.0 if own_nms else iou_thr, agnostic, max_det)
    return [dict(box=map_box(k["box"], tf, w, h), score=k["score"], cls=k["cls"]) for k in kept]


def ref_segment(logits, img_wh, model_wh, mode, resize_short=0):
    w, h = img_wh
    W, H = model_wh
    C, oh, ow = logits.shape
    cls = np.argmax(logits, axis=0) if C > 1 else (logits[0] > 0).astype(np.int64)
    sx, sy, ox, oy = geometry(w, h, W, H, mode, resize_short)

    def axis(n, s, o, size, out):
        x = (np.arange(n) + 0.5) * s + o
        idx = np.clip(np.floor(x * out / size).astype(np.int64), 0, out - 1)
        return np.where((x < 0) | (x >= size), -1, idx)
    mx, my = axis(w, sx, ox, W, ow), axis(h, sy, oy, H, oh)
    mask = cls[np.clip(my, 0, None)][:, np.clip(mx, 0, None)].astype(np.uint8)
    mask[my < 0, :] = 255
    mask[:, mx < 0] = 255
    return mask


# ---- comparisons ------------------------------------------------------------------

def json_lines(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def same_detections(got, ref, tol=0.02):
    if len(got) != len(ref):
        return False, "count %d vs %d" % (len(got), len(ref))
    for i, (g, r) in enumerate(zip(got, ref)):
        if g["class"] != r["cls"] or abs(g["score"] - r["score"]) > 1e-5 or \
                any(abs(a - b) > tol for a, b in zip(g["box"], r["box"])):
            return False, "detection %d: lens %s vs ref %s" % (i, g, r)
    return True, ""


def random_boxes(rng, n, W, H, clusters=6):
    """n cxcywh boxes in clusters so that NMS has work to do."""
    centres = rng.uniform([0.1 * W, 0.1 * H], [0.9 * W, 0.9 * H], size=(clusters, 2))
    k = rng.integers(0, clusters, n)
    cxcy = centres[k] + rng.normal(0, 6, size=(n, 2))
    wh = rng.uniform(20, 0.5 * min(W, H), size=(n, 2))
    return np.concatenate([cxcy, wh], axis=1).astype(np.float32)


def main():
    global LENS
    ap = argparse.ArgumentParser()
    ap.add_argument("--lens", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    LENS = os.path.abspath(a.lens)
    w = a.work
    shutil.rmtree(w, ignore_errors=True)
    os.makedirs(w)
    j = lambda *p: os.path.join(w, *p)
    rng = np.random.default_rng(7)

    images = {}
    for name, (iw, ih) in {"wide": (640, 360), "tall": (300, 500), "square": (256, 256), "odd": (333, 199)}.items():
        img = rng.integers(0, 256, size=(ih, iw, 3), dtype=np.uint8)
        path = j(name + ".png")
        cv2.imwrite(path, img)
        images[name] = (path, (iw, ih))

    W, H, C, N = 320, 320, 3, 300
    labels = ["cat", "dog", "bird"]

    # --- YOLOv8 channel-first, every resize mode and image shape, default thresholds
    boxes = random_boxes(rng, N, W, H)
    scores = (rng.random((C, N)) ** 3).astype(np.float32)
    y8 = np.concatenate([boxes.T, scores], axis=0)[None]
    m = const_model(j("y8.onnx"), [1, 3, H, W], {"output0": y8},
                    {"lens.task": "detect", "lens.labels": json.dumps(labels)})
    for mode in ("letterbox", "stretch", "crop"):
        for name, (path, wh) in images.items():
            rc, out, err = lens("detect", m, path, "--json", "--resize", mode)
            ref = ref_detect("yolov8", [y8], wh, (W, H), mode)
            got = json_lines(out)[0]["detections"] if rc == 0 and out else []
            ok, why = same_detections(got, ref)
            check(rc == 0 and ok and len(ref) > 3, "yolov8 %s %s: %d detections" % (mode, name, len(ref)), why + err)
            if rc == 0 and got:
                check(all(g["label"] == labels[g["class"]] for g in got), "yolov8 labels from lens.labels")

    # --- thresholds, agnostic, max-det
    path, wh = images["wide"]
    for conf, iou_t, agn, md in ((0.5, 0.45, False, 100), (0.1, 0.3, True, 100), (0.05, 0.6, False, 7),
                                 (0.0, 0.0, True, 300)):
        args = ["--conf", conf, "--iou", iou_t, "--max-det", md] + (["--agnostic"] if agn else [])
        rc, out, err = lens("detect", m, path, "--json", "--resize", "letterbox", *args)
        ref = ref_detect("yolov8", [y8], wh, (W, H), "letterbox", conf, iou_t, agn, md)
        got = json_lines(out)[0]["detections"] if rc == 0 and out else []
        ok, why = same_detections(got, ref)
        check(rc == 0 and ok, "yolov8 conf %g iou %g agnostic %s max-det %d: %d detections" %
              (conf, iou_t, agn, md, len(ref)), why + err)

    # --- YOLOv8 transposed [1, N, 4+C] found through the labels count (Ultralytics metadata)
    mt = const_model(j("y8t.onnx"), [1, 3, H, W], {"output0": np.ascontiguousarray(y8[0].T[None])},
                     {"task": "detect", "names": "{0: 'cat', 1: 'dog', 2: 'bird'}", "imgsz": "[320, 320]"})
    rc, out, err = lens("detect", mt, path, "--json")
    ref = ref_detect("yolov8", [y8], wh, (W, H), "letterbox")  # Ultralytics implies letterbox
    got = json_lines(out)[0]["detections"] if rc == 0 and out else []
    ok, why = same_detections(got, ref)
    check(rc == 0 and ok, "yolov8 transposed with Ultralytics metadata (letterbox implied)", why + err)

    # --- YOLOv5 [1, N, 5+C]
    obj = rng.random((N, 1)).astype(np.float32)
    y5 = np.concatenate([boxes, obj, rng.random((N, C)).astype(np.float32)], axis=1)[None]
    m5 = const_model(j("y5.onnx"), [1, 3, H, W], {"output": y5})
    for mode in ("letterbox", "stretch"):
        rc, out, err = lens("detect", m5, path, "--json", "--resize", mode, "--conf", "0.3")
        ref = ref_detect("yolov5", [y5], wh, (W, H), mode, conf=0.3)
        got = json_lines(out)[0]["detections"] if rc == 0 and out else []
        ok, why = same_detections(got, ref)
        check(rc == 0 and ok and len(ref) > 3, "yolov5 %s: %d detections, default labels" % (mode, len(ref)), why + err)
        if got:
            check(got[0]["label"] == "class_%d" % got[0]["class"], "yolov5 default label class_<i>")

    # --- torchvision boxes/labels/scores, xyxy pixels, rank-3 input without a batch axis
    bx = np.concatenate([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], axis=1).astype(np.float32)
    lab = rng.integers(1, 91, N).astype(np.int64)
    sc = rng.random(N).astype(np.float32)
    mtv = const_model(j("tv.onnx"), [3, H, W], {"boxes": bx, "labels": lab, "scores": sc},
                      {"lens.task": "detect", "lens.input.resize": "stretch"})
    rc, out, err = lens("detect", mtv, path, "--json", "--conf", "0.5")
    ref = ref_detect("boxes_scores", [bx, lab, sc], wh, (W, H), "stretch", conf=0.5)
    got = json_lines(out)[0]["detections"] if rc == 0 and out else []
    ok, why = same_detections(got, ref)
    check(rc == 0 and ok and len(ref) > 3, "torchvision boxes/labels/scores: %d detections" % len(ref), why + err)
    rc, out, err = lens("detect", mtv, path, "--json", "--conf", "0.5", "--agnostic", "--iou", "0.5")
    ref = ref_detect("boxes_scores", [bx, lab, sc], wh, (W, H), "stretch", conf=0.5, iou_thr=0.5, agnostic=True)
    got = json_lines(out)[0]["detections"] if rc == 0 and out else []
    ok, why = same_detections(got, ref)
    check(rc == 0 and ok and len(ref) > 3, "torchvision outputs with --agnostic NMS: %d detections" % len(ref),
          why + err)

    # --- SSD [1, 1, N, 7], normalised, end marker
    n7 = 50
    ssd = np.zeros((1, 1, n7 + 5, 7), np.float32)
    ssd[0, 0, :n7, 1] = rng.integers(0, 5, n7)
    ssd[0, 0, :n7, 2] = rng.random(n7)
    xy = rng.random((n7, 2)) * 0.7
    ssd[0, 0, :n7, 3:5] = xy
    ssd[0, 0, :n7, 5:7] = xy + 0.05 + rng.random((n7, 2)) * 0.3
    ssd[0, 0, n7, 0] = -1  # DetectionOutput's end marker: rows after it are ignored
    ssd[0, 0, n7 + 1] = [0, 1, 0.99, 0, 0, 1, 1]
    ms = const_model(j("ssd.onnx"), [1, 3, 300, 300], {"detection_out": ssd},
                     {"lens.task": "detect", "lens.output.normalized": "1"})
    path2, wh2 = images["tall"]
    rc, out, err = lens("detect", ms, path2, "--json")
    ref = ref_detect("ssd", [ssd], wh2, (300, 300), "stretch", normalized=True)
    got = json_lines(out)[0]["detections"] if rc == 0 and out else []
    ok, why = same_detections(got, ref)
    check(rc == 0 and ok and len(ref) > 3, "ssd normalised with end marker: %d detections" % len(ref), why + err)

    # --- normalised cxcywh from lens keys
    y8n = y8.copy()
    y8n[0, 0] /= W
    y8n[0, 2] /= W
    y8n[0, 1] /= H
    y8n[0, 3] /= H
    mn = const_model(j("y8n.onnx"), [1, 3, H, W], {"output0": y8n},
                     {"lens.task": "detect", "lens.output.layout": "yolov8", "lens.output.normalized": "1",
                      "lens.output.box": "cxcywh", "lens.input.resize": "letterbox"})
    rc, out, err = lens("detect", mn, path, "--json")
    ref = ref_detect("yolov8", [y8], wh, (W, H), "letterbox")
    got = json_lines(out)[0]["detections"] if rc == 0 and out else []
    ok, why = same_detections(got, ref, tol=0.05)
    check(rc == 0 and ok, "normalised cxcywh boxes", why + err)

    # --- segmentation: logits at a quarter of the input, every resize mode
    SW, SH, SC = 128, 96, 5
    seg = rng.normal(size=(1, SC, SH // 4, SW // 4)).astype(np.float32)
    mseg = const_model(j("seg.onnx"), [1, 3, SH, SW], {"out": seg}, {"lens.task": "segment"})
    for mode in ("stretch", "letterbox", "crop"):
        for name in ("wide", "tall", "odd"):
            path3, wh3 = images[name]
            od = j("seg_" + mode + "_" + name)
            rc, out, err = lens("segment", mseg, path3, "--json", "--resize", mode, "-o", od)
            ref = ref_segment(seg[0], wh3, (SW, SH), mode)
            got = json_lines(out)[0] if rc == 0 and out else {}
            mpath = os.path.join(od, name + ".mask.png")
            mask = cv2.imread(mpath, cv2.IMREAD_UNCHANGED) if os.path.exists(mpath) else None
            agree = float(np.mean(mask == ref)) if mask is not None and mask.shape == ref.shape else 0.0
            check(rc == 0 and agree >= 0.999, "segment %s %s: mask PNG agrees on %.4f of pixels" % (mode, name, agree),
                  err)
            if got:
                counts = {c["index"]: c["pixels"] for c in got["classes"]}
                total = wh3[0] * wh3[1]
                refc = {k: int(np.sum(ref == k)) for k in range(SC)}
                worst = max(abs(counts.get(k, 0) - refc[k]) for k in range(SC)) / total
                outside = int(np.sum(ref == 255))
                check(got["width"] == wh3[0] and got["height"] == wh3[1] and worst < 0.002 and
                      abs(got["outside_pixels"] - outside) <= 0.002 * total and (mode == "crop") == (outside > 0),
                      "segment %s %s: per-class counts (worst %.5f)" % (mode, name, worst), got)
            check(os.path.exists(os.path.join(od, name + ".overlay.png")), "segment %s %s: overlay written" % (mode, name))
    # one channel: sigmoid
    s1 = rng.normal(size=(1, 1, 24, 32)).astype(np.float32)
    m1 = const_model(j("seg1.onnx"), [1, 3, 96, 128], {"out": s1}, {"lens.task": "segment"})
    path3, wh3 = images["odd"]
    rc, out, err = lens("segment", m1, path3, "--json", "-o", j("seg1"))
    ref = ref_segment(s1[0], wh3, (128, 96), "stretch")
    mask = cv2.imread(j("seg1", "odd.mask.png"), cv2.IMREAD_UNCHANGED) if rc == 0 else None
    check(mask is not None and float(np.mean(mask == ref)) >= 0.999, "segment one channel: sigmoid > 0.5", err)

    # --- classification: softmax of logits, probabilities kept
    logits = rng.normal(size=(1, 10)).astype(np.float32) * 3
    mc = const_model(j("cls.onnx"), [1, 3, 64, 64], {"logits": logits}, {"lens.task": "classify"})
    rc, out, err = lens("classify", mc, path, "--json", "--top", "3")
    p = np.exp(logits[0] - logits[0].max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")[:3]
    got = json_lines(out)[0]["top"] if rc == 0 and out else []
    check(rc == 0 and [g["index"] for g in got] == order.tolist() and
          all(abs(g["score"] - p[i]) < 1e-5 for g, i in zip(got, order)), "classify: softmax top-3", out + err)
    probs = (p[None]).astype(np.float32)
    mp = const_model(j("clsp.onnx"), [1, 3, 64, 64], {"probs": probs}, {"lens.task": "classify"})
    rc, out, err = lens("classify", mp, path, "--json", "--top", "1")
    got = json_lines(out)[0]["top"] if rc == 0 and out else []
    check(rc == 0 and got and abs(got[0]["score"] - p.max()) < 1e-6, "classify: probabilities kept as they are",
          out + err)
    rc, out, err = lens("classify", mc, path, "--json", "--top", "1", "--softmax", "no")
    got = json_lines(out)[0]["top"] if rc == 0 and out else []
    check(rc == 0 and got and abs(got[0]["score"] - logits.max()) < 1e-5, "classify: --softmax no", out + err)
    # uint8 NHWC input: raw pixels
    mu = const_model(j("clsu8.onnx"), [1, 64, 64, 3], {"logits": logits}, {"lens.task": "classify"},
                     in_type=TensorProto.UINT8)
    rc, out, err = lens("classify", mu, path, "--json", "--top", "1")
    check(rc == 0 and json_lines(out)[0]["top"][0]["index"] == int(order[0]), "classify: uint8 NHWC input", err)

    print("%d check(s) failed" % len(FAILS) if FAILS else "all checks passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
