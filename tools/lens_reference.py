"""Reference (numpy + OpenCV) implementation of what lens does around a vision model:
the preprocessing that docs/METADATA.md defines, and the decoding of outputs into the
JSON result objects of `lens classify|detect|segment --json`.

lens-export uses it to build the input it feeds to both PyTorch and lens and to write
MODEL.check/expected.json; the training scripts use it so that the bundled models are
trained on exactly the tensors lens will give them. See docs/EXPORT.md for the exact
geometry of each resize mode.

The arithmetic is OpenCV's on 8-bit images, as lens's own pass reproduces it bit for bit
(src/image/preprocess.c): colour conversion first (cv2.cvtColor to gray, or a channel
swap), then cv2.resize on uint8 (INTER_LINEAR, or INTER_AREA when shrinking), then the
window (letterbox padding or centre crop), then (v * scale - mean[c]) / std[c] in float32.
"""
import json
import math

import cv2
import numpy as np

DEFAULTS = {
    "width": 224, "height": 224, "resize": "stretch", "resize_short": 0, "interp": "bilinear",
    "pad": 114, "channels": "rgb", "scale": 1.0 / 255.0, "mean": [0.0, 0.0, 0.0],
    "std": [1.0, 1.0, 1.0], "layout": "nchw", "dtype": "float32",
}


# ---------------------------------------------------------------- metadata <-> spec

def _floats(s, what):
    try:
        v = [float(x) for x in str(s).split(",")]
    except ValueError:
        raise ValueError("%s: '%s' is not a comma-separated list of numbers" % (what, s))
    if any(not math.isfinite(x) for x in v):
        raise ValueError("%s: '%s' holds a non-finite number" % (what, s))
    return v


def spec_from_metadata(meta, input_shape=None):
    """The preprocessing spec (a dict, keys as DEFAULTS) described by lens.* metadata keys
    (a dict of strings). input_shape ([N, C, H, W] or [N, H, W, C] with ints or None)
    supplies the size and layout where the keys are absent."""
    s = dict(DEFAULTS)
    s["mean"], s["std"] = list(DEFAULTS["mean"]), list(DEFAULTS["std"])
    if input_shape is not None and len(input_shape) == 4:
        nhwc = input_shape[3] in (1, 3) and input_shape[1] not in (1, 3)
        s["layout"] = "nhwc" if nhwc else "nchw"
        h, w = (input_shape[1], input_shape[2]) if nhwc else (input_shape[2], input_shape[3])
        if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0:
            s["width"], s["height"] = w, h
        c = input_shape[3] if nhwc else input_shape[1]
        if c == 1:
            s["channels"] = "gray"
    if "lens.input.size" in meta:
        wh = _floats(meta["lens.input.size"], "lens.input.size")
        if len(wh) != 2 or any(v < 1 or v != int(v) for v in wh):
            raise ValueError("lens.input.size: want W,H (positive integers), not '%s'" % meta["lens.input.size"])
        s["width"], s["height"] = int(wh[0]), int(wh[1])
    for key, field, allowed in (("lens.input.resize", "resize", ("stretch", "letterbox", "crop")),
                                ("lens.input.interp", "interp", ("bilinear", "area")),
                                ("lens.input.channels", "channels", ("rgb", "bgr", "gray")),
                                ("lens.input.layout", "layout", ("nchw", "nhwc")),
                                ("lens.input.dtype", "dtype", ("float32", "uint8"))):
        if key in meta:
            if meta[key] not in allowed:
                raise ValueError("%s: '%s' is not one of %s" % (key, meta[key], "|".join(allowed)))
            s[field] = meta[key]
    if "lens.input.resize_short" in meta:
        s["resize_short"] = int(meta["lens.input.resize_short"])
    if "lens.input.pad" in meta:
        s["pad"] = int(meta["lens.input.pad"])
        if not 0 <= s["pad"] <= 255:
            raise ValueError("lens.input.pad: %d is not in 0..255" % s["pad"])
    if "lens.input.scale" in meta:
        s["scale"] = _floats(meta["lens.input.scale"], "lens.input.scale")[0]
    for key, field in (("lens.input.mean", "mean"), ("lens.input.std", "std")):
        if key in meta:
            v = _floats(meta[key], key)
            if len(v) == 1:
                v = v * 3
            if len(v) != 3:
                raise ValueError("%s: want one or three values, not '%s'" % (key, meta[key]))
            s[field] = v
    if any(v == 0 for v in s["std"]):
        raise ValueError("lens.input.std: zero divisor in '%s'" % ",".join(map(str, s["std"])))
    return s


