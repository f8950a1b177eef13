#!/usr/bin/python3
"""Export torchvision models to ONNX with PyTorch reference outputs (the parity oracle).

For each model name in MODELS this builds the torchvision model with random weights
(weights=None, fixed seed), makes every parameter and buffer distinct (so that a kernel that
reads the wrong initializer cannot pass by luck), calibrates the BatchNorm statistics so the
network stays numerically sane in eval mode, exports it with torch.onnx.export at the model's
opset (do_constant_folding=True, as users do), and writes into a cache directory:

    <cache>/<name>-op<opset>-<hash>/model.onnx
                                   /input_<i>.npy   (one per graph input, in graph order)
                                   /ref_<i>.npy     (PyTorch's outputs, in graph order)
                                   /meta.json       (task, names, export time, sizes, ...)

<hash> covers this file and the torch/torchvision versions, so editing the exporter
re-exports. Exports are written to a temporary directory and renamed into place, so parallel
ctest runs never see half a model.

Usage: export_models.py --cache DIR [--opset N] [--list] [--force] NAME...|all
Python: needs torch 1.13+, torchvision 0.14+, onnx, numpy, skimage (Debian's /usr/bin/python3).
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (task, default opset, extended?)  extended = registered only with LENS_EXTENDED_TESTS.
# Opsets are spread so 11, 13, 14, 16 and 17 are each covered (detectors need 11+,
# RoiAlign's coordinate_transformation_mode needs 16, LayerNormalization needs 17).
MODELS = {
    "resnet18":                          ("classify", 13, False),
    "resnet50":                          ("classify", 14, True),
    "mobilenet_v2":                      ("classify", 13, False),
    "mobilenet_v3_small":                ("classify", 14, False),
    "mobilenet_v3_large":                ("classify", 17, False),
    "efficientnet_b0":                   ("classify", 14, False),
    "squeezenet1_1":                     ("classify", 11, False),
    "shufflenet_v2_x1_0":                ("classify", 11, False),
    "densenet121":                       ("classify", 14, True),
    "googlenet":                         ("classify", 11, False),
    "regnet_y_400mf":                    ("classify", 16, False),
    "convnext_tiny":                     ("classify", 17, True),
    "vit_b_16":                          ("classify", 17, True),
    "lraspp_mobilenet_v3_large":         ("segment", 16, False),
    "deeplabv3_mobilenet_v3_large":      ("segment", 13, False),
    "fcn_resnet50":                      ("segment", 16, True),
    "ssdlite320_mobilenet_v3_large":     ("detect", 13, False),
    "fasterrcnn_mobilenet_v3_large_320_fpn": ("detect", 16, False),
    "retinanet_resnet50_fpn":            ("detect", 11, True),
    "yolo_head":                         ("yolo", 17, False),
}

SEED = 20240611
CLS_SIZE = 224        # classification input side
SEG_SIZE = 320        # segmentation input side
DET_HW = (384, 512)   # detector input (H, W): not square, to catch H/W mix-ups
YOLO_SIZE = 320
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def script_hash():
    import torch
    import torchvision
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    h.update(torch.__version__.encode())
    h.update(torchvision.__version__.encode())
    return h.hexdigest()[:12]


def cache_dir_for(cache, name, opset):
    return os.path.join(cache, "%s-op%d-%s" % (name, opset, script_hash()))


# ---------------------------------------------------------------- inputs

def _photo(which="astronaut"):
    """An RGB uint8 photo from skimage.data (bundled, no network)."""
    import skimage.data
    return getattr(skimage.data, which)()


def _resize(img, h, w):
    import torch
    import torch.nn.functional as F
    t = torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    return F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)[0]


def photo_tensor(h, w, which="astronaut", normalise=True):
    """[3,h,w] float32, RGB, optionally ImageNet-normalised."""
    import torch
    t = _resize(_photo(which), h, w)
    if normalise:
        t = (t - torch.from_numpy(IMAGENET_MEAN)[:, None, None]) / torch.from_numpy(IMAGENET_STD)[:, None, None]
    return t.contiguous()


def diversity_inputs(h, w, normalise=True):
    """Different images for the sanity check (top-1 must not be constant across them)."""
    import torch
    g = torch.Generator().manual_seed(7)
    ims = [photo_tensor(h, w, k, normalise) for k in ("astronaut", "chelsea", "coffee", "rocket")]
    ims.append(torch.randn(3, h, w, generator=g) if normalise else torch.rand(3, h, w, generator=g))
    return ims


# ---------------------------------------------------------------- the YOLO-style test model

def build_yolo_head():
    """A small YOLOv8-style network: conv backbone, FPN with Upsample + Concat, C2f blocks
    (Split), a decoupled head with a DFL box decoder (Reshape, Transpose, Softmax), Sigmoid
    class scores, anchor decoding with Slice, and a final [1, N, 4+nc] Transpose."""
    import torch
    import torch.nn as nn

    def conv(ci, co, k=3, s=1):
        return nn.Sequential(nn.Conv2d(ci, co, k, s, k // 2, bias=False), nn.BatchNorm2d(co), nn.SiLU())

    class C2f(nn.Module):
        def __init__(self, ci, co):
            super().__init__()
            self.c = co // 2
            self.cv1 = conv(ci, 2 * self.c, 1)
            self.m = nn.Sequential(conv(self.c, self.c), conv(self.c, self.c))
            self.cv2 = conv(3 * self.c, co, 1)

        def forward(self, x):
            a, b = self.cv1(x).split((self.c, self.c), 1)
            return self.cv2(torch.cat([a, b, self.m(b)], 1))

    class YoloHead(nn.Module):
        def __init__(self, nc=8, reg_max=16):
            super().__init__()
            self.nc, self.reg_max = nc, reg_max
            self.stem = conv(3, 16, 3, 2)                 # /2
            self.b1 = nn.Sequential(conv(16, 32, 3, 2), C2f(32, 32))   # /4
            self.b2 = nn.Sequential(conv(32, 64, 3, 2), C2f(64, 64))   # /8  -> P3
            self.b3 = nn.Sequential(conv(64, 96, 3, 2), C2f(96, 96))   # /16 -> P4
            self.b4 = nn.Sequential(conv(96, 128, 3, 2), C2f(128, 128))  # /32 -> P5
            self.up = nn.Upsample(scale_factor=2, mode="nearest")
            self.f4 = C2f(128 + 96, 96)
            self.f3 = C2f(96 + 64, 64)
            self.box = nn.ModuleList(nn.Sequential(conv(c, 32), nn.Conv2d(32, 4 * reg_max, 1)) for c in (64, 96, 128))
            self.cls = nn.ModuleList(nn.Sequential(conv(c, 32), nn.Conv2d(32, nc, 1)) for c in (64, 96, 128))
            self.dfl = nn.Conv2d(reg_max, 1, 1, bias=False)
            self.dfl.weight.data[:] = torch.arange(reg_max, dtype=torch.float32).view(1, reg_max, 1, 1)

        def forward(self, x):
            x = self.b1(self.stem(x))
            p3 = self.b2(x)
            p4 = self.b3(p3)
            p5 = self.b4(p4)
            n4 = self.f4(torch.cat([self.up(p5), p4], 1))
            n3 = self.f3(torch.cat([self.up(n4), p3], 1))
            feats = [n3, n4, p5]
            outs, anchors, strides = [], [], []
            for i, f in enumerate(feats):
                b, _, h, w = f.shape
                outs.append(torch.cat([self.box[i](f), self.cls[i](f)], 1).view(b, 4 * self.reg_max + self.nc, -1))
                s = 2 ** (i + 3)
                sy, sx = torch.meshgrid(torch.arange(h, dtype=torch.float32) + 0.5,
                                        torch.arange(w, dtype=torch.float32) + 0.5, indexing="ij")
                anchors.append(torch.stack([sx, sy], -1).view(-1, 2))
                strides.append(torch.full((h * w, 1), float(s)))
            y = torch.cat(outs, 2)                                   # [b, 4*reg+nc, N]
            anc = torch.cat(anchors, 0).transpose(0, 1)[None]        # [1, 2, N]
            st = torch.cat(strides, 0).transpose(0, 1)[None]         # [1, 1, N]
            box, cls = y.split((4 * self.reg_max, self.nc), 1)
            b, _, n = box.shape
            # DFL: softmax over the reg_max bins, expectation via a fixed 1x1 conv
            d = self.dfl(box.view(b, 4, self.reg_max, n).transpose(2, 1).softmax(1)).view(b, 4, n)
            lt, rb = d[:, :2], d[:, 2:]
            xy = (anc + (rb - lt) / 2) * st
            wh = (lt + rb) * st
            out = torch.cat([xy, wh, cls.sigmoid()], 1)              # [b, 4+nc, N]
            return out.permute(0, 2, 1).contiguous()                 # [b, N, 4+nc]

    return YoloHead()


# ---------------------------------------------------------------- building

def build(name):
    import torch
    import torchvision
    tv = torchvision.models
    torch.manual_seed(SEED)
    if name == "yolo_head":
        return build_yolo_head()
    if name == "googlenet":
        return tv.googlenet(weights=None, aux_logits=False, init_weights=True)
    if name in ("lraspp_mobilenet_v3_large",):
        return tv.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None)
    if name in ("deeplabv3_mobilenet_v3_large", "fcn_resnet50"):
        return getattr(tv.segmentation, name)(weights=None, weights_backbone=None, aux_loss=False)
    if name == "ssdlite320_mobilenet_v3_large":
        return tv.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                          score_thresh=0.001)
    if name == "fasterrcnn_mobilenet_v3_large_320_fpn":
        return tv.detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None,
                                                                   box_score_thresh=0.005)
    if name == "retinanet_resnet50_fpn":
        return tv.detection.retinanet_resnet50_fpn(weights=None, weights_backbone=None,
                                                   score_thresh=0.005, min_size=512, max_size=683)
    return getattr(tv, name)(weights=None)


def perturb(model, gen):
    """Make every float parameter and buffer distinct: add noise scaled to each tensor's own
    spread (or a small absolute amount for constant tensors such as zero biases and unit BN
    weights). num_batches_tracked and other integer buffers are left alone."""
    import torch
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if not t.is_floating_point() or t.numel() == 0:
                continue
            if name.endswith("dfl.weight"):
                continue  # the DFL expectation weights are fixed 0..reg_max-1 by design
            std = float(t.std()) if t.numel() > 1 else 0.0
            if std > 1e-6:
                t.add_(0.1 * std * torch.randn(t.shape, generator=gen))
            elif name.endswith("running_var"):
                t.mul_(torch.empty(t.shape).uniform_(0.5, 1.5, generator=gen))
            else:
                base = float(t.abs().mean())
                t.add_((0.1 * base + 0.02) * torch.randn(t.shape, generator=gen))


def calibrate_bn(model, inputs, call):
    """Run BatchNorm layers in training mode over `inputs` (cumulative average) so that the
    running statistics match the perturbed weights, then perturb the statistics slightly."""
    import torch
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    with torch.no_grad():
        call(model, inputs)
    gen = torch.Generator().manual_seed(SEED + 1)
    for m in bns:
        m.eval()
        with torch.no_grad():
            m.running_var.mul_(torch.empty(m.running_var.shape).uniform_(0.8, 1.25, generator=gen))
            m.running_mean.add_(0.05 * m.running_var.sqrt() * torch.randn(m.running_mean.shape, generator=gen))


def _last_classifier(model):
    import torch
    return [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))
            and getattr(m, "out_features", getattr(m, "out_channels", 0)) == 1000][-1]


def scale_classifier(model, k):
    import torch
    last = _last_classifier(model)
    with torch.no_grad():
        last.weight.mul_(k)
        if last.bias is not None:
            last.bias.mul_(k)


def center_classifier(model, inputs):
    """Random networks often carry a large input-independent component to the logits, so
    one class wins for every image (SqueezeNet). Shift the last layer's bias by its mean
    output over `inputs` so the winner depends on the image."""
    import torch
    last = _last_classifier(model)
    seen = []
    hook = last.register_forward_hook(lambda m, i, o: seen.append(o.detach()))
    with torch.no_grad():
        model(torch.stack(inputs))
        hook.remove()
        o = seen[0]
        mean = o.mean(0) if o.dim() == 2 else o.mean((0, 2, 3))
        if last.bias is None:
            last.bias = torch.nn.Parameter(torch.zeros(mean.shape))
        last.bias.sub_(mean)


def register_roi_align_opset16():
    """torchvision 0.14 exports RoiAlign only through its opset-11 symbolic, which omits
    coordinate_transformation_mode: at opset 16 that attribute defaults to half_pixel, so
    aligned=False models would export wrong. Register what newer torchvision does."""
    import torch
    from torch.onnx import register_custom_op_symbolic
    from torch.onnx.symbolic_helper import parse_args
    from torch.onnx.symbolic_opset11 import select, squeeze
    from torch.onnx.symbolic_opset9 import _cast_Long

    @parse_args("v", "v", "f", "i", "i", "i", "i")
    def roi_align16(g, input, rois, spatial_scale, ph, pw, sampling_ratio, aligned):
        bi = _cast_Long(g, squeeze(g, select(g, rois, 1, g.op("Constant", value_t=torch.tensor([0], dtype=torch.long))), 1), False)
        rois = select(g, rois, 1, g.op("Constant", value_t=torch.tensor([1, 2, 3, 4], dtype=torch.long)))
        return g.op("RoiAlign", input, rois, bi,
                    coordinate_transformation_mode_s="half_pixel" if aligned else "output_half_pixel",
                    spatial_scale_f=spatial_scale, output_height_i=ph, output_width_i=pw,
                    sampling_ratio_i=max(sampling_ratio, 0))

    register_custom_op_symbolic("torchvision::roi_align", roi_align16, 16)


def _spec(name):
    task = MODELS[name][0]
    if task == "classify":
        return task, (CLS_SIZE, CLS_SIZE), True
    if task == "segment":
        return task, (SEG_SIZE, SEG_SIZE), True
    if task == "yolo":
        return task, (YOLO_SIZE, YOLO_SIZE), False
    return task, DET_HW, False


def _forward(model, task, x):
    """PyTorch outputs as a flat list of tensors, in the order the ONNX graph has them."""
    if task == "detect":
        # torch.onnx flattens the result dict in its own key order, which differs
        # between detectors (Faster R-CNN: boxes, labels, scores; SSD: boxes,
        # scores, labels): keep that order, and name the outputs after the keys.
        d = model([x])[0]
        return [d[k] for k in d]
    y = model(x[None])
    if task == "segment":
        return [y["out"]]
    return [y]


def check_sanity(name, task, model, h, w, normalise):
    """Random weights must still give a network that distinguishes inputs."""
    import torch
    ims = diversity_inputs(h, w, normalise)
    with torch.no_grad():
        outs = [_forward(model, task, x)[0] for x in ims]
    problems = []
    for o in outs:
        if not torch.isfinite(o.float()).all():
            problems.append("non-finite output")
    if task == "classify":
        s = float(outs[0].std())
        if not (1e-2 < s < 1e3):
            problems.append("logit std %.3g" % s)
        tops = {int(o.argmax()) for o in outs}
        if len(tops) < 2:
            problems.append("top-1 constant across inputs (%s)" % tops)
        info = {"logit_std": s, "distinct_top1": len(tops)}
    elif task == "segment":
        s = float(outs[0].std())
        if not (1e-2 < s < 1e3):
            problems.append("logit std %.3g" % s)
        am = outs[0].argmax(1)
        ncls = int(am.unique().numel())
        if ncls < 2:
            problems.append("argmax constant over the image")
        info = {"logit_std": s, "classes_in_argmax": ncls}
    elif task == "detect":
        n = [int(o.shape[0]) for o in outs]
        if n[0] == 0:
            problems.append("no detections")
        info = {"detections": n}
    else:
        s = float(outs[0][..., 4:].std())
        info = {"score_std": s}
        if not s > 1e-3:
            problems.append("score std %.3g" % s)
    return problems, info


def export_one(name, opset, out_dir):
    import torch
    import onnx
    task, (h, w), normalise = _spec(name)
    t0 = time.time()
    model = build(name).eval()
    gen = torch.Generator().manual_seed(SEED)
    perturb(model, gen)
    calib = [photo_tensor(h, w, k, normalise) for k in ("astronaut", "chelsea", "coffee", "rocket")]
    if task == "detect":
        def call(m, ims):
            m(ims)
    else:
        def call(m, ims):
            m(torch.stack(ims))
    calibrate_bn(model, calib, call)
    model.eval()
    problems, info = check_sanity(name, task, model, h, w, normalise)
    if task == "classify" and problems:
        center_classifier(model, calib)
        problems, info = check_sanity(name, task, model, h, w, normalise)
        info["classifier_centred"] = True
    if task == "classify" and info["logit_std"] < 0.5:
        # Small logits make the top-1 margin comparable to the tolerance: scale the last
        # layer (ReLU after it, as in SqueezeNet, is positive-homogeneous) to logit std ~1.
        scale_classifier(model, 1.0 / info["logit_std"])
        problems, info = check_sanity(name, task, model, h, w, normalise)

    x = photo_tensor(h, w, "astronaut", normalise)
    with torch.no_grad():
        refs = _forward(model, task, x)
        det_keys = list(model([x])[0].keys()) if task == "detect" else None
    if task == "detect":
        args = ([x],)
        input_names, output_names = ["images"], det_keys
        inp = x.numpy()
    else:
        args = (x[None],)
        input_names = ["input"]
        output_names = ["out"] if task == "segment" else ["output"]
        inp = x[None].numpy()
    if opset >= 16:
        register_roi_align_opset16()
    path = os.path.join(out_dir, "model.onnx")
    t1 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, path, opset_version=opset, do_constant_folding=True,
                          input_names=input_names, output_names=output_names)
    t2 = time.time()

    m = onnx.load(path)
    onnx.checker.check_model(m)
    dup = duplicate_initializers(m)
    if dup:
        problems.append("equal initializers: %s" % ", ".join(dup[:5]))
    graph_inputs = [i.name for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    graph_outputs = [o.name for o in m.graph.output]
    assert len(graph_inputs) == 1, graph_inputs
    assert len(graph_outputs) == len(refs), (graph_outputs, len(refs))
    np.save(os.path.join(out_dir, "input_0.npy"), np.ascontiguousarray(inp, np.float32))
    for i, r in enumerate(refs):
        r = r.numpy()
        np.save(os.path.join(out_dir, "ref_%d.npy" % i), np.ascontiguousarray(r))
    ops = sorted({n.op_type for n in m.graph.node})
    meta = {
        "name": name, "task": task, "opset": opset, "input_names": graph_inputs,
        "output_names": graph_outputs, "input_shape": list(inp.shape),
        "output_shapes": [list(r.shape) for r in refs],
        "build_s": round(t1 - t0, 2), "export_s": round(t2 - t1, 2),
        "onnx_bytes": os.path.getsize(path), "nodes": len(m.graph.node), "ops": ops,
        "sanity": info, "problems": problems,
        "torch": torch.__version__,
    }
    if task == "classify":
        r = np.sort(refs[0].numpy().ravel())
        meta["top1_margin"] = float(r[-1] - r[-2])
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def duplicate_initializers(m):
    """Names of float initializers (2+ elements) whose bytes equal another's."""
    from onnx import numpy_helper
    seen, dup = {}, []
    for t in m.graph.initializer:
        a = numpy_helper.to_array(t)
        if a.dtype.kind != "f" or a.size < 2:
            continue
        k = hashlib.sha1(a.tobytes()).hexdigest()
        if k in seen:
            dup.append("%s=%s" % (t.name, seen[k]))
        else:
            seen[k] = t.name
    return dup


