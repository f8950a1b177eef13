#!/usr/bin/python3
"""Tests of tools/lens-export and the bundled models (ctest label "export").

Usage: test_export.py CASE --lens PATH --work DIR
CASE: reference | torchvision | torchvision_segment | torchvision_detect | clean | stamp |
      verify_fails | tasks | bundled

Each case prints what it checked and exits 0 (pass) or 1 (a check failed); 2 on a setup
error. No case trains anything; the torchvision case exports one small model.
"""
import argparse
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "tools")
EXPORT = os.path.join(TOOLS, "lens-export")
MODELS = os.path.join(ROOT, "models")
sys.path.insert(0, TOOLS)
sys.path.insert(0, HERE)

import lens_reference as ref  # noqa: E402

FAILS = []


def check(cond, what):
    print("%s  %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        FAILS.append(what)
    return cond


def load_exporter():
    loader = importlib.machinery.SourceFileLoader("lens_export", EXPORT)
    spec = importlib.util.spec_from_loader("lens_export", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def run_export(args, lens, cwd=None):
    cmd = [sys.executable, EXPORT] + args + (["--lens", lens] if lens else [])
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       cwd=cwd or HERE, env=env)
    sys.stdout.write(p.stderr[-3000:])
    return p


def metadata(path):
    import onnx
    return {p.key: p.value for p in onnx.load(path).metadata_props}


def lens_run(lens, model, x, work, name=None):
    d = os.path.join(work, "run-out")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    inp = os.path.join(work, "run-in.npy")
    np.save(inp, x)
    arg = ("%s=%s" % (name, inp)) if name else inp
    p = subprocess.run([lens, "run", model, "--input", arg, "--output-dir", d, "--threads", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError("lens run %s: %s" % (model, p.stderr.strip()))
    outs, i = [], 0
    while os.path.exists(os.path.join(d, "output_%d.npy" % i)):
        outs.append(np.load(os.path.join(d, "output_%d.npy" % i)))
        i += 1
    return outs


def identity_on_initializers(m):
    inits = {t.name for t in m.graph.initializer}
    return sum(1 for n in m.graph.node if n.op_type == "Identity" and n.input and n.input[0] in inits)


# ---------------------------------------------------------------- cases

def case_torchvision(a):
    """A torchvision model end to end: metadata from torchvision's weights metadata that
    round-trips, the graph cleaned, lens matching PyTorch, and the check folder."""
    import onnx
    import torchvision.models as tvm
    out = os.path.join(a.work, "mnv3s.onnx")
    p = run_export(["--torchvision", "mobilenet_v3_small", "--size", "64,64", "--opset", "13", "-o", out,
                    "--save-check", "--json"], a.lens)
    check(p.returncode == 0, "lens-export --torchvision mobilenet_v3_small exits 0 (got %d)" % p.returncode)
    if p.returncode != 0:
        return
    rep = json.loads(p.stdout.strip().splitlines()[-1])
    check(rep["ok"] and rep["top_k"]["agree"], "verification reports agreement")
    check(rep["outputs"][0]["max_abs_diff"] <= 1e-3 * max(1.0, 1.0) * 1000, "max abs diff is reported")
    w = tvm.MobileNet_V3_Small_Weights.DEFAULT
    tf = w.transforms()
    md = metadata(out)
    check(md.get("lens.format") == "1", "lens.format = 1")
    check(md.get("lens.task") == "classify", "lens.task = classify")
    check(json.loads(md.get("lens.labels", "[]")) == list(w.meta["categories"]),
          "lens.labels equals torchvision's categories (%d)" % len(w.meta["categories"]))
    spec = ref.spec_from_metadata(md)
    check((spec["width"], spec["height"]) == (64, 64), "size 64,64")
    check(spec["resize"] == "crop" and spec["resize_short"] == round(64 * tf.resize_size[0] / tf.crop_size[0]),
          "crop with resize_short scaled like torchvision's 256/224 (%d)" % spec["resize_short"])
    check(np.allclose(spec["mean"], tf.mean) and np.allclose(spec["std"], tf.std), "mean/std from the weights")
    check(abs(spec["scale"] - 1 / 255) < 1e-12 and spec["channels"] == "rgb", "scale 1/255, rgb")
    check(md.get("lens.output.layout") == "logits", "output layout logits")
    m = onnx.load(out)
    check(identity_on_initializers(m) == 0, "no Identity on initializers left (%d removed)" % rep["cleaned"]["identity"])
    check(rep["cleaned"]["identity"] > 0, "the raw export had Identity nodes on initializers to remove")
    used = {i for n in m.graph.node for i in n.input}
    check(all(t.name in used for t in m.graph.initializer), "no unused initializers")
    onnx.checker.check_model(m)
    # the check folder
    d = os.path.join(a.work, "mnv3s.check")
    for f in ("image.png", "input_0.npy", "output_0.npy", "expected.json"):
        check(os.path.isfile(os.path.join(d, f)), "check folder has %s" % f)
    exp = json.load(open(os.path.join(d, "expected.json")))
    check(exp["task"] == "classify" and exp["labels_count"] == 1000, "expected.json task and labels_count")
    check(exp["tolerance"] == {"abs": 1e-3, "rel_to_max": True}, "expected.json tolerance")
    top = exp["result"]["top"]
    check(len(top) == 5 and all(set(t) == {"index", "label", "score"} for t in top), "result.top has 5 entries")
    x = np.load(os.path.join(d, "input_0.npy"))
    img = ref.read_image(os.path.join(d, "image.png"))
    check(np.array_equal(x, ref.preprocess(img, spec)), "input_0.npy is image.png preprocessed per the metadata")
    o = np.load(os.path.join(d, "output_0.npy"))
    check(o.shape == (1, 1000) and int(o.argmax()) == top[0]["index"], "output_0.npy is PyTorch's [1, 1000]")
    # lens itself agrees with the saved reference
    lo = lens_run(a.lens, out, x, a.work)[0]
    check(float(np.abs(lo - o).max()) <= 1e-3 * max(1.0, float(np.abs(o).max())), "lens run on input_0 matches output_0")


def build_clean_model():
    """A graph with every kind of leftover: an Identity on an initializer (used by a node),
    duplicate initializers (one read only inside an If branch), an unused initializer."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.RandomState(0)
    W = rng.randn(4, 4).astype(np.float32)
    B = rng.randn(4).astype(np.float32)
    inits = [numpy_helper.from_array(W, "W"), numpy_helper.from_array(W.copy(), "W_dup"),
             numpy_helper.from_array(B, "B"), numpy_helper.from_array(B.copy(), "B_dup"),
             numpy_helper.from_array(np.ones(7, np.float32), "unused"),
             numpy_helper.from_array(np.array(True), "cond")]
    then_g = helper.make_graph([helper.make_node("Mul", ["Z", "B_dup"], ["t_out"])], "then", [],
                               [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [1, 4])])
    else_g = helper.make_graph([helper.make_node("Sub", ["Z", "B"], ["e_out"])], "else", [],
                               [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [1, 4])])
    nodes = [helper.make_node("Identity", ["W"], ["W_id"], name="id0"),
             helper.make_node("MatMul", ["X", "W_id"], ["Y1"]),
             helper.make_node("MatMul", ["Y1", "W_dup"], ["Y2"]),
             helper.make_node("Add", ["Y2", "B"], ["Z"]),
             helper.make_node("If", ["cond"], ["out"], then_branch=then_g, else_branch=else_g)]
    g = helper.make_graph(nodes, "leftovers", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4])], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    expect = lambda x: ((x @ W) @ W + B) * B  # noqa: E731
    return m, expect


def case_clean(a):
    import onnx
    ex = load_exporter()
    m, expect = build_clean_model()
    raw = os.path.join(a.work, "leftovers.onnx")
    onnx.save(m, raw)
    cleaned = onnx.load(raw)
    stats = ex.clean(cleaned)
    check(stats["identity"] == 1, "one Identity on an initializer removed (%d)" % stats["identity"])
    check(stats["duplicate"] == 2, "two duplicate initializers merged (%d)" % stats["duplicate"])
    check(stats["unused"] == 3, "three unused initializers dropped: 'unused' and the two duplicates (%d)"
          % stats["unused"])
    names = sorted(t.name for t in cleaned.graph.initializer)
    check(names == ["B", "W", "cond"], "initializers left: %s" % names)
    check(not any(n.op_type == "Identity" for n in cleaned.graph.node), "no Identity node left")
    then_b = [at.g for n in cleaned.graph.node if n.op_type == "If" for at in n.attribute if at.name == "then_branch"][0]
    check(list(then_b.node[0].input) == ["Z", "B"], "the If branch reads B instead of its duplicate")
    onnx.checker.check_model(cleaned)
    out = os.path.join(a.work, "leftovers.clean.onnx")
    onnx.save(cleaned, out)
    x = np.random.RandomState(1).randn(1, 4).astype(np.float32)
    r0 = lens_run(a.lens, raw, x, a.work)[0]
    r1 = lens_run(a.lens, out, x, a.work)[0]
    check(np.array_equal(r0, r1), "lens gives the same output before and after cleaning")
    check(np.allclose(r1, expect(x), rtol=1e-5, atol=1e-5), "and it is the right output")
    # idempotent
    again = onnx.load(out)
    check(ex.clean(again) == {"identity": 0, "duplicate": 0, "unused": 0}, "cleaning a clean graph changes nothing")
    # an initializer that is also a graph input (overridable) is never merged or removed
    m2, _ = build_clean_model()
    m2.graph.input.append(onnx.helper.make_tensor_value_info("W_dup", onnx.TensorProto.FLOAT, [4, 4]))
    s2 = ex.clean(m2)
    check("W_dup" in {t.name for t in m2.graph.initializer} and s2["duplicate"] == 1,
          "an initializer listed as a graph input is kept")


def export_tiny(a, name="tiny.onnx", extra=()):
    out = os.path.join(a.work, name)
    p = run_export(["tiny_models:classifier", "-o", out, "--task", "classify", "--size", "32,24",
                    "--opset", "13"] + list(extra), a.lens)
    return out, p


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def case_stamp(a):
    import onnx
    src, p = export_tiny(a, "stamp_src.onnx", ["--no-verify"])
    if not check(p.returncode == 0, "export of the tiny classifier (module:factory) exits 0"):
        return
    m = onnx.load(src)
    m.metadata_props.add(key="author", value="someone else")   # a foreign key must survive
    onnx.save(m, src)
    labels = os.path.join(a.work, "labels.txt")
    with open(labels, "w") as f:
        f.write("cat\ndog\n\nbird\nfish\n")
    dst = os.path.join(a.work, "stamped.onnx")
    p = run_export(["--stamp", src, "-o", dst, "--task", "classify", "--labels", labels, "--size", "40,30",
                    "--resize", "letterbox", "--pad", "0", "--mean", "0.5", "--std", "0.25,0.5,1", "--scale", "0.01",
                    "--channels", "bgr", "--layout", "nchw", "--top-k", "2", "--interp", "area"], a.lens)
    check(p.returncode == 0, "--stamp exits 0 (got %d)" % p.returncode)
    md = metadata(dst)
    check(md.get("author") == "someone else", "foreign metadata keys are kept")
    check(json.loads(md["lens.labels"]) == ["cat", "dog", "bird", "fish"], "labels from a text file, blank lines skipped")
    spec = ref.spec_from_metadata(md)
    want = {"width": 40, "height": 30, "resize": "letterbox", "pad": 0, "mean": [0.5] * 3, "std": [0.25, 0.5, 1.0],
            "scale": 0.01, "channels": "bgr", "layout": "nchw", "interp": "area"}
    check(all(spec[k] == v for k, v in want.items()), "stamped preprocessing round-trips: %s"
          % {k: spec[k] for k in want})
    check(md.get("lens.post.top_k") == "2" and md.get("lens.output.layout") == "logits", "top_k 2, layout kept")
    check(sha(src) != sha(dst), "the source was not modified when -o is given")
    # stamping again in place overrides one key and keeps the rest
    p = run_export(["--stamp", dst, "--mean", "0.1,0.2,0.3"], a.lens)
    md2 = metadata(dst)
    check(p.returncode == 0 and md2["lens.input.mean"] == "0.1,0.2,0.3" and md2["lens.input.size"] == "40,30",
          "in-place --stamp overrides only what is given")
    # JSON labels
    jl = os.path.join(a.work, "labels.json")
    with open(jl, "w") as f:
        json.dump(["a, b", "c\"d"], f)
    p = run_export(["--stamp", dst, "--labels", jl], a.lens)
    check(p.returncode == 0 and json.loads(metadata(dst)["lens.labels"]) == ["a, b", "c\"d"], "JSON labels kept exactly")
    # bad values are refused (exit 2) and the file is left alone
    before = sha(dst)
    for bad in (["--std", "0"], ["--layout", "sideways"], ["--pad", "300"], ["--size", "0,5"], ["--mean", "1,2"],
                ["--task", "detect", "--layout", "logits"], ["--conf", "1.5"], ["--scale", "nan"]):
        p = run_export(["--stamp", dst] + bad, a.lens)
        check(p.returncode == 2, "--stamp %s is refused with exit 2 (got %d)" % (" ".join(bad), p.returncode))
    check(sha(dst) == before, "refused stamps leave the file unchanged")
    p = run_export(["--stamp", os.path.join(a.work, "labels.txt"), "--task", "classify"], a.lens)
    check(p.returncode == 2 and "ONNX" in p.stderr, "--stamp on a non-ONNX file: exit 2 naming the problem")


def corrupt(path, out, init_name=None):
    """Copy of the model with one weight changed (the first float initializer with more than
    8 elements, or init_name): one element += 0.5 * (1 + its tensor's max |w|)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    for t in m.graph.initializer:
        a = numpy_helper.to_array(t)
        if a.dtype == np.float32 and (t.name == init_name or (init_name is None and a.size > 8)):
            a = a.copy()
            a.flat[a.size // 2] += 0.5 * (1 + float(np.abs(a).max()))
            t.CopyFrom(numpy_helper.from_array(a, t.name))
            onnx.save(m, out)
            return t.name
    raise RuntimeError("no initializer to corrupt")


def case_verify_fails(a):
    """The check can fail: a model with one corrupted weight must be reported as a mismatch."""
    good, p = export_tiny(a, "verify_good.onnx")
    check(p.returncode == 0 and "lens matches PyTorch" in p.stderr, "tiny classifier exports and verifies")
    p = run_export(["tiny_models:classifier", "--verify-only", good], a.lens)
    check(p.returncode == 0, "--verify-only of the untouched export passes (got %d)" % p.returncode)
    bad = os.path.join(a.work, "verify_bad.onnx")
    name = corrupt(good, bad)
    p = run_export(["tiny_models:classifier", "--verify-only", bad], a.lens)
    check(p.returncode == 1 and "DOES NOT match" in p.stderr and "EXCEEDS" in p.stderr,
          "--verify-only with weight '%s' corrupted exits 1 and names the output (got %d)" % (name, p.returncode))
    # the same for a yolov8-layout detector: a corrupted head is caught
    det = os.path.join(a.work, "tiny_yolo.onnx")
    p = run_export(["tiny_models:yolo", "-o", det, "--task", "detect", "--size", "64,64", "--resize", "letterbox",
                    "--layout", "yolov8", "--box", "cxcywh", "--conf", "0.3", "--opset", "13", "--save-check"], a.lens)
    check(p.returncode == 0, "tiny yolov8 detector exports and verifies (got %d)" % p.returncode)
    bad = os.path.join(a.work, "tiny_yolo_bad.onnx")
    corrupt(det, bad, init_name=None)
    p = run_export(["tiny_models:yolo", "--verify-only", bad], a.lens)
    check(p.returncode == 1, "corrupted detector fails verification (got %d)" % p.returncode)
    # and `lens verify` with the good model's check folder rejects the corrupted one too
    shutil.copytree(os.path.join(a.work, "tiny_yolo.check"), os.path.join(a.work, "tiny_yolo_bad.check"))
    p = subprocess.run([a.lens, "verify", bad, "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    sys.stdout.write(p.stdout[-1500:])
    check(p.returncode == 1, "lens verify of the corrupted detector against the saved check fails (got %d)"
          % p.returncode)
    # a different image: the check is not tied to the default photo
    img = os.path.join(MODELS, "samples", "shapes_1.png")
    if os.path.exists(img):
        p = run_export(["tiny_models:yolo", "--verify-only", det, "--image", img], a.lens)
        check(p.returncode == 0, "--image FILE is used for the check (got %d)" % p.returncode)


def case_tasks(a):
    """The detect and segment paths: expected.json results in the documented shape."""
    det = os.path.join(a.work, "tiny_yolo_t.onnx")
    p = run_export(["tiny_models:yolo", "-o", det, "--task", "detect", "--size", "64,64", "--resize", "letterbox",
                    "--layout", "yolov8", "--box", "cxcywh", "--conf", "0.3", "--opset", "17", "--save-check",
                    "--dynamic-batch"], a.lens)
    check(p.returncode == 0, "yolov8 detector at opset 17 with --dynamic-batch exports and verifies")
    exp = json.load(open(os.path.join(a.work, "tiny_yolo_t.check", "expected.json")))
    r = exp["result"]
    img = ref.read_image(os.path.join(a.work, "tiny_yolo_t.check", "image.png"))
    check(exp["task"] == "detect" and r["width"] == img.shape[1] and r["height"] == img.shape[0],
          "detect result has the original image size %dx%d" % (img.shape[1], img.shape[0]))
    ok = all(set(d) == {"box", "score", "class", "label"} and len(d["box"]) == 4 and d["score"] >= 0.3
             and 0 <= d["box"][0] <= d["box"][2] <= r["width"] and 0 <= d["box"][1] <= d["box"][3] <= r["height"]
             for d in r["detections"])
    check(ok, "%d detections, each with box in image pixels, score >= conf, class, label" % len(r["detections"]))
    import onnx
    m = onnx.load(det)
    dim0 = m.graph.input[0].type.tensor_type.shape.dim[0]
    check(dim0.dim_param != "" and not dim0.HasField("dim_value"), "--dynamic-batch makes dimension 0 symbolic")
    check(m.opset_import[0].version == 17, "--opset 17 is honoured")
    seg = os.path.join(a.work, "tiny_seg.onnx")
    p = run_export(["tiny_models:segmenter", "-o", seg, "--task", "segment", "--size", "48,40", "--opset", "11",
                    "--save-check", "--mean", "0.5", "--std", "0.5"], a.lens)
    check(p.returncode == 0, "segmenter at opset 11 exports and verifies")
    exp = json.load(open(os.path.join(a.work, "tiny_seg.check", "expected.json")))
    r = exp["result"]
    total = sum(c["pixels"] for c in r["classes"])
    check(exp["task"] == "segment" and total == r["width"] * r["height"],
          "segment result: per-class pixel counts cover the %dx%d image" % (r["width"], r["height"]))
    check(metadata(seg).get("lens.output.layout") == "logits", "segment layout defaults to logits")
    # lens's own reader of the check folder agrees with what lens-export wrote
    for model in (det, seg):
        p = subprocess.run([a.lens, "verify", model, "--threads", "1"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
        sys.stdout.write(p.stdout[-1500:])
        check(p.returncode == 0, "lens verify %s passes (got %d)" % (os.path.basename(model), p.returncode))
    for bad in (["--opset", "10"], ["--opset", "18"]):
        p = run_export(["tiny_models:segmenter", "-o", seg, "--task", "segment", "--size", "8"] + bad, a.lens)
        check(p.returncode == 2, "%s is refused with exit 2" % " ".join(bad))
    p = run_export(["no_such_module:f", "-o", seg, "--task", "segment", "--size", "8"], a.lens)
    check(p.returncode == 2 and "cannot import" in p.stderr, "an unknown module is a setup error")


def case_bundled(a):
    """models/: metadata present and consistent, sample images decode, and the models do
    their job on the samples through lens."""
    import cv2
    import onnx
    import shapes
    found = sorted(f for f in os.listdir(MODELS) if f.endswith(".onnx"))
    check({"digits.onnx", "shapes_det.onnx", "shapes_seg.onnx"} <= set(found), "bundled models present: %s" % found)
    total = 0
    for f in found:
        path = os.path.join(MODELS, f)
        total += os.path.getsize(path)
        m = onnx.load(path)
        md = {p.key: p.value for p in m.metadata_props}
        check(md.get("lens.format") == "1" and md.get("lens.task") in ("classify", "detect", "segment"),
              "%s: lens.format and lens.task present" % f)
        labels = json.loads(md.get("lens.labels", "null") or "null")
        check(isinstance(labels, list) and len(labels) > 0, "%s: %d labels" % (f, len(labels or [])))
        spec = ref.spec_from_metadata(md)
        dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
        check(dims[2:] == [spec["height"], spec["width"]], "%s: lens.input.size matches the input %s" % (f, dims))
    check(total < 6_000_000, "bundled models total %.2f MB (< 6)" % (total / 1e6))
    samples = os.path.join(MODELS, "samples")
    pics = sorted(f for f in os.listdir(samples) if f.endswith((".png", ".jpg")))
    check(len(pics) >= 13, "%d sample images" % len(pics))
    for f in pics:
        img = cv2.imread(os.path.join(samples, f), cv2.IMREAD_UNCHANGED)
        check(img is not None and img.size > 0, "%s decodes (%s)" % (f, None if img is None else img.shape))

    # digits: each sample through the image path and lens
    md = metadata(os.path.join(MODELS, "digits.onnx"))
    spec = ref.spec_from_metadata(md)
    right = 0
    for c in range(10):
        x = ref.preprocess(ref.read_image(os.path.join(samples, "digit_%d.png" % c)), spec)
        o = lens_run(a.lens, os.path.join(MODELS, "digits.onnx"), x, a.work)[0]
        right += int(int(o.argmax()) == c)
    check(right == 10, "digits: %d/10 samples classified right by lens" % right)

    # detector: the sample scenes against their rendered ground truth
    det = os.path.join(MODELS, "shapes_det.onnx")
    md = metadata(det)
    spec = ref.spec_from_metadata(md)
    labels = json.loads(md["lens.labels"])
    check(labels == shapes.CLASSES, "shapes_det labels %s" % labels)
    hit = n = 0
    for k in (1, 2, 3):
        img = ref.read_image(os.path.join(samples, "shapes_%d.png" % k))
        o = lens_run(a.lens, det, ref.preprocess(img, spec), a.work)
        r = ref.detect_result(o, md, labels, img.shape[1], img.shape[0], spec)
        gt = [ln.split() for ln in open(os.path.join(samples, "shapes_%d.txt" % k)) if ln.strip()]
        for g in gt:
            gb = np.array([[float(v) for v in g[1:]]])
            n += 1
            hit += int(any(d["label"] == g[0] and ref.box_iou(gb, np.array([d["box"]]))[0, 0] >= 0.5
                           for d in r["detections"]))
    check(n > 0 and hit >= 0.8 * n, "shapes_det: %d/%d ground-truth shapes found (IoU >= 0.5, right class)" % (hit, n))

    # segmenter: the sample scenes against their rendered masks (IoU pooled over the three)
    seg = os.path.join(MODELS, "shapes_seg.onnx")
    md = metadata(seg)
    spec = ref.spec_from_metadata(md)
    ncls = len(shapes.CLASSES) + 1
    inter, union = np.zeros(ncls), np.zeros(ncls)
    for k in (1, 2, 3):
        scene = shapes.render(70_000_000 + k - 1)
        img = ref.read_image(os.path.join(samples, "shapes_%d.png" % k))
        check(np.array_equal(img, scene.image), "shapes_%d.png is scene %d as tools/shapes.py renders it"
              % (k, 70_000_000 + k - 1))
        o = lens_run(a.lens, seg, ref.preprocess(img, spec), a.work)
        pred = ref.segment_map(o, md, img.shape[1], img.shape[0], spec)
        for c in range(ncls):
            inter[c] += ((pred == c) & (scene.mask == c)).sum()
            union[c] += ((pred == c) | (scene.mask == c)).sum()
    miou = float((inter / np.maximum(union, 1)).mean())
    check(miou >= 0.75, "shapes_seg: mIoU %.3f over the sample scenes (held-out: see docs/MODELS.md)" % miou)


def case_reference(a):
    """tools/lens_reference.py's tensor equals lens's own preprocessing (dump_tensor) bit for
    bit, and its transform agrees, for every resize mode, filter and channel order."""
    import itertools
    import cv2
    import shapes
    if not a.dump_tensor or not os.access(a.dump_tensor, os.X_OK):
        check(False, "dump_tensor binary given with --dump-tensor")
        return
    import skimage.data
    imgs = {"scene": shapes.render(70_000_000).image,          # 370x229: one axis grows, one shrinks
            "photo": skimage.data.astronaut()[:301, :433],
            "gray": np.repeat(skimage.data.camera()[::7, ::5][..., None], 3, axis=2)}
    n = bad = 0
    for key, img in imgs.items():
        path = os.path.join(a.work, key + ".png")
        cv2.imwrite(path, cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR))
        combos = itertools.product(["stretch", "letterbox", "crop"], ["bilinear", "area"], ["rgb", "bgr", "gray"],
                                   [(256, 256), (97, 64), (8, 8)], [0, 300])
        for resize, interp, ch, (W, H), short in combos:
            if resize != "crop" and short:
                continue
            spec = dict(ref.DEFAULTS, width=W, height=H, resize=resize, interp=interp, channels=ch,
                        resize_short=short, pad=99, mean=[0.1, 0.2, 0.3], std=[0.5, 0.6, 0.7],
                        layout="nhwc" if W == 97 else "nchw")
            x = ref.preprocess(img, spec)
            out = os.path.join(a.work, "dump.npy")
            cmd = [a.dump_tensor, path, out, "--size", "%dx%d" % (W, H), "--resize", resize, "--interp", interp,
                   "--channels", ch, "--mean", "0.1,0.2,0.3", "--std", "0.5,0.6,0.7", "--pad", "99",
                   "--layout", spec["layout"]]
            if short:
                cmd += ["--short", str(short)]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
            n += 1
            if p.returncode != 0:
                bad += 1
                print("dump_tensor failed: %s: %s" % (" ".join(cmd), p.stderr.strip()))
                continue
            y = np.load(out)
            tf = [float(v) for v in p.stdout.split("transform")[1].split()[:4]]
            mine = ref.transform(spec, img.shape[1], img.shape[0])
            same = x.shape == y.shape and float(np.abs(x - y).max()) <= 1e-6
            if not same or max(abs(u - v) for u, v in zip(tf, mine)) > 1e-4:
                bad += 1
                print("differs: %s %s %s %s %dx%d short %d: %s vs %s, transform %s vs %s" % (
                    key, resize, interp, ch, W, H, short, x.shape, y.shape, tf, mine))
    check(bad == 0, "reference preprocessing equals lens's in %d/%d configurations" % (n - bad, n))


def _lens_verify(a, model):
    p = subprocess.run([a.lens, "verify", model, "--threads", "1"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    sys.stdout.write(p.stdout[-1500:])
    return p.returncode


def case_torchvision_segment(a):
    """A torchvision segmenter: the dict output reduced to `out`, VOC labels, ImageNet
    normalisation, stretch; lens matches PyTorch and lens verify accepts the check folder."""
    import torchvision.models as tvm
    out = os.path.join(a.work, "lraspp.onnx")
    p = run_export(["--torchvision", "lraspp_mobilenet_v3_large", "--size", "96,64", "--opset", "16", "-o", out,
                    "--save-check", "--json"], a.lens)
    if not check(p.returncode == 0, "lens-export --torchvision lraspp_mobilenet_v3_large exits 0 (got %d)"
                 % p.returncode):
        return
    rep = json.loads(p.stdout.strip().splitlines()[-1])
    check(rep["ok"] and rep["mask_agreement"] >= 0.999, "mask agreement %.4f" % rep["mask_agreement"])
    md = metadata(out)
    w = tvm.get_model_weights("lraspp_mobilenet_v3_large").DEFAULT
    check(md.get("lens.task") == "segment" and md.get("lens.output.layout") == "logits", "segment, logits")
    check(json.loads(md["lens.labels"]) == list(w.meta["categories"]), "the 21 VOC categories")
    spec = ref.spec_from_metadata(md)
    check(spec["resize"] == "stretch" and (spec["width"], spec["height"]) == (96, 64)
          and np.allclose(spec["mean"], [0.485, 0.456, 0.406]), "stretch to 96x64 with ImageNet mean/std")
    check(rep["outputs"][0]["shape"] == [1, 21, 64, 96], "one output, out [1, 21, 64, 96]")
    check(_lens_verify(a, out) == 0, "lens verify accepts the check folder")


def case_torchvision_detect(a):
    """A torchvision detector: wrapped to take [1, 3, H, W], outputs named after the result
    dict, boxes_scores layout, COCO labels; detections pair up with PyTorch's."""
    import onnx
    out = os.path.join(a.work, "ssdlite.onnx")
    p = run_export(["--torchvision", "ssdlite320_mobilenet_v3_large", "--opset", "13", "-o", out, "--save-check",
                    "--json", "--dynamic-batch"], a.lens)
    if not check(p.returncode == 0, "lens-export --torchvision ssdlite320_mobilenet_v3_large exits 0 (got %d)"
                 % p.returncode):
        return
    rep = json.loads(p.stdout.strip().splitlines()[-1])
    raw = rep["detections_raw"]
    check(rep["ok"] and raw["torch"] > 0 and raw["matched"] == raw["torch"] == raw["lens"],
          "all %d raw detections pair up" % raw["torch"])
    md = metadata(out)
    check(md.get("lens.task") == "detect" and md.get("lens.output.layout") == "boxes_scores"
          and md.get("lens.output.box") == "xyxy", "detect, boxes_scores, xyxy")
    check(len(json.loads(md["lens.labels"])) == 91, "91 COCO categories")
    check(md.get("lens.input.size") == "320,320" and ref.spec_from_metadata(md)["std"] == [1.0] * 3,
          "320x320 (the model's fixed size), 0..1 input (the model normalises itself)")
    m = onnx.load(out)
    check([o.name for o in m.graph.output] == ["boxes", "scores", "labels"], "outputs boxes, scores, labels")
    check(m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch", "--dynamic-batch: input batch symbolic")
    check(_lens_verify(a, out) == 0, "lens verify accepts the check folder")


CASES = {"torchvision_segment": case_torchvision_segment, "torchvision_detect": case_torchvision_detect, "reference": case_reference, "torchvision": case_torchvision, "clean": case_clean, "stamp": case_stamp,
         "verify_fails": case_verify_fails, "tasks": case_tasks, "bundled": case_bundled}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--lens", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--dump-tensor", help="tests/image/dump_tensor (case reference)")
    a = ap.parse_args()
    if not os.access(a.lens, os.X_OK):
        print("no lens binary at %s" % a.lens)
        return 2
    a.work = os.path.join(os.path.abspath(a.work), a.case)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    CASES[a.case](a)
    print("%s: %s" % (a.case, "FAILED: " + "; ".join(FAILS) if FAILS else "passed"))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