# ---------------------------------------------------------------- geometry

def letterbox_geometry(w0, h0, W, H):
    """(new_w, new_h, left, top) of the letterbox fit of w0 x h0 into W x H, as YOLO's
    letterbox: r = min(W / w0, H / h0), the resized size is round(w0 * r) x round(h0 * r)
    (Python's round: half to even; at least 1, at most W x H), centred with the odd pixel
    of padding, if any, on the right / bottom."""
    r = min(W / w0, H / h0)
    nw = max(1, min(W, int(round(w0 * r))))
    nh = max(1, min(H, int(round(h0 * r))))
    return nw, nh, (W - nw) // 2, (H - nh) // 2


def _centre(virt, out):
    # torchvision CenterCrop: the window starts at round((virt - out) / 2), half to even;
    # a window larger than the image pads (out - virt) // 2 on the left / top.
    return int(round((virt - out) / 2.0)) if virt >= out else -((out - virt) // 2)


def crop_geometry(w0, h0, W, H, short):
    """(new_w, new_h, left, top) of torchvision's Resize(short) + CenterCrop((H, W)): the
    shorter side becomes `short` (0 = min(W, H)), the longer floor(short * long / shorter);
    left/top is where the window starts in the resized image (negative: padding with 0)."""
    short = short or min(W, H)
    if w0 <= h0:
        nw, nh = short, int(math.floor(short * h0 / w0))
    else:
        nh, nw = short, int(math.floor(short * w0 / h0))
    return max(nw, 1), max(nh, 1), _centre(nw, W), _centre(nh, H)


def transform(spec, w0, h0):
    """(scale_x, scale_y, offset_x, offset_y): model-input x = source_x * scale_x + offset_x."""
    W, H = spec["width"], spec["height"]
    if spec["resize"] == "stretch":
        return W / w0, H / h0, 0.0, 0.0
    if spec["resize"] == "letterbox":
        nw, nh, left, top = letterbox_geometry(w0, h0, W, H)
        return nw / w0, nh / h0, float(left), float(top)
    nw, nh, left, top = crop_geometry(w0, h0, W, H, spec["resize_short"])
    return nw / w0, nh / h0, float(-left), float(-top)


def _resize(img, w, h, interp):
    h0, w0 = img.shape[:2]
    if (w, h) == (w0, h0):
        return img.copy()
    # INTER_AREA as OpenCV does it: box filter when shrinking, its own bilinear variant
    # when enlarging (both directions), and lens reproduces either exactly.
    flag = cv2.INTER_AREA if interp == "area" else cv2.INTER_LINEAR
    out = cv2.resize(img, (w, h), interpolation=flag)
    return out.reshape(h, w, -1)


def preprocess(rgb, spec):
    """uint8 RGB image [h, w, 3] (or gray [h, w] / [h, w, 1]) -> the batch-1 input tensor
    (float32, or uint8 when spec["dtype"] is uint8), laid out per spec["layout"]."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    if rgb.ndim == 2:
        rgb = rgb[..., None]
    ch = spec["channels"]
    if ch == "gray":
        img = rgb if rgb.shape[2] == 1 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None]
    else:
        img = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb
        if ch == "bgr":
            img = np.ascontiguousarray(img[..., ::-1])
    h0, w0 = img.shape[:2]
    W, H = spec["width"], spec["height"]
    c = img.shape[2]
    if spec["resize"] == "stretch":
        canvas = _resize(img, W, H, spec["interp"])
    elif spec["resize"] == "letterbox":
        nw, nh, left, top = letterbox_geometry(w0, h0, W, H)
        canvas = np.full((H, W, c), spec["pad"], np.uint8)
        canvas[top:top + nh, left:left + nw] = _resize(img, nw, nh, spec["interp"])
    else:
        nw, nh, left, top = crop_geometry(w0, h0, W, H, spec["resize_short"])
        r = _resize(img, nw, nh, spec["interp"])
        canvas = np.zeros((H, W, c), np.uint8)
        ys, xs = max(0, top), max(0, left)
        ye, xe = min(nh, top + H), min(nw, left + W)
        if ye > ys and xe > xs:
            canvas[ys - top:ye - top, xs - left:xe - left] = r[ys:ye, xs:xe]
    if spec["dtype"] == "uint8":
        t = canvas
    else:
        mean = np.array(spec["mean"][:c], np.float32)
        std = np.array(spec["std"][:c], np.float32)
        t = ((canvas.astype(np.float32) * np.float32(spec["scale"]) - mean) / std).astype(np.float32)
    if spec["layout"] == "nchw":
        t = t.transpose(2, 0, 1)
    return np.ascontiguousarray(t[None])


def read_image(path):
    """uint8 RGB [h, w, 3] from a PNG/JPEG file; raises ValueError naming the file."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("%s: not a readable image" % path)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------- decoding

def softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def label_of(labels, i):
    return labels[i] if 0 <= i < len(labels) else "class_%d" % i


def classify_result(outputs, meta, labels):
    logits = np.asarray(outputs[0], np.float64).reshape(-1)
    layout = meta.get("lens.output.layout", "logits")
    p = logits if layout == "probs" else softmax(logits)
    k = min(int(meta.get("lens.post.top_k", 5)), p.size)
    order = np.argsort(-p, kind="stable")[:k]
    return {"top": [{"index": int(i), "label": label_of(labels, int(i)), "score": float(p[i])} for i in order]}


def box_iou(a, b):
    """IoU between boxes a [n, 4] and b [m, 4] (x1, y1, x2, y2) -> [n, m]."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes, scores, iou_thr):
    """Greedy NMS: indices kept, highest score first (ties: lower index first)."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    suppressed = np.zeros(len(order), bool)
    iou = box_iou(boxes[order], boxes[order]) if len(order) else None
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(int(order[i]))
        suppressed |= iou[i] > iou_thr
    return keep


def batched_nms(boxes, scores, classes, iou_thr):
    """Per-class NMS (boxes of different classes never suppress each other), sorted by score."""
    keep = []
    for c in np.unique(classes):
        idx = np.nonzero(classes == c)[0]
        keep += [int(idx[k]) for k in nms(boxes[idx], scores[idx], iou_thr)]
    return sorted(keep, key=lambda i: (-scores[i], i))


def decode_yolov8(out, nc=None):
    """[1, 4+C, N] or [1, N, 4+C] -> (cxcywh boxes [N, 4], class scores [N, C])."""
    a = np.asarray(out, np.float32)
    a = a.reshape(a.shape[-2], a.shape[-1])
    if nc is not None:
        transposed = a.shape[0] == 4 + nc and a.shape[1] != 4 + nc
    else:
        transposed = a.shape[0] < a.shape[1]
    if transposed:
        a = a.T
    return a[:, :4], a[:, 4:]


def detect_raw(outputs, meta, output_names=None):
    """Decode detector outputs to (boxes xyxy in model-input pixels [n,4], scores [n],
    classes [n]) before thresholding, per lens.output.layout."""
    layout = meta.get("lens.output.layout", "yolov8")
    W, H = (int(v) for v in meta.get("lens.input.size", "0,0").split(",")) if "lens.input.size" in meta else (0, 0)
    norm = meta.get("lens.output.normalized", "0") == "1"
    if layout in ("yolov8", "yolov5"):
        a = np.asarray(outputs[0], np.float32)
        a = a.reshape(a.shape[-2], a.shape[-1])
        if layout == "yolov8":
            nc = len(json.loads(meta["lens.labels"])) if "lens.labels" in meta else None
            box, cls = decode_yolov8(a, nc)
            scores_all = cls
        else:
            box, obj, cls = a[:, :4], a[:, 4:5], a[:, 5:]
            scores_all = obj * cls
        classes = scores_all.argmax(1)
        scores = scores_all[np.arange(len(classes)), classes]
        enc = meta.get("lens.output.box", "cxcywh")
        if enc == "cxcywh":
            boxes = np.stack([box[:, 0] - box[:, 2] / 2, box[:, 1] - box[:, 3] / 2,
                              box[:, 0] + box[:, 2] / 2, box[:, 1] + box[:, 3] / 2], 1)
        else:
            boxes = box.copy()
        nms_needed = True
    elif layout == "boxes_scores":
        names = output_names or []
        byname = {n: np.asarray(o) for n, o in zip(names, outputs)}
        boxes = np.asarray(byname.get("boxes", outputs[0]), np.float32).reshape(-1, 4)
        scores = np.asarray(byname.get("scores", outputs[1]), np.float32)
        if scores.ndim == 2 and scores.shape[1] > 1 or (scores.ndim == 3):
            scores = scores.reshape(boxes.shape[0], -1)
            classes = scores.argmax(1)
            scores = scores[np.arange(len(classes)), classes]
            nms_needed = True
        else:
            scores = scores.reshape(-1)
            lab = byname.get("labels", outputs[2] if len(outputs) > 2 else None)
            classes = np.asarray(lab).reshape(-1).astype(np.int64) if lab is not None else np.zeros(len(scores), np.int64)
            nms_needed = False
        if meta.get("lens.output.box", "xyxy") == "cxcywh":
            b = boxes
            boxes = np.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], 1)
    elif layout == "ssd":
        a = np.asarray(outputs[0], np.float32).reshape(-1, 7)
        classes, scores, boxes = a[:, 1].astype(np.int64), a[:, 2], a[:, 3:7]
        nms_needed = False
    else:
        raise ValueError("lens.output.layout '%s' is not a detection layout" % layout)
    if norm:
        boxes = boxes * np.array([W, H, W, H], np.float32)
    return boxes.astype(np.float64), scores.astype(np.float64), classes.astype(np.int64), nms_needed


