#!/usr/bin/python3
"""lens classify / detect / segment over folders with several workers: the output
must be byte-identical to a one-thread run, whatever the thread count (2, and
8 workers forced through LENS_VISION_WORKERS, more than most machines' cores). Checks
stdout (JSON Lines and text), stderr (error lines in input order; the final
timing line without its numbers), the exit status and every file written with
-o, on folders of good and bad images (unreadable, truncated, empty, over
--max-pixels, not an image) larger than the reorder window, and on two folders
whose files share base names (the later input's output file must win, as in a
serial run). Run under ASan and TSan as well (scripts/test.sh).

Usage: test_vision_parallel.py --lens PATH --work DIR
"""
import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "models")
FAILS = []
LENS = None


def check(cond, what, detail=""):
    if cond:
        print("ok   %s" % what)
    else:
        print("FAIL %s%s" % (what, (": " + str(detail)[:3000]) if detail else ""))
        FAILS.append(what)


def lens(*args, workers=None):
    env = dict(os.environ)
    env.pop("LENS_VISION_WORKERS", None)
    if workers:  # more workers than cores (the CLI caps them at the cores otherwise)
        env["LENS_VISION_WORKERS"] = str(workers)
    p = subprocess.run([LENS] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=600, env=env)
    return p.returncode, p.stdout, p.stderr


TIMING = re.compile(rb"(lens \w+: \d+ image\(s\), \d+ failed), [0-9.]+ ms in all; per image: .*")


def stable_stderr(err):
    """stderr with the timing line's measurements dropped (they differ run to run)."""
    return TIMING.sub(rb"\1", err)


def make_folder(d, rng, count):
    os.makedirs(d, exist_ok=True)
    for i in range(count):
        h, w = int(rng.integers(24, 300)), int(rng.integers(24, 300))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        cv2.rectangle(img, (w // 4, h // 4), (w // 2, h // 2), (255, 255, 255), -1)
        cv2.circle(img, (2 * w // 3, 2 * h // 3), max(3, min(w, h) // 6), (0, 0, 255), -1)
        if i % 3 == 0:
            cv2.imwrite(os.path.join(d, "img_%02d.png" % i), img if i % 2 else img[:, :, 0])
        else:
            cv2.imwrite(os.path.join(d, "img_%02d.jpg" % i), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    # the bad ones, spread through the sorted order
    good = open(os.path.join(d, "img_01.jpg"), "rb").read()
    open(os.path.join(d, "img_04b_truncated.jpg"), "wb").write(good[: len(good) // 2])
    open(os.path.join(d, "img_07b_empty.jpg"), "wb").close()
    open(os.path.join(d, "img_10b_text.png"), "w").write("not an image\n")
    cv2.imwrite(os.path.join(d, "img_13b_large.png"), np.zeros((700, 700, 3), np.uint8))  # over --max-pixels
    open(os.path.join(d, "img_20b_junk.jpg"), "wb").write(b"\xff\xd8\xff\xe0" + bytes(200))


def same_tree(a, b):
    """Names and bytes of every file under a and b are the same."""
    fa, fb = sorted(os.listdir(a)), sorted(os.listdir(b))
    if fa != fb:
        return False, "files differ: %s vs %s" % (fa, fb)
    match, mismatch, errors = filecmp.cmpfiles(a, b, fa, shallow=False)
    if mismatch or errors:
        return False, "contents differ: %s %s" % (mismatch, errors)
    return True, ""


def main():
    global LENS
    ap = argparse.ArgumentParser()
    ap.add_argument("--lens", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    LENS = a.lens
    work = a.work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rng = np.random.default_rng(20261127)
    folder = os.path.join(work, "mixed")
    make_folder(folder, rng, 22)
    # two folders with the same base names: x.jpg in one, x.png in the other
    twin_a, twin_b = os.path.join(work, "twin_a"), os.path.join(work, "twin_b")
    for d, ext in ((twin_a, ".jpg"), (twin_b, ".png")):
        os.makedirs(d)
        for i in range(5):
            img = rng.integers(0, 256, (64 + 16 * i, 96, 3), dtype=np.uint8)
            cv2.imwrite(os.path.join(d, "x%d%s" % (i, ext)), img)
    open(os.path.join(twin_b, "x2.png"), "w").write("broken\n")  # a failing clash as well

    cases = [
        ("classify", "digits.onnx", []),
        ("detect", "shapes_det.onnx", ["--conf", "0.05"]),
        ("segment", "shapes_seg.onnx", []),
        ("segment", "shapes_seg.onnx", ["--resize", "crop"]),
    ]
    common = ["--max-pixels", "250000"]
    n = 0
    for cmd, model, extra in cases:
        mpath = os.path.join(MODELS, model)
        if not os.path.exists(mpath):
            check(False, "model %s exists" % mpath)
            continue
        for fmt in (["--json"], []):
            for inputs in ([folder], [twin_a, twin_b]):
                n += 1
                tag = "%s %s %s %s" % (cmd, model, " ".join(extra + fmt), "twins" if len(inputs) > 1 else "mixed")
                outs = {}
                for threads in (1, 2, 8):
                    od = os.path.join(work, "out%d_t%d" % (n, threads))
                    rc, out, err = lens(cmd, mpath, *inputs, *fmt, *extra, *common, "-o", od,
                                        "--threads", threads, workers=threads if threads == 8 else None)
                    outs[threads] = (rc, out, stable_stderr(err), od)
                    check(b"Sanitizer" not in err, "%s: no sanitizer report at %d threads" % (tag, threads),
                          err.decode(errors="replace")[-3000:])
                rc1, out1, err1, od1 = outs[1]
                check(rc1 == 1, "%s: one thread: exit 1 (some images fail)" % tag, rc1)
                check(len(out1) > 0 and err1.count(b"\n") >= 2, "%s: one thread printed results and errors" % tag,
                      err1)
                for threads in (2, 8):
                    rc, out, err, od = outs[threads]
                    check(rc == rc1, "%s: %d threads: same exit status" % (tag, threads), (rc, rc1))
                    check(out == out1, "%s: %d threads: same stdout" % (tag, threads),
                          (out[:1500], out1[:1500]))
                    check(err == err1, "%s: %d threads: same stderr" % (tag, threads), (err, err1))
                    ok, why = same_tree(od, od1)
                    check(ok, "%s: %d threads: same files written" % (tag, threads), why)

    # A single image with several threads (one worker, threads inside the run)
    one = os.path.join(folder, "img_02.jpg")
    r1 = lens("segment", os.path.join(MODELS, "shapes_seg.onnx"), one, "--json", "--threads", 1)
    r2 = lens("segment", os.path.join(MODELS, "shapes_seg.onnx"), one, "--json", "--threads", 2)
    check(r1[0] == 0 and r1[:2] == r2[:2], "one image: 2 threads give the same result", (r1, r2))

    if FAILS:
        print("\n%d check(s) failed:" % len(FAILS))
        for f in FAILS:
            print("  " + f)
        sys.exit(1)
    print("\nall checks passed")


if __name__ == "__main__":
    main()
