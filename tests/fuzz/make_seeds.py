#!/usr/bin/python3
"""Regenerate the generated seed corpora of the fuzz targets (small files):
corpus/image (JPEG and PNG variants), corpus/metadata and corpus/postprocess
(in the byte layouts their targets document). corpus/model, corpus/npy and
corpus/tensor_pb were copied from the unit-test models, the ONNX backend test
data and numpy.save. Run with /usr/bin/python3 from any folder."""
import os
import struct

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def images():
    rng = np.random.default_rng(0)
    rgb = (rng.random((12, 17, 3)) * 255).astype(np.uint8)
    gray = rgb[:, :, 0].copy()
    rgba = np.dstack([rgb, rgb[:, :, 1]])
    for q in (30, 90):
        out("image", f"rgb_q{q}.jpg", cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, q])[1].tobytes())
    out("image", "gray.jpg", cv2.imencode(".jpg", gray)[1].tobytes())
    out("image", "progressive.jpg",
        cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes())
    big = cv2.resize(rgb, (80, 64), interpolation=cv2.INTER_NEAREST)
    out("image", "scaled_decode.jpg", cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 20])[1].tobytes())
    out("image", "rgb.png", cv2.imencode(".png", rgb)[1].tobytes())
    out("image", "gray.png", cv2.imencode(".png", gray)[1].tobytes())
    out("image", "rgba.png", cv2.imencode(".png", rgba)[1].tobytes())
    out("image", "rgb16.png", cv2.imencode(".png", rgb.astype(np.uint16) * 257)[1].tobytes())
    out("image", "one_pixel.png", cv2.imencode(".png", rgb[:1, :1])[1].tobytes())
    try:  # palette PNG and an EXIF orientation tag, when Pillow is there
        from PIL import Image
        import io
        b = io.BytesIO()
        Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=8).save(b, "PNG")
        out("image", "palette.png", b.getvalue())
        for orient in (3, 6):
            b = io.BytesIO()
            ex = Image.Exif()
            ex[0x0112] = orient
            Image.fromarray(rgb).save(b, "JPEG", exif=ex.tobytes())
            out("image", f"exif_orient{orient}.jpg", b.getvalue())
    except ImportError:
        pass


def kv(task, shape_in, shape_out, pairs):
    body = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs)
    return bytes([task, shape_in, shape_out]) + body


def metadata():
    out("metadata", "lens_classify", kv(1, 0, 0, [
        ("lens.format", "1"), ("lens.task", "classify"), ("lens.labels", '["cat","dog","a\\u00e9\\ud83d\\ude00"]'),
        ("lens.input.size", "224,224"), ("lens.input.resize", "crop"), ("lens.input.resize_short", "256"),
        ("lens.input.mean", "0.485,0.456,0.406"), ("lens.input.std", "0.229,0.224,0.225"),
        ("lens.post.top_k", "3")]))
    out("metadata", "lens_detect", kv(2, 0, 1, [
        ("lens.format", "1"), ("lens.task", "detect"), ("lens.output.layout", "yolov8"),
        ("lens.output.box", "cxcywh"), ("lens.output.normalized", "0"), ("lens.post.conf", "0.25"),
        ("lens.post.iou", "0.45"), ("lens.post.max_det", "300"), ("lens.input.resize", "letterbox"),
        ("lens.input.pad", "114"), ("lens.input.channels", "bgr"), ("lens.input.layout", "nchw"),
        ("lens.input.dtype", "float32"), ("lens.input.interp", "area"), ("lens.input.scale", "0.0039215686")]))
    out("metadata", "lens_segment", kv(3, 0, 3, [
        ("lens.task", "segment"), ("lens.output.layout", "logits"), ("lens.labels", "[" + ",".join(
            f'"c{i}"' for i in range(21)) + "]")]))
    out("metadata", "ultralytics", kv(0, 0, 1, [
        ("task", "detect"), ("imgsz", "[640, 640]"), ("stride", "32"),
        ("names", "{0: 'person', 1: \"bicycle\", 2: 'car'}"), ("author", "Ultralytics")]))
    out("metadata", "openvino", kv(0, 0, 4, [
        ("model_info.model_type", "ssd"), ("model_info.labels", "bg person car"),
        ("model_info.confidence_threshold", "0.5"), ("model_info.resize_type", "fit_to_window_letterbox"),
        ("model_info.mean_values", "123.675 116.28 103.53"), ("model_info.scale_values", "58.395 57.12 57.375"),
        ("model_info.reverse_input_channels", "True"), ("model_info.pad_value", "0")]))
    out("metadata", "nhwc_uint8", kv(1, 0x81, 0, [("lens.input.layout", "nhwc"), ("lens.input.dtype", "uint8")]))


def post(task, layout, flags, outs, src=(64, 48), values=b""):
    head = bytes([task, layout, flags, len(outs) - 1, src[0] - 1, src[1] - 1])
    for dtype_idx, dims in outs:
        head += bytes([len(dims) - 1, dtype_idx]) + bytes(dims)
    return head + values


def f32(*v):
    return struct.pack(f"<{len(v)}f", *v)


def postprocess():
    # task byte: 1 + b % 3 -> 0 classify, 1 detect, 2 segment
    out("postprocess", "classify_logits", post(0, 1, 0, [(0, [1, 10])], values=f32(*range(10))))
    out("postprocess", "classify_nan", post(0, 2, 0, [(0, [1, 4])], values=f32(float("nan"), 1, float("inf"), -1)))
    box = f32(10, 10, 8, 6, 0.9, 0.1, 12, 11, 8, 6, 0.8, 0.7)
    out("postprocess", "yolov5", post(1, 3, 0, [(0, [1, 2, 6])], values=box))
    out("postprocess", "yolov8_cf", post(1, 4, 0, [(0, [1, 6, 2])], values=box))
    out("postprocess", "boxes_scores", post(1, 5, 1, [(0, [3, 4]), (0, [3]), (3, [3])],
                                           values=f32(1, 2, 20, 15, 0.9, 0.5, 0.1) + struct.pack("<3q", 0, 1, 2)))
    out("postprocess", "ssd", post(1, 6, 4, [(0, [1, 1, 2, 7])],
                                  values=f32(0, 1, 0.9, 0.1, 0.1, 0.5, 0.5, 0, 2, 0.8, 0.2, 0.2, 0.9, 0.7)))
    out("postprocess", "segment_logits", post(2, 1, 0, [(0, [1, 3, 6, 8])], values=f32(*np.linspace(-2, 2, 17))))
    out("postprocess", "segment_sigmoid", post(2, 7, 0, [(0, [1, 1, 5, 5])], values=f32(-1, 0.5, 3)))


if __name__ == "__main__":
    images()
    metadata()
    postprocess()