def detect_result(outputs, meta, labels, w0, h0, spec, output_names=None):
    boxes, scores, classes, nms_needed = detect_raw(outputs, meta, output_names)
    conf = float(meta.get("lens.post.conf", 0.25))
    iou = float(meta.get("lens.post.iou", 0.45))
    max_det = int(meta.get("lens.post.max_det", 100))
    m = scores >= conf
    boxes, scores, classes = boxes[m], scores[m], classes[m]
    if nms_needed:
        keep = batched_nms(boxes, scores, classes, iou)
    else:
        keep = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep = keep[:max_det]
    sx, sy, ox, oy = transform(spec, w0, h0)
    dets = []
    for i in keep:
        b = boxes[i]
        x1 = min(max((b[0] - ox) / sx, 0.0), w0)
        y1 = min(max((b[1] - oy) / sy, 0.0), h0)
        x2 = min(max((b[2] - ox) / sx, 0.0), w0)
        y2 = min(max((b[3] - oy) / sy, 0.0), h0)
        dets.append({"box": [round(float(v), 2) for v in (x1, y1, x2, y2)], "score": float(scores[i]),
                     "class": int(classes[i]), "label": label_of(labels, int(classes[i]))})
    return {"width": int(w0), "height": int(h0), "detections": dets}


