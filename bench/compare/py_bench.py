#!/usr/bin/python3
"""Time one model with OpenCV DNN or PyTorch; print one JSON object.

Usage: py_bench.py opencv|torch MODEL_BASE THREADS RUNS WARMUP
MODEL_BASE is the path without extension: OpenCV reads MODEL_BASE.onnx,
PyTorch the frozen TorchScript MODEL_BASE.pt written by export.py (the same
network and weights). Input: float32 of the model's input shape (from the
ONNX file), a fixed pseudo-random pattern in [-1, 1).
On failure prints {"error": "..."} and exits 1.
"""
import json
import statistics
import sys
import time

import numpy as np

BUDGET_S = 8.0


def input_shape(onnx_path):
    import onnx
    m = onnx.load(onnx_path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    for i in m.graph.input:
        if i.name not in inits:
            return [d.dim_value if d.dim_value > 0 else 1 for d in i.type.tensor_type.shape.dim]
    raise ValueError("model has no input")


def _slow(run):
    """Run once; True if that took over a second (then one warm-up is enough)."""
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0 > 1.0


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    engine, base, threads, runs, warmup = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
    shape = input_shape(base + ".onnx")
    x = (np.random.default_rng(12345).random(shape, dtype=np.float32) * 2 - 1).astype(np.float32)
    if engine == "opencv":
        import cv2
        cv2.setNumThreads(threads)
        net = cv2.dnn.readNetFromONNX(base + ".onnx")

        def run():
            net.setInput(x)
            net.forward()
        version = cv2.__version__
    elif engine == "torch":
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        m = torch.jit.load(base + ".pt").eval()
        xt = torch.from_numpy(x)

        def run():
            with torch.inference_mode():
                m(xt)
        version = torch.__version__
    else:
        sys.exit(f"unknown engine {engine}")
    for _ in range(warmup if warmup < 2 else (1 if _slow(run) else warmup - 1)):
        run()
    # Slow engine/model pairs (seconds per run) stop after BUDGET_S of timed
    # runs, with at least 3, so one measurement cannot stall the whole round.
    t = []
    start = time.perf_counter()
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        t.append((time.perf_counter() - t0) * 1e3)
        if len(t) >= 3 and time.perf_counter() - start > BUDGET_S:
            break
    print(json.dumps({"min_ms": min(t), "median_ms": statistics.median(t), "runs": len(t),
                      "threads": threads, "warmup": warmup, "version": version}))


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # report, never hang the driver
        msg = " ".join(str(e).split())
        print(json.dumps({"error": msg[-400:]}))
        sys.exit(1)
