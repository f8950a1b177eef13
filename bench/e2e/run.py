#!/usr/bin/python3
"""End-to-end throughput: lens classify/detect/segment on a folder of 1080p
JPEGs against a seed-style Python pipeline and against OpenCV preprocessing +
ONNX Runtime, plus peak RSS of `lens bench` against the ORT runner.

    bench/e2e/run.py [--lens build/lens] [--threads 1,all] [--rounds 2]
                     [--images 100] [--cache DIR] [--only NAME,...]

--threads is a comma-separated list of modes, one table each: a number N
runs every engine on N threads (lens --threads N, cv2.setNumThreads(N),
torch.set_num_threads(N), ORT intraOpNumThreads N); `all` lets every engine
use the machine as its defaults would (lens without --threads: all cores;
OpenCV's and PyTorch's default thread counts; ORT intraOpNumThreads = the
cores).

Images: --images JPEGs of 1920x1080 made from scikit-image's sample photos
(scaled, flipped and tiled to fill the frame, a brightness ramp and Gaussian
noise, all from a fixed seed), cached in --cache (default
~/.cache/lens-e2e), never in git.

Pipelines, each in its own process, in an order that rotates between rounds
(the machine is shared: compare ratios from the same run):
  lens    `lens TASK MODEL DIR --json --threads T`: decode, preprocess,
          inference and post-processing of every image; wall time of the
          whole process (model load included), and its peak RSS.
  python  the seed-style script: cv2.imread, cvtColor, resize (letterbox
          where the model wants it), normalise in numpy, inference with
          cv2.dnn when it loads the model, else the same network as frozen
          TorchScript (the .pt next to the ONNX file; bench/compare/export.py
          writes both), else skipped; then argmax / NMS / per-pixel argmax
          resized to the image. Timed from model load to the last image.
  cv2+ort the same OpenCV preprocessing timed in Python (mean per image) plus
          ONNX Runtime's median inference time (bench/compare/ort_bench.js,
          same threads); post-processing is not counted, which favours it.

Peak RSS: of the lens run itself (all its workers' sessions), and of
`lens bench MODEL` against `node ort_bench.js MODEL` at the same threads.

Models: the bundled ones in models/ (docs/MODELS.md) that are present, and
parity exports from --models-dir (bench/compare/export.py --out DIR):
resnet18 (classify, 224, ImageNet normalisation) and
lraspp_mobilenet_v3_large (segment, 520). A missing model is skipped with a
note. Results: a markdown table per thread mode on stdout, JSON in --out.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"
IMAGENET = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])


def specs(models_dir):
    m = lambda *p: os.path.join(ROOT, "models", *p)
    d = lambda *p: os.path.join(models_dir, *p)
    return [
        dict(name="digits", task="classify", path=m("digits.onnx"), size=[8, 8], gray=True,
             resize="stretch", interp="area", mean=[0.0], std=[1.0], flags=[]),
        dict(name="shapes_det", task="detect", path=m("shapes_det.onnx"), size=[256, 256],
             gray=False, resize="letterbox", interp="linear", mean=[0.0] * 3, std=[1.0] * 3,
             flags=[]),
        dict(name="shapes_seg", task="segment", path=m("shapes_seg.onnx"), size=[256, 256],
             gray=False, resize="stretch", interp="linear", mean=[0.0] * 3, std=[1.0] * 3,
             flags=[]),
        dict(name="resnet18", task="classify", path=d("resnet18.onnx"), size=[224, 224],
             gray=False, resize="stretch", interp="linear", **IMAGENET,
             flags=["--size", "224", "--resize", "stretch", "--rgb",
                    "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"]),
        dict(name="lraspp_mobilenet_v3_large", task="segment",
             path=d("lraspp_mobilenet_v3_large.onnx"), size=[520, 520], gray=False,
             resize="stretch", interp="linear", **IMAGENET,
             flags=["--size", "520", "--resize", "stretch", "--rgb",
                    "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"]),
    ]


# ---- images ------------------------------------------------------------------

def make_images(folder, count):
    """count deterministic 1920x1080 JPEGs in folder (kept if already there)."""
    names = ["img_%03d.jpg" % i for i in range(count)]
    if all(os.path.exists(os.path.join(folder, n)) for n in names):
        return folder
    import cv2
    import numpy as np
    from skimage import data
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
              data.immunohistochemistry(), data.hubble_deep_field(), data.retina(),
              np.dstack([data.camera()] * 3)]
    photos = [cv2.cvtColor(np.ascontiguousarray(p[:, :, :3]), cv2.COLOR_RGB2BGR) for p in photos]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.RandomState(20261127)
    H, W = 1080, 1920
    for i, n in enumerate(names):
        canvas = np.zeros((H, W, 3), np.float32)
        scale = 0.8 + 1.6 * rng.rand()
        y = 0
        k = i
        while y < H:
            x = 0
            th = None
            while x < W:
                p = photos[k % len(photos)]
                k += 1
                t = cv2.resize(p, (int(p.shape[1] * scale), int(p.shape[0] * scale)),
                               interpolation=cv2.INTER_LINEAR)
                if rng.rand() < 0.5:
                    t = t[:, ::-1]
                th = th or t.shape[0]
                t = t[:min(th, H - y), :min(t.shape[1], W - x)]
                canvas[y:y + t.shape[0], x:x + t.shape[1]] = t
                x += t.shape[1]
            y += th
        ramp = np.linspace(0.7 + 0.3 * rng.rand(), 1.0 + 0.3 * rng.rand(), W, dtype=np.float32)
        canvas *= ramp[None, :, None]
        canvas += rng.normal(0, 6, canvas.shape).astype(np.float32)
        img = np.clip(canvas, 0, 255).astype(np.uint8)
        cv2.imwrite(os.path.join(folder, n), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return folder


# ---- workers (run in their own process) ---------------------------------------

def preprocess(cv2, np, spec, path):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise RuntimeError("cannot read " + path)
    orig_hw = img.shape[:2]
    img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if spec["gray"] else cv2.COLOR_BGR2RGB)
    w, h = spec["size"]
    interp = cv2.INTER_AREA if spec["interp"] == "area" else cv2.INTER_LINEAR
    if spec["resize"] == "letterbox":
        r = min(w / img.shape[1], h / img.shape[0])
        nw, nh = max(1, round(img.shape[1] * r)), max(1, round(img.shape[0] * r))
        img = cv2.resize(img, (nw, nh), interpolation=interp)
        top, left = (h - nh) // 2, (w - nw) // 2
        img = cv2.copyMakeBorder(img, top, h - nh - top, left, w - nw - left,
                                 cv2.BORDER_CONSTANT, value=(114, 114, 114))
    else:
        img = cv2.resize(img, (w, h), interpolation=interp)
    x = img.astype(np.float32) / 255.0
    if x.ndim == 2:
        x = x[:, :, None]
    x = (x - np.array(spec["mean"], np.float32)) / np.array(spec["std"], np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), orig_hw


def postprocess(cv2, np, spec, out, orig_hw):
    if spec["task"] == "classify":
        z = out[0] - out[0].max()
        p = np.exp(z) / np.exp(z).sum()
        return int(np.argsort(-p)[:5][0])
    if spec["task"] == "detect":
        o = out[0]  # [4 + C, N]: cx, cy, w, h, class scores
        scores = o[4:].max(0)
        keep = scores >= 0.25
        b = o[:4, keep].T
        boxes = [[float(cx - bw / 2), float(cy - bh / 2), float(bw), float(bh)]
                 for cx, cy, bw, bh in b]
        idx = cv2.dnn.NMSBoxes(boxes, scores[keep].tolist(), 0.25, 0.45) if boxes else []
        return len(idx)
    mask = out[0].argmax(0).astype(np.uint8)
    return cv2.resize(mask, (orig_hw[1], orig_hw[0]), interpolation=cv2.INTER_NEAREST).shape


def worker(kind, spec, folder, threads):
    import cv2
    import numpy as np
    if threads > 0:  # 0: OpenCV's default
        cv2.setNumThreads(threads)
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".jpg"))
    if kind == "pre":
        t0 = time.perf_counter()
        for f in files:
            preprocess(cv2, np, spec, f)
        return dict(seconds=time.perf_counter() - t0, images=len(files))
    t0 = time.perf_counter()
    engine, net = None, None
    try:
        net = cv2.dnn.readNetFromONNX(spec["path"])
        x, _ = preprocess(cv2, np, spec, files[0])
        net.setInput(x)
        net.forward()
        engine = "cv2.dnn"
    except Exception as e:  # noqa: BLE001 - OpenCV raises cv2.error for unsupported graphs
        dnn_error = str(e).strip().splitlines()[-1][:160]
    if engine is None:
        pt = os.path.splitext(spec["path"])[0] + ".pt"
        if not os.path.exists(pt):
            return dict(skipped="cv2.dnn cannot load it (%s) and there is no TorchScript %s"
                        % (dnn_error, os.path.basename(pt)))
        import torch
        if threads > 0:  # 0: PyTorch's default
            torch.set_num_threads(threads)
        net = torch.jit.load(pt)
        engine = "torch"
    for f in files:
        x, orig_hw = preprocess(cv2, np, spec, f)
        if engine == "cv2.dnn":
            net.setInput(x)
            out = net.forward()
        else:
            with torch.no_grad():
                out = net(torch.from_numpy(x))
            if isinstance(out, (tuple, list)):
                out = out[0]
            if isinstance(out, dict):
                out = out["out"]
            out = out.numpy()
        postprocess(cv2, np, spec, out, orig_hw)
    return dict(seconds=time.perf_counter() - t0, images=len(files), engine=engine)


# ---- driver --------------------------------------------------------------------

def lens_threads(threads):
    """lens's flag for a thread mode: none for 0 (its default, all cores)."""
    return ["--threads", str(threads)] if threads > 0 else []


