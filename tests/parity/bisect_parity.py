#!/usr/bin/python3
"""Find the first operator where lens departs from a reference, for a failing parity model.

Usage: bisect_parity.py MODEL --lens PATH --cache DIR [--opset N] [--max-report 10]

There is no ONNX reference evaluator in this environment (onnx 1.12, no ONNX Runtime), so
the oracle for intermediate tensors is OpenCV DNN with layer fusion disabled: OpenCV names each
layer after its ONNX node, and its final output is
checked against PyTorch's first. Works for the models OpenCV loads (see
bench/opencv_floor.py); for the others it says so.

Every node output that OpenCV also produces is added as a graph output of a copy of the
model; lens runs the copy once, and the outputs are compared in graph order against the
tolerance check_parity.py uses. The first few departures are printed with their node.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_parity  # noqa: E402
import export_models  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--lens", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--opset", type=int)
    ap.add_argument("--max-report", type=int, default=10)
    a = ap.parse_args()

    import cv2
    import onnx
    d = export_models.ensure(a.model, a.cache, a.opset)
    path = os.path.join(d, "model.onnx")
    x = np.load(os.path.join(d, "input_0.npy"))
    ref0 = np.load(os.path.join(d, "ref_0.npy"))

    try:
        net = cv2.dnn.readNetFromONNX(path)
        net.enableFusion(False)
        layer_names = set(net.getLayerNames())
    except cv2.error as e:
        print("OpenCV DNN cannot load %s, so there is no intermediate oracle: %s" % (a.model, str(e).strip()[:200]))
        return 2

    m = onnx.load(path)
    existing = {o.name for o in m.graph.output}
    probes, names = [], []
    for n in m.graph.node:
        # OpenCV 4.6 names a layer "onnx_node!<node name>"; older ones used the first output.
        for ln in ("onnx_node!" + n.name, n.output[0] if n.output else None):
            if ln in layer_names and n.output[0] not in existing:
                probes.append((n.output[0], n.op_type, n.name))
                names.append(ln)
                break
    net.setInput(x)
    ocv = net.forward(names)
    final = net.forward()
    fd = float(np.abs(final.reshape(ref0.shape) - ref0).max()) if final.size == ref0.size else float("nan")
    print("OpenCV final output vs PyTorch: max abs diff %.3g (oracle %s)" % (
        fd, "usable" if fd <= check_parity.tol_for(ref0) else "NOT trustworthy"))

    for nm, _, _ in probes:
        m.graph.output.append(onnx.helper.make_empty_tensor_value_info(nm))
    base = len(existing)
    with tempfile.TemporaryDirectory(prefix="lens-bisect-") as tmp:
        probe_path = os.path.join(tmp, "probe.onnx")
        onnx.save(m, probe_path)
        inp = [i.name for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}][0]
        p = subprocess.run([a.lens, "run", probe_path, "--input", "%s=%s" % (inp, os.path.join(d, "input_0.npy")),
                            "--output-dir", tmp], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if p.returncode != 0:
            print("lens run on the probed model failed (%d): %s" % (p.returncode, p.stderr.strip()[-500:]))
            return 2
        reported = 0
        for k, (nm, op, node) in enumerate(probes):
            f = os.path.join(tmp, "output_%d.npy" % (base + k))
            if not os.path.exists(f):
                continue
            lo, ro = np.load(f), np.asarray(ocv[k])
            if lo.size != ro.size:
                print("%-12s %-50s shape lens %s, OpenCV %s" % (op, node, list(lo.shape), list(ro.shape)))
                reported += 1
            else:
                diff = float(np.abs(lo.reshape(-1).astype(np.float64) - ro.reshape(-1)).max()) if lo.size else 0.0
                t = check_parity.tol_for(ro)
                if not diff <= t:
                    print("%-12s %-50s max abs diff %.3g > %.3g" % (op, node, diff, t))
                    reported += 1
            if reported >= a.max_report:
                break
        if reported == 0:
            print("no departure found among %d probed tensors" % len(probes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
