#!/usr/bin/python3
"""lens against ONNX Runtime, OpenCV DNN and PyTorch on the same ONNX files.

One command:
    bench/compare/run.py [--lens BUILD/lens] [--models-dir DIR] [--threads 1,2]
                         [--rounds 3] [--runs 20] [--warmup 3] [--engines lens,ort,opencv,torch]
                         [--only a,b] [--out DIR]

Exports the models first if they are missing (export.py, cached in --models-dir),
then for each round, model and thread count runs every engine once, in an order
that rotates from round to round, so that drift in machine load hits all of
them alike. Each engine runs in its own process: `lens bench --json`, a node
script over onnxruntime-node (ort_bench.js), and py_bench.py for OpenCV DNN
and PyTorch (frozen TorchScript of the same network). Each measurement is
`runs` timed runs after `warmup` untimed ones; per engine the reported
median_ms is the median of the rounds' medians and min_ms the smallest run.

Writes OUT/compare.json (every measurement, the summary and the machine) and
OUT/compare.png (latency relative to ONNX Runtime, per model and thread
count) and prints a table with lens/ORT per model and their geometric mean.
Not a test: timings on a shared machine are noisy; compare ratios measured
in the same run only.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"
sys.path.insert(0, HERE)
import export  # noqa: E402

ENGINES = ["lens", "ort", "opencv", "torch"]


def measure(engine, args, base, threads):
    """One measurement: dict with min_ms/median_ms, or error."""
    onnx_path = base + ".onnx"
    if engine == "lens":
        cmd = [args.lens, "bench", onnx_path, "--json", "--threads", str(threads),
               "--runs", str(args.runs), "--warmup", str(args.warmup)]
    elif engine == "ort":
        cmd = ["node", os.path.join(HERE, "ort_bench.js"), onnx_path, str(threads),
               str(args.runs), str(args.warmup)]
    else:
        cmd = [PY, os.path.join(HERE, "py_bench.py"), engine, base, str(threads), str(args.runs),
               str(args.warmup)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    try:
        r = json.loads(last)
    except ValueError:
        err = (p.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {p.returncode}: {err[:300]}"}
    if p.returncode != 0 and "error" not in r:
        r["error"] = f"exit {p.returncode}"
    return r


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "loadavg_start": os.getloadavg()}


def chart(summary, models, threads_list, engines, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (apt-get install python3-matplotlib): no chart", file=sys.stderr)
        return False
    fig, axes = plt.subplots(len(threads_list), 1, figsize=(13, 4.2 * len(threads_list)),
                             squeeze=False)
    width = 0.8 / len(engines)
    colors = {"lens": "#d62728", "ort": "#1f77b4", "opencv": "#2ca02c", "torch": "#ff7f0e"}
    for ax, t in zip(axes[:, 0], threads_list):
        for i, e in enumerate(engines):
            xs, ys = [], []
            for j, m in enumerate(models):
                s = summary[m][str(t)]
                ref, v = s.get("ort", {}).get("median_ms"), s.get(e, {}).get("median_ms")
                if ref and v:
                    xs.append(j + (i - (len(engines) - 1) / 2) * width)
                    ys.append(v / ref)
            ax.bar(xs, ys, width, label=e, color=colors.get(e))
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels(models, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("median latency / ORT (log)")
        ax.set_title(f"{t} thread{'s' if t > 1 else ''}: lower is faster")
        ax.legend(fontsize=8, ncol=len(engines))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lens", default=None, help="lens binary (default: build-perf/lens or build/lens)")
    ap.add_argument("--models-dir", default=os.path.join(ROOT, "build-perf", "models"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--only", default="", help="comma-separated model names")
    ap.add_argument("--out", default=os.path.join(ROOT, "build-perf", "compare"))
    ap.add_argument("--timeout", type=int, default=300, help="seconds per measurement")
    args = ap.parse_args()
    if not args.lens:
        for c in ("build-perf/lens", "build/lens"):
            if os.path.exists(os.path.join(ROOT, c)):
                args.lens = os.path.join(ROOT, c)
                break
    if not args.lens or not os.path.exists(args.lens):
        sys.exit("lens binary not found: build it or pass --lens")
    engines = [e for e in args.engines.split(",") if e]
    for e in engines:
        if e not in ENGINES:
            sys.exit(f"unknown engine {e}; known: {','.join(ENGINES)}")
    if "ort" in engines and not os.path.isdir(os.path.join(HERE, "node_modules", "onnxruntime-node")):
        sys.exit(f"onnxruntime-node missing: (cd {HERE} && npm install --ignore-scripts)")
    models = [m for m in args.only.split(",") if m] or export.MODELS
    threads_list = [int(t) for t in args.threads.split(",")]
    os.makedirs(args.models_dir, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    for m in models:
        if m not in export.MODELS:
            sys.exit(f"unknown model {m}")
        export.export(m, args.models_dir)

    info = machine()
    raw = []  # every measurement
    t_start = time.time()
    for r in range(args.rounds):
        for mi, m in enumerate(models):
            base = os.path.join(args.models_dir, m)
            for t in threads_list:
                k = (r + mi) % len(engines)
                for e in engines[k:] + engines[:k]:
                    res = measure(e, args, base, t)
                    res.update({"engine": e, "model": m, "threads": t, "round": r,
                                "load": os.getloadavg()[0]})
                    raw.append(res)
                    msg = res.get("error") or f"{res['median_ms']:.2f} ms"
                    print(f"[round {r + 1}/{args.rounds}] {m} t={t} {e}: {msg}", file=sys.stderr,
                          flush=True)

    summary = {}
    for m in models:
        summary[m] = {}
        for t in threads_list:
            s = {}
            for e in engines:
                rs = [x for x in raw if x["model"] == m and x["threads"] == t and x["engine"] == e]
                ok = [x for x in rs if "error" not in x]
                if ok:
                    s[e] = {"median_ms": statistics.median(x["median_ms"] for x in ok),
                            "min_ms": min(x["min_ms"] for x in ok), "rounds": len(ok)}
                elif rs:
                    s[e] = {"error": rs[-1]["error"]}
            if s.get("lens", {}).get("median_ms") and s.get("ort", {}).get("median_ms"):
                s["lens_over_ort"] = s["lens"]["median_ms"] / s["ort"]["median_ms"]
            summary[m][str(t)] = s
    geo = {str(t): geomean([summary[m][str(t)].get("lens_over_ort") for m in models])
           for t in threads_list}
    info["loadavg_end"] = os.getloadavg()
    info["seconds"] = round(time.time() - t_start, 1)
    out = {"machine": info, "settings": {k: getattr(args, k) for k in
                                         ("threads", "rounds", "runs", "warmup", "engines", "lens")},
           "summary": summary, "geomean_lens_over_ort": geo, "measurements": raw}
    jpath = os.path.join(args.out, "compare.json")
    with open(jpath, "w") as f:
        json.dump(out, f, indent=1)
    png = os.path.join(args.out, "compare.png")
    chart(summary, models, threads_list, engines, png)

    def cell(s, e):
        v = s.get(e, {})
        return f"{v['median_ms']:.2f}" if "median_ms" in v else "n/a"
    print(f"machine: {info['cpu']}, {info['cores']} cores; load {info['loadavg_start'][0]:.1f}"
          f" -> {info['loadavg_end'][0]:.1f}")
    hdr = "| model | threads | " + " | ".join(f"{e} ms" for e in engines) + " | lens/ORT |"
    print(hdr)
    print("|" + "---|" * (len(engines) + 3))
    for t in threads_list:
        for m in models:
            s = summary[m][str(t)]
            ratio = f"{s['lens_over_ort']:.2f}" if "lens_over_ort" in s else "n/a"
            print(f"| {m} | {t} | " + " | ".join(cell(s, e) for e in engines) + f" | {ratio} |")
    for t in threads_list:
        g = geo[str(t)]
        worst = max(((summary[m][str(t)].get("lens_over_ort") or 0), m) for m in models)
        print(f"threads={t}: geometric mean lens/ORT = {g:.3f}" if g else f"threads={t}: n/a",
              f"(worst {worst[1]} {worst[0]:.2f})")
    print(f"wrote {jpath} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