def run_lens(lens, spec, folder, threads, n):
    cmd = [lens, spec["task"], spec["path"], folder, "--json"] + lens_threads(threads)
    cmd += spec["flags"]
    # /usr/bin/time -v reports the peak RSS on stderr after lens's own lines
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    if r.returncode != 0 or len(lines) != n:
        return dict(error="exit %d, %d results: %s" % (r.returncode, len(lines), r.stderr[-300:]))
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    stages = re.search(r"per image: (.*)", r.stderr)
    return dict(seconds=dt, images=n, rss_mb=int(m.group(1)) / 1024.0 if m else None,
                stages=stages.group(1) if stages else None)


def run_worker(kind, spec, folder, threads):
    r = subprocess.run([PY, __file__, "--worker", kind, json.dumps(spec), folder, str(threads)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return dict(error=r.stderr.strip()[-300:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def ort_threads(threads):
    """ORT's intraOpNumThreads for a thread mode: the cores for 0."""
    return threads if threads > 0 else os.cpu_count()


ORT_BENCH = os.path.join(ROOT, "bench", "compare", "ort_bench.js")


def run_ort(spec, threads, runs=20):
    r = subprocess.run(["node", ORT_BENCH,
                        spec["path"], str(ort_threads(threads)), str(runs), "3"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return dict(error=r.stderr.strip()[-300:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def peak_rss(cmd):
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    if r.returncode != 0 or not m:
        return None
    return int(m.group(1)) / 1024.0


def median(v):
    v = sorted(v)
    if not v:
        return None
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def parse_modes(text):
    """'1,all' -> [1, 0] (0 = every engine's default, all cores)."""
    modes = []
    for t in filter(None, text.split(",")):
        t = t.strip()
        modes.append(0 if t == "all" else int(t))
        if modes[-1] < 0:
            raise ValueError(t)
    return modes


def mode_name(threads):
    return "all cores (%d), each engine's defaults" % os.cpu_count() if threads == 0 else \
        "%d thread%s everywhere" % (threads, "" if threads == 1 else "s")


def measure(lens, todo, folder, threads, a):
    res = {s["name"]: dict(lens=[], python=[], pre=[], ort=[], rss_run=[], stages=[], py_engine=None,
                           notes=[]) for s in todo}
    kinds = ["lens", "python", "pre", "ort"]
    # Read every image once so that no engine pays for the disk: the first
    # measurement of round 0 (lens, on the first model) used to read the
    # folder cold (digits: decode 7.1 ms per image in that round, 5.9 after).
    for f in sorted(os.listdir(folder)):
        with open(os.path.join(folder, f), "rb") as fh:
            while fh.read(1 << 20):
                pass
    for rnd in range(a.rounds):
        for s in todo:
            order = kinds[rnd % len(kinds):] + kinds[:rnd % len(kinds)]
            r = res[s["name"]]
            for k in order:
                if k == "lens":
                    out = run_lens(lens, s, folder, threads, a.images)
                elif k == "ort":
                    out = run_ort(s, threads)
                else:
                    out = run_worker(k, s, folder, threads)
                if "error" in out or "skipped" in out:
                    msg = "%s: %s" % (k, out.get("error") or out.get("skipped"))
                    if msg not in r["notes"]:
                        r["notes"].append(msg)
                    continue
                if k == "ort":
                    r["ort"].append(out["median_ms"])
                else:
                    r[k].append(out["seconds"] / out["images"] * 1000.0)
                    if k == "python":
                        r["py_engine"] = out["engine"]
                    if k == "lens":
                        if out.get("rss_mb"):
                            r["rss_run"].append(out["rss_mb"])
                        r["stages"].append(out.get("stages"))
                print("threads %s round %d %-28s %-6s %s" % (threads or "all", rnd, s["name"], k,
                                                             json.dumps(out)), file=sys.stderr)
    # Peak RSS: lens bench vs the ORT runner, same model, threads, 5 runs.
    for s in todo:
        r = res[s["name"]]
        r["rss_lens_mb"] = peak_rss([lens, "bench", s["path"]] + lens_threads(threads) +
                                    ["--runs", "5", "--warmup", "1"])
        r["rss_ort_mb"] = peak_rss(["node", ORT_BENCH,
                                    s["path"], str(ort_threads(threads)), "5", "1"])
        r["rss_run_mb"] = max(r["rss_run"]) if r["rss_run"] else None
    return res


def print_table(todo, res, folder, threads, a, load):
    print("\nimages: %d x 1920x1080 JPEG (%s); %s; rounds %d; load average %.1f %.1f %.1f\n"
          % (a.images, folder, mode_name(threads), a.rounds, *load))
    print("| model | task | lens img/s | python img/s (engine) | cv2+ORT img/s | lens/python | "
          "lens/cv2+ORT | peak RSS lens run MB | peak RSS lens bench MB | peak RSS ORT MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    fmt = lambda v: "%.1f" % v if v else "n/a"
    for s in todo:
        r = res[s["name"]]
        lm, pm = median(r["lens"]), median(r["python"])
        pre, ort = median(r["pre"]), median(r["ort"])
        lips = 1000.0 / lm if lm else None
        pips = 1000.0 / pm if pm else None
        oips = 1000.0 / (pre + ort) if pre is not None and ort is not None else None
        r.update(lens_ips=lips, python_ips=pips, cv2_ort_ips=oips, pre_ms=pre, ort_ms=ort)
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            s["name"], s["task"], fmt(lips),
            fmt(pips) + (" (%s)" % r["py_engine"] if r["py_engine"] else ""), fmt(oips),
            "%.2f" % (lips / pips) if lips and pips else "n/a",
            "%.2f" % (lips / oips) if lips and oips else "n/a",
            fmt(r["rss_run_mb"]), fmt(r["rss_lens_mb"]), fmt(r["rss_ort_mb"])))
    for s in todo:
        for n in res[s["name"]]["notes"]:
            print("- %s: %s" % (s["name"], n))
        st = [x for x in res[s["name"]]["stages"] if x]
        if st:
            print("- %s: lens per image and stage (wall time, summed over workers): %s" % (s["name"], st[-1]))


def main():
    global ORT_BENCH
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, spec, folder, threads = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], int(sys.argv[5])
        print(json.dumps(worker(kind, spec, folder, threads)))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lens", default=None, help="lens binary (default: build/lens, else build-*/lens)")
    ap.add_argument("--threads", default="1,all",
                    help="comma-separated modes: N threads everywhere, or all (each engine's defaults)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/lens-e2e"))
    ap.add_argument("--models-dir", default=os.path.join(ROOT, "build-perf", "models"),
                    help="parity exports from bench/compare/export.py")
    ap.add_argument("--only", default="", help="comma-separated model names")
    ap.add_argument("--out", default=None, help="JSON results (default: CACHE/e2e.json)")
    ap.add_argument("--ort-bench", default=ORT_BENCH,
                    help="ORT runner (bench/compare/ort_bench.js of a checkout with its node_modules)")
    a = ap.parse_args()
    ORT_BENCH = a.ort_bench
    try:
        modes = parse_modes(a.threads)
    except ValueError:
        sys.exit("--threads: expected numbers or 'all', comma-separated")
    lens = a.lens
    if not lens:
        for c in ["build/lens", "build-perf2/lens", "build-perf/lens"]:
            if os.access(os.path.join(ROOT, c), os.X_OK):
                lens = os.path.join(ROOT, c)
                break
    if not lens:
        sys.exit("no lens binary: pass --lens")
    folder = make_images(os.path.join(a.cache, "jpeg1080-%d" % a.images), a.images)
    only = set(filter(None, a.only.split(",")))
    todo, notes = [], []
    for s in specs(a.models_dir):
        if only and s["name"] not in only:
            continue
        if not os.path.exists(s["path"]):
            notes.append("%s: %s missing, skipped" % (s["name"], s["path"]))
            continue
        todo.append(s)
    results = []
    for threads in modes:
        res = measure(lens, todo, folder, threads, a)
        results.append((threads, res, os.getloadavg()))
    for threads, res, load in results:
        print_table(todo, res, folder, threads, a, load)
    for n in notes:
        print("- " + n)
    out = a.out or os.path.join(a.cache, "e2e.json")
    with open(out, "w") as f:
        json.dump(dict(lens=lens, rounds=a.rounds, images=a.images, cpus=os.cpu_count(),
                       modes=[dict(threads=t or "all", load=l, results=r) for t, r, l in results],
                       notes=notes), f, indent=1)
    print("\nJSON: " + out)


if __name__ == "__main__":
    main()