def segment_map(outputs, meta, w0, h0, spec):
    """Class index per source pixel [h0, w0] (int64; -1 where the model saw nothing, which
    happens outside a centre crop). As lens: argmax (or x > threshold for one channel) at
    the output's own resolution, then each source pixel takes the class of the output cell
    its centre falls in: x = (sx + 0.5) * scale_x + offset_x in model-input coordinates,
    cell floor(x * out_w / W) (likewise y)."""
    a = np.asarray(outputs[0], np.float32)
    a = a.reshape(a.shape[-3], a.shape[-2], a.shape[-1])     # [C, h, w]
    C, oh, ow = a.shape
    if C == 1:
        thr = 0.5 if meta.get("lens.output.layout") == "probs" else 0.0
        cls = (a[0] > thr).astype(np.int64)
    else:
        cls = a.argmax(0).astype(np.int64)
    W, H = spec["width"], spec["height"]
    sx, sy, ox, oy = transform(spec, w0, h0)

    def axis(n, scale, off, size, out):
        x = (np.arange(n, dtype=np.float64) + 0.5) * np.float32(scale) + np.float32(off)
        inside = (x >= 0) & (x < size)
        c = np.clip(np.floor(x * (out / size)), 0, out - 1).astype(np.int64)
        return np.where(inside, c, -1)

    mx = axis(w0, sx, ox, W, ow)
    my = axis(h0, sy, oy, H, oh)
    m = cls[np.clip(my, 0, None)][:, np.clip(mx, 0, None)]
    m[my < 0, :] = -1
    m[:, mx < 0] = -1
    return m


def segment_result(outputs, meta, labels, w0, h0, spec):
    m = segment_map(outputs, meta, w0, h0, spec)
    counts = np.bincount(m[m >= 0].ravel())
    classes = [{"index": int(i), "label": label_of(labels, int(i)), "pixels": int(n)}
               for i, n in enumerate(counts) if n > 0]
    return {"width": int(w0), "height": int(h0), "classes": classes}
