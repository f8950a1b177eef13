#!/usr/bin/python3
"""Speed floor: lens against OpenCV DNN on the parity models.

For every parity model that OpenCV DNN (cv2.dnn.readNetFromONNX) can load and run, time
  - lens:   `lens bench MODEL --threads T --runs N --json` (its median_ms)
  - OpenCV: cv2.setNumThreads(T); net.setInput(x); net.forward() (warm-up, then median of N)
at each thread count, alternating between the two in rounds so that drift in machine load
hits both alike, and print a table: model, threads, lens ms, OpenCV ms, lens/OpenCV.
Models OpenCV cannot load or run are listed with OpenCV's error.

Usage:
  bench/opencv_floor.py --lens BUILD/lens --cache BUILD/parity-cache [--threads 1,2]
                        [--runs 10] [--rounds 3] [--models a,b,...] [--json-out FILE]

The export cache is the parity tests' (tests/parity/export_models.py), so nothing is
exported twice. Not a ctest: timings need a quiet machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
import export_models  # noqa: E402


def short_error(e):
    s = str(e).strip().splitlines()
    # OpenCV errors read "OpenCV(4.6.0) /path/file.cpp:123: error: (-2:Unspecified error) <text> in function ..."
    for line in s:
        if "error:" in line:
            return line.split("error:", 1)[1].strip()[:300]
    return (s[-1] if s else repr(e))[:300]


def _capture_stderr(fn):
    """Call fn() with file descriptor 2 sent to a temporary file: OpenCV logs the failing
    node there, while the exception itself only says 'in function handleNode'.
    Returns (result, exception or None, captured text)."""
    import tempfile
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            return fn(), None, ""
        except Exception as e:  # cv2.error
            os.dup2(saved, 2)
            tmp.seek(0)
            return None, e, tmp.read()
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def opencv_load(path, x):
    """Return (net, first output) if OpenCV loads and runs the model, else (None, error)."""
    import cv2
    net, e, log = _capture_stderr(lambda: cv2.dnn.readNetFromONNX(path))
    if e is not None:
        detail = [l.split("DNN/ONNX:", 1)[1].strip() for l in log.splitlines() if "DNN/ONNX: ERROR" in l]
        return None, "load: " + (detail[-1][:300] if detail else short_error(e))
    try:
        net.setInput(x)
        out = net.forward()
    except cv2.error as e:
        return None, "forward: " + short_error(e)
    return net, out


def opencv_time(net, x, threads, runs, warmup):
    import cv2
    cv2.setNumThreads(threads)
    for _ in range(warmup):
        net.setInput(x)
        net.forward()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        net.setInput(x)
        net.forward()
        ts.append((time.perf_counter() - t) * 1e3)
    return ts


def lens_time(lens, path, threads, runs):
    cmd = [lens, "bench", path, "--threads", str(threads), "--runs", str(runs), "--json"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError("lens bench exited %d: %s" % (p.returncode, (p.stderr or p.stdout).strip()[-300:]))
    for line in reversed(p.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lens", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=10, help="timed runs per round and engine")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (lens, OpenCV, lens, ...)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--models", default="all", help="comma-separated parity model names, or all")
    ap.add_argument("--extended", action="store_true", help="with --models all: include the heavy models")
    ap.add_argument("--json-out")
    a = ap.parse_args()

    import cv2
    names = list(export_models.MODELS) if a.models == "all" else a.models.split(",")
    if a.models == "all" and not a.extended:
        names = [n for n in names if not export_models.MODELS[n][2]]
    threads = [int(t) for t in a.threads.split(",")]
    have_lens = os.access(a.lens, os.X_OK)
    results, unsupported = [], []
    for name in names:
        d = export_models.ensure(name, a.cache)
        path = os.path.join(d, "model.onnx")
        x = np.load(os.path.join(d, "input_0.npy"))
        net, res = opencv_load(path, x)  # res: OpenCV's first output, or its error
        if net is None:
            unsupported.append({"model": name, "opencv_error": res})
            print("%-40s OpenCV %s: %s" % (name, cv2.__version__, res), file=sys.stderr)
            continue
        # A floor is only meaningful if OpenCV computes the same thing: record how far its
        # first output is from PyTorch's.
        ref = np.load(os.path.join(d, "ref_0.npy"))
        ocv_diff = float(np.abs(res.reshape(ref.shape) - ref).max()) if res.size == ref.size else None
        for t in threads:
            lens_meds, ocv = [], []
            lens_err = None
            for _ in range(a.rounds):
                if have_lens and lens_err is None:
                    try:
                        lens_meds.append(float(lens_time(a.lens, path, t, a.runs)["median_ms"]))
                    except Exception as e:  # keep timing OpenCV; report lens's failure
                        lens_err = str(e)
                ocv += opencv_time(net, x, t, a.runs, a.warmup)
            r = {"model": name, "threads": t, "opencv_median_ms": statistics.median(ocv),
                 "opencv_min_ms": min(ocv), "opencv_max_abs_diff_vs_pytorch": ocv_diff,
                 "lens_median_ms": statistics.median(lens_meds) if lens_meds else None,
                 "lens_error": lens_err if have_lens else "lens binary not found"}
            r["ratio"] = r["lens_median_ms"] / r["opencv_median_ms"] if r["lens_median_ms"] else None
            results.append(r)
            print("%-40s T=%d lens %s ms, OpenCV %.2f ms" % (
                name, t, "%.2f" % r["lens_median_ms"] if r["lens_median_ms"] else "-", r["opencv_median_ms"]),
                file=sys.stderr)

    print("%-40s %7s %12s %12s %10s %12s" % ("model", "threads", "lens ms", "OpenCV ms", "lens/OCV", "OCV vs PT"))
    for r in results:
        dd = r["opencv_max_abs_diff_vs_pytorch"]
        print("%-40s %7d %12s %12.2f %10s %12s" % (
            r["model"], r["threads"], "%.2f" % r["lens_median_ms"] if r["lens_median_ms"] else "n/a",
            r["opencv_median_ms"], "%.2f" % r["ratio"] if r["ratio"] else "n/a",
            "%.2g" % dd if dd is not None else "n/a"))
        if r.get("lens_error"):
            print("    lens: %s" % r["lens_error"][:200])
    if unsupported:
        print("\nNot loadable/runnable by OpenCV DNN %s:" % cv2.__version__)
        for u in unsupported:
            print("  %-38s %s" % (u["model"], u["opencv_error"]))
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"opencv_version": cv2.__version__, "runs": a.runs, "rounds": a.rounds,
                       "results": results, "opencv_unsupported": unsupported}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