def ensure(name, cache, opset=None, force=False, log=sys.stderr):
    """Return the cache directory holding `name` exported at `opset` (default: its own),
    exporting it first if missing."""
    if name not in MODELS:
        raise KeyError("unknown model %r (known: %s)" % (name, ", ".join(MODELS)))
    opset = opset or MODELS[name][1]
    d = cache_dir_for(cache, name, opset)
    if os.path.exists(os.path.join(d, "meta.json")) and not force:
        return d
    os.makedirs(cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-%s-" % name, dir=cache)
    try:
        meta = export_one(name, opset, tmp)
        if force and os.path.exists(d):
            shutil.rmtree(d)
        try:
            os.rename(tmp, d)
        except OSError:
            if not os.path.exists(os.path.join(d, "meta.json")):  # lost a race: fine if the winner finished
                raise
        print("exported %s opset %d: %.1fs build, %.1fs export, %.1f MB, %d nodes%s" % (
            name, opset, meta["build_s"], meta["export_s"], meta["onnx_bytes"] / 1e6, meta["nodes"],
            ("; PROBLEMS: " + "; ".join(meta["problems"])) if meta["problems"] else ""), file=log)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--cache", required=False, default="parity-cache")
    ap.add_argument("--opset", type=int)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--list", action="store_true", help="print name, task, opset, extended")
    a = ap.parse_args()
    if a.list:
        for n, (task, op, ext) in MODELS.items():
            print("%s %s %d %s" % (n, task, op, "extended" if ext else "ci"))
        return 0
    names = list(MODELS) if a.names == ["all"] else a.names
    rc = 0
    for n in names:
        try:
            d = ensure(n, a.cache, a.opset, a.force)
            meta = json.load(open(os.path.join(d, "meta.json")))
            print("%-40s op%-2d %6.1fs %7.1f MB  %s" % (n, meta["opset"], meta["build_s"] + meta["export_s"],
                  meta["onnx_bytes"] / 1e6, ("PROBLEMS: " + "; ".join(meta["problems"])) if meta["problems"] else
                  json.dumps(meta["sanity"])))
            if meta["problems"]:
                rc = 1
        except Exception as e:  # report and continue with the next model
            print("%-40s FAILED: %s: %s" % (n, type(e).__name__, e))
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
