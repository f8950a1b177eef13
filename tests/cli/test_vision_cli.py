#!/usr/bin/python3
"""End-to-end tests of lens classify / detect / segment / verify and the vision part
of lens info: every bad-input case gets a clear message naming the file and the
problem, and the documented exit status (0 ok, 1 some images failed, 2 usage or setup).

Usage: test_vision_cli.py --lens PATH --work DIR
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

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


def const_model(path, in_shape, outputs, metadata=None, out_shapes=None):
    nodes = [helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"])]
    inits = [numpy_helper.from_array(np.array(0, np.float32), "zero")]
    outs = []
    for name, arr in outputs.items():
        inits.append(numpy_helper.from_array(arr, name + "_c"))
        nodes.append(helper.make_node("Add", [name + "_c", "z"], [name]))
        shape = out_shapes[name] if out_shapes else list(arr.shape)
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, in_shape)], outs,
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="lens-tests")
    if metadata:
        helper.set_model_props(m, metadata)
    onnx.save(m, path)
    return path


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


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
    rng = np.random.default_rng(3)

    # Models: a YOLOv8-style detector (3 classes), a classifier (4 classes), a segmenter (3 classes).
    N = 64
    cx = rng.uniform(40, 280, N)
    cy = rng.uniform(40, 280, N)
    y8 = np.stack([cx, cy, rng.uniform(20, 80, N), rng.uniform(20, 80, N)] +
                  [rng.random(N) ** 2 for _ in range(3)]).astype(np.float32)[None]
    det = const_model(j("det.onnx"), [1, 3, 320, 320], {"output0": y8},
                      {"lens.format": "1", "lens.task": "detect", "lens.labels": '["cat", "dog", "bird"]',
                       "lens.input.resize": "letterbox"})
    det_nometa = const_model(j("det_plain.onnx"), [1, 3, 320, 320], {"output0": y8})
    cls = const_model(j("cls.onnx"), [1, 3, 32, 32], {"logits": np.array([[0.5, 2.0, -1.0, 0.1]], np.float32)},
                      {"lens.task": "classify"})
    seg_logits = rng.normal(size=(1, 3, 16, 16)).astype(np.float32)
    seg = const_model(j("seg.onnx"), [1, 3, 64, 64], {"out": seg_logits}, {"lens.task": "segment"})
    weird = const_model(j("weird.onnx"), [1, 3, 64, 64], {"out": np.zeros((1, 2, 2, 4), np.float32)})
    weird_dyn = const_model(j("weird_dyn.onnx"), [1, 3, 64, 64], {"out": np.zeros((1, 2, 2, 4), np.float32)},
                            out_shapes={"out": ["a", "b", "c", "d"]})
    hostile = const_model(j("hostile.onnx"), [1, 3, 64, 64], {"out": np.zeros((1, 4), np.float32)},
                          {"lens.task": "classify", "lens.input.mean": "abc"})
    const_model(j("vec.onnx"), [1, 3, 64, 64], {"out": np.zeros((1, 4), np.float32)})
    future = const_model(j("future.onnx"), [1, 3, 64, 64], {"out": np.zeros((1, 4), np.float32)},
                         {"lens.format": "2", "lens.task": "classify"})

    # Images.
    img = rng.integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
    good = j("good.jpg")
    cv2.imwrite(good, img)
    cv2.imwrite(j("good.png"), img)
    open(j("text.jpg"), "w").write("this is not an image\n")
    raw = open(j("good.png"), "rb").read()
    open(j("trunc.png"), "wb").write(raw[:len(raw) // 2])
    rawj = open(good, "rb").read()
    open(j("trunc.jpg"), "wb").write(rawj[:len(rawj) // 3])
    ihdr = struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0)
    open(j("zero.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                                    png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b""))
    open(j("empty.png"), "wb").write(b"")

    # --- good runs, text and JSON
    rc, out, err = lens("detect", det, good)
    check(rc == 0 and "detections" in out and "cat" in out + "dog" + "bird", "detect text output", out + err)
    rc, out, err = lens("detect", det, good, "--json")
    try:
        d = json.loads(out)
        check(rc == 0 and d["image"] == good and d["width"] == 320 and d["height"] == 240 and d["detections"] and
              set(d["detections"][0]) == {"box", "score", "class", "label"}, "detect --json schema", out)
    except ValueError:
        check(False, "detect --json parses", out + err)
    rc, out, err = lens("detect", det_nometa, good, "--json")
    check(rc == 0 and json.loads(out)["detections"][0]["label"].startswith("class_"),
          "detect: task from the command when the metadata has none", err)
    rc, out, err = lens("classify", cls, good, "--json", "--top", "2")
    try:
        d = json.loads(out)
        check(rc == 0 and [t["index"] for t in d["top"]] == [1, 0] and set(d["top"][0]) == {"index", "label", "score"},
              "classify --json schema and order", out)
    except ValueError:
        check(False, "classify --json parses", out + err)
    rc, out, err = lens("segment", seg, good, "--json", "-o", j("segout"))
    try:
        d = json.loads(out)
        check(rc == 0 and sum(c["pixels"] for c in d["classes"]) + d["outside_pixels"] == 320 * 240 and
              set(d["classes"][0]) == {"index", "label", "pixels"}, "segment --json schema, counts add up", out)
    except ValueError:
        check(False, "segment --json parses", out + err)
    mask = cv2.imread(j("segout", "good.mask.png"), cv2.IMREAD_UNCHANGED)
    check(mask is not None and mask.shape == (240, 320) and mask.max() <= 2, "segment -o: class-index PNG")
    check(os.path.exists(j("segout", "good.overlay.png")), "segment -o: overlay PNG")
    rc, out, err = lens("detect", det, good, "-o", j("detout"), "--conf", "0.5")
    ann = cv2.imread(j("detout", "good.png"))
    check(rc == 0 and ann is not None and ann.shape == (240, 320, 3) and not np.array_equal(ann, cv2.imread(good)),
          "detect -o: annotated image differs from the input", err)
    rc, out, err = lens("classify", cls, good, "-o", j("clsout"))
    check(rc == 0 and os.path.exists(j("clsout", "good.png")), "classify -o writes an image", err)

    # every flag is accepted
    rc, out, err = lens("detect", det, good, "--json", "--size", "256x192", "--resize", "stretch", "--scale",
                        "0.5", "--mean", "1,2,3", "--std", "2", "--bgr", "--layout", "nchw", "--conf", "0.3",
                        "--iou", "0.5", "--max-det", "5", "--agnostic", "--threads", "1", "--max-pixels", "1000000",
                        "--no-scaled-decode", "--output-layout", "yolov8")
    check(rc == 2 and "256x192" in err and "320x320" in err, "--size that the fixed input refuses -> exit 2", err)
    rc, out, err = lens("detect", det, good, "--json", "--size", "320", "--resize", "stretch", "--scale",
                        "0.5", "--mean", "1,2,3", "--std", "2", "--rgb", "--layout", "nchw", "--conf", "0.3",
                        "--iou", "0.5", "--max-det", "5", "--agnostic", "--threads", "1", "--max-pixels", "1000000",
                        "--no-scaled-decode", "--output-layout", "yolov8")
    check(rc == 0 and len(json.loads(out)["detections"]) <= 5, "every detect flag accepted; --max-det 5 holds", err)

    # --- bad images: exit 1, message names the file
    for name, what in (("text.jpg", "not an image"), ("trunc.png", "truncated PNG"), ("trunc.jpg", "truncated JPEG"),
                       ("zero.png", "zero-size image"), ("empty.png", "empty file"), ("missing.jpg", "missing file")):
        rc, out, err = lens("detect", det, j(name), "--json")
        check(rc == 1 and name in err and not out.strip(), "%s -> exit 1 naming the file" % what, "rc %d: %s" % (rc, err))
    rc, out, err = lens("detect", det, good, "--max-pixels", "1000")
    check(rc == 1 and "good.jpg" in err and ("large" in err or "pixels" in err), "too-large image -> exit 1", err)

    # --- a directory: sorted, the good images still get results, exit 1, timing on stderr
    os.makedirs(j("dir"))
    for n in ("b.png", "a.jpg", "c.jpg"):
        shutil.copy(good if n.endswith("jpg") else j("good.png"), j("dir", n))
    shutil.copy(j("text.jpg"), j("dir", "bad.jpg"))
    open(j("dir", ".hidden.jpg"), "w").write("x")
    rc, out, err = lens("detect", det, j("dir"), "--json")
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    check(rc == 1 and [os.path.basename(l["image"]) for l in lines] == ["a.jpg", "b.png", "c.jpg"],
          "directory: sorted, bad file reported, others done, exit 1", "rc %d: %s %s" % (rc, out, err))
    check("bad.jpg" in err and "decode" in err and "infer" in err and "postprocess" in err and ".hidden" not in err,
          "directory: per-stage timing and the failure on stderr", err)
    check("\r[" not in err, "no progress bar when stderr is not a terminal", err)
    if shutil.which("script"):  # a pseudo-terminal: the bar is drawn on stderr
        p = subprocess.run(["script", "-qec", "%s detect %s %s --json > /dev/null" % (LENS, det, j("dir")),
                            "/dev/null"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        tty = p.stdout.decode(errors="replace")  # bytes: text mode would turn \r into \n
        check("\r[" in tty and "4/4" in tty and "\x1b[K" in tty, "progress bar on a terminal", tty[-500:])
    os.remove(j("dir", "bad.jpg"))
    rc, out, err = lens("classify", cls, j("dir"), good)
    check(rc == 0 and out.count("\n  ") >= 4 * 4, "directory and a file together -> exit 0", err)
    os.makedirs(j("emptydir"))
    rc, out, err = lens("detect", det, j("emptydir"))
    check(rc == 2 and "no files" in err, "empty directory -> exit 2", err)

    # --- models and metadata
    rc, out, err = lens("detect", weird, good)
    check(rc == 2 and "no known layout" in err and "[1, 2, 2, 4]" in err,
          "outputs matching no layout -> exit 2 with the shapes", err)
    rc, out, err = lens("detect", weird_dyn, good)
    check(rc == 1 and "no known layout" in err and "good.jpg" in err,
          "dynamic outputs matching no layout -> fails per image, exit 1", err)
    rc, out, err = lens("segment", hostile.replace("hostile", "vec"), good)
    check(rc == 2 and "no known layout" in err, "segment on a [1, 4] output -> exit 2", err)
    rc, out, err = lens("classify", hostile, good)
    check(rc == 2 and "lens.input.mean" in err and "abc" in err, "malformed lens key -> exit 2 naming it", err)
    rc, out, err = lens("classify", future, good)
    check(rc == 2 and "lens.format" in err, "a newer lens.format is refused", err)
    rc, out, err = lens("detect", j("nope.onnx"), good)
    check(rc == 2 and "nope.onnx" in err, "missing model -> exit 2", err)

    # --- labels files
    open(j("labels2.txt"), "w").write("cat\ndog\n")
    open(j("labels3.txt"), "w").write("kot\r\npies\r\nptak\r\n\r\n")
    open(j("labels_gap.txt"), "w").write("a\n\nb\nc\n")
    open(j("labels_empty.txt"), "w").write("")
    rc, out, err = lens("detect", det, good, "--labels", j("labels2.txt"))
    check(rc == 2 and "labels2.txt" in err and "2 labels" in err and "3 classes" in err,
          "labels file with the wrong count -> exit 2 naming file and counts", err)
    rc, out, err = lens("detect", det, good, "--labels", j("labels3.txt"), "--json")
    check(rc == 0 and json.loads(out)["detections"][0]["label"] in ("kot", "pies", "ptak"),
          "labels file (CRLF, trailing blank line) overrides lens.labels", err)
    rc, out, err = lens("classify", cls, good, "--labels", j("labels_gap.txt"))
    check(rc == 2 and "labels_gap.txt" in err and "line 2" in err, "labels file with an empty line -> exit 2", err)
    rc, out, err = lens("classify", cls, good, "--labels", j("labels_empty.txt"))
    check(rc == 2 and "no labels" in err, "empty labels file -> exit 2", err)
    rc, out, err = lens("classify", cls, good, "--labels", j("nolabels.txt"))
    check(rc == 2 and "nolabels.txt" in err, "missing labels file -> exit 2", err)

    # --- usage errors
    for args, what in ((["detect"], "no model"), (["detect", det], "no image"),
                       (["detect", det, good, "--conf", "2"], "--conf 2"),
                       (["detect", det, good, "--iou", "x"], "--iou x"),
                       (["detect", det, good, "--size", "0x5"], "--size 0x5"),
                       (["detect", det, good, "--resize", "squash"], "--resize squash"),
                       (["detect", det, good, "--mean", "1,2"], "--mean 1,2"),
                       (["detect", det, good, "--std", "0"], "--std 0"),
                       (["detect", det, good, "--layout", "chw"], "--layout chw"),
                       (["detect", det, good, "--top", "3"], "--top on detect"),
                       (["classify", cls, good, "--conf", "0.3"], "--conf on classify"),
                       (["classify", cls, good, "--softmax", "maybe"], "--softmax maybe"),
                       (["detect", det, good, "--output-layout", "yolov9"], "unknown output layout"),
                       (["detect", det, good, "--threads", "-1"], "--threads -1"),
                       (["detect", det, good, "--frobnicate"], "unknown flag")):
        rc, out, err = lens(*args)
        check(rc == 2 and err and not out, "usage error: %s -> exit 2" % what, "rc %d: %s" % (rc, err))
    open(j("afile"), "w").write("x")
    rc, out, err = lens("detect", det, good, "-o", j("afile", "sub"))
    check(rc == 2 and "afile" in err, "unwritable output folder -> exit 2", err)
    for c in ("classify", "detect", "segment", "verify"):
        rc, out, err = lens(c, "--help")
        check(rc == 0 and out.startswith("Usage: lens " + c) and not err, "lens %s --help" % c)
    rc, out, _ = lens("--help")
    check(all(c in out for c in ("classify", "detect", "segment", "verify")), "lens --help lists the vision commands")

    # --- info: the vision settings and where they came from
    rc, out, err = lens("info", det, "--json")
    try:
        v = json.loads(out)["vision"]
        s = v["settings"]
        check(rc == 0 and s["task"]["value"] == "detect" and s["task"]["from"] == "lens" and
              s["task"]["key"] == "lens.task" and s["size"] == {"value": "320x320", "from": "model"} and
              s["resize"]["value"] == "letterbox" and v["labels"] == ["cat", "dog", "bird"] and
              "yolov8" in v["outputs"] and "64 candidate boxes" in v["outputs"], "info --json vision settings", v)
    except (ValueError, KeyError) as e:
        check(False, "info --json has vision settings", "%s: %s" % (e, out))
    rc, out, err = lens("info", det)
    check(rc == 0 and "vision:" in out and "lens.input.resize" in out and "letterbox" in out, "info text: vision", out)
    rc, out, err = lens("info", hostile, "--json")
    check(rc == 0 and "lens.input.mean" in json.loads(out)["vision"].get("error", ""),
          "info shows a metadata error without failing", out)
    ultra = const_model(j("ultra.onnx"), [1, 3, 320, 320], {"output0": y8},
                        {"task": "detect", "names": "{0: 'a', 0: 'b'}", "imgsz": "[320, 320]"})
    rc, out, err = lens("info", ultra, "--json")
    v = json.loads(out)["vision"] if rc == 0 else {}
    check(v.get("warnings") and "names" in v["warnings"][0] and v["settings"]["task"]["from"] == "ultralytics",
          "info: ignored Ultralytics names listed as a warning", v)

    # --- verify
    def make_check(model, task, result, out_arr, labels_count):
        cdir = model[:-5] + ".check"
        shutil.rmtree(cdir, ignore_errors=True)
        os.makedirs(cdir)
        cv2.imwrite(os.path.join(cdir, "image.png"), img)
        np.save(os.path.join(cdir, "input_0.npy"), rng.random((1, 3) + tuple(
            onnx.load(model).graph.input[0].type.tensor_type.shape.dim[i].dim_value for i in (2, 3))).astype(np.float32))
        np.save(os.path.join(cdir, "output_0.npy"), out_arr)
        json.dump({"task": task, "labels_count": labels_count, "tolerance": {"abs": 1e-3, "rel_to_max": True},
                   "result": result}, open(os.path.join(cdir, "expected.json"), "w"))
        return cdir

    rc, out, _ = lens("detect", det, j("good.png"), "--json")
    det_result = json.loads(out)
    del det_result["image"]
    cdir = make_check(det, "detect", det_result, y8, 3)
    rc, out, err = lens("verify", det)
    check(rc == 0 and "verify: pass" in out and "output 0" in out and "matched" in out, "verify detect: pass", out + err)
    tampered = y8.copy()
    tampered[0, 0, 5] += 1.0  # max|ref| ~ 320: limit 0.32, so +1 is a mismatch
    np.save(os.path.join(cdir, "output_0.npy"), tampered)
    rc, out, err = lens("verify", det)
    check(rc == 1 and "MISMATCH" in out and "output 0" in out, "verify: an output off by 1 -> exit 1", out + err)
    small = y8.copy()
    small[0, 0, 5] += 0.1  # within 1e-3 x max|ref|
    np.save(os.path.join(cdir, "output_0.npy"), small)
    rc, out, err = lens("verify", det)
    check(rc == 0, "verify: an output off by 0.1 of ~320 passes (relative tolerance)", out + err)
    np.save(os.path.join(cdir, "output_0.npy"), y8)
    r2 = json.loads(json.dumps(det_result))
    r2["detections"][0]["class"] = (r2["detections"][0]["class"] + 1) % 3
    json.dump({"task": "detect", "labels_count": 3, "tolerance": {"abs": 1e-3, "rel_to_max": True}, "result": r2},
              open(os.path.join(cdir, "expected.json"), "w"))
    rc, out, err = lens("verify", det)
    check(rc == 1 and "MISMATCH" in out, "verify: a detection of another class -> exit 1", out + err)
    r3 = json.loads(json.dumps(det_result))
    b = r3["detections"][0]["box"]
    r3["detections"][0]["box"] = [b[0] + 0.3 * (b[2] - b[0]), b[1], b[2] + 0.3 * (b[2] - b[0]), b[3]]
    json.dump({"task": "detect", "labels_count": 3, "result": r3}, open(os.path.join(cdir, "expected.json"), "w"))
    rc, out, err = lens("verify", det)
    check(rc == 1 and "IoU" in out, "verify: a box shifted by 30% -> exit 1", out + err)
    open(os.path.join(cdir, "expected.json"), "w").write("{\"task\": \"detect\", ")
    rc, out, err = lens("verify", det)
    check(rc == 2 and "expected.json" in err, "verify: malformed expected.json -> exit 2", err)
    rc, out, err = lens("verify", cls)
    check(rc == 2 and "cls.check" in err, "verify: no check folder -> exit 2", err)

    rc, out, _ = lens("segment", seg, j("good.png"), "--json")
    seg_result = json.loads(out)
    del seg_result["image"]
    sdir = make_check(seg, "segment", seg_result, seg_logits, 0)
    rc, out, err = lens("verify", seg)
    check(rc == 0 and "verify: pass" in out, "verify segment: pass", out + err)
    total = 320 * 240
    for frac, want in ((0.005, 0), (0.02, 1)):
        r = json.loads(json.dumps(seg_result))
        r["classes"][0]["pixels"] += int(frac * total)
        json.dump({"task": "segment", "labels_count": 0, "result": r}, open(os.path.join(sdir, "expected.json"), "w"))
        rc, out, err = lens("verify", seg)
        check(rc == want, "verify segment: counts off by %.1f%% of the image -> exit %d" % (frac * 100, want),
              out + err)

    rc, out, _ = lens("classify", cls, j("good.png"), "--json")
    cls_result = json.loads(out)
    del cls_result["image"]
    make_check(cls, "classify", cls_result, np.array([[0.5, 2.0, -1.0, 0.1]], np.float32), 0)
    rc, out, err = lens("verify", cls)
    check(rc == 0 and "top-1 class" in out, "verify classify: pass", out + err)
    cls_result["top"][0]["index"] = 3
    make_check(cls, "classify", cls_result, np.array([[0.5, 2.0, -1.0, 0.1]], np.float32), 0)
    rc, out, err = lens("verify", cls)
    check(rc == 1, "verify classify: another top-1 -> exit 1", out + err)

    print("%d check(s) failed" % len(FAILS) if FAILS else "all checks passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
