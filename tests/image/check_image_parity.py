#!/usr/bin/python3
"""lens's image layer against OpenCV.

  check_image_parity.py decode     --dump build/tests/image/dump_tensor
  check_image_parity.py preprocess --dump ...
  check_image_parity.py bench      --dump ...   (timings against cv2; never fails on time)

decode: lens's full-size JPEG decode equals cv2.imread within 1 (both use
libjpeg-turbo's default islow IDCT and fancy upsampling), PNG exactly (8-bit,
16-bit, gray, palette, alpha); EXIF orientations 1..8 match cv2.imread (which
applies them); DCT-scaled decodes stay close to the full-size picture.

preprocess: with scaled decoding off, lens's input tensor equals the cv2
pipeline (imread, cvtColor, resize, astype(float32) / 255, (x - mean) / std,
transpose) within 1/255 + 1e-6 per unit of std, for stretch, letterbox
(reference written below in numpy + cv2), crop (torchvision geometry with a
cv2 resize), area, gray, BGR, NHWC and uint8, on real photos from
skimage.data and synthetic images of odd sizes. It also prints how many
values differ at all (lens reproduces cv2's fixed-point arithmetic, so that
count is normally 0).

Fixtures are written at test time into a temporary directory.
"""
import argparse
import math
import os
import struct
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
import skimage.data

TOL = 1.0 / 255 + 1e-6
FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def run_dump(dump, src, out, *opts):
    r = subprocess.run([dump, src, out, *map(str, opts)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("dump_tensor %s %s failed (%d): %s" % (src, " ".join(map(str, opts)),
                                                                r.returncode, r.stderr.strip()))
    info = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if f and f[0] in ("decoded", "transform", "time_ms", "decode_ms"):
            info[f[0]] = [float(v) if "." in v or "e" in v else int(v) for v in f[1:] if v != "source"]
    return np.load(out), info


# ---- fixtures -------------------------------------------------------------

def photos():
    """Real photos from skimage.data as BGR uint8 (cv2's order)."""
    out = {}
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        rgb = getattr(skimage.data, name)()
        out[name] = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return out


def synthetic():
    """Odd sizes: smooth gradients plus noise, so resizing has something to do."""
    rng = np.random.default_rng(7)
    out = {}
    for (w, h) in [(1, 1), (3, 7), (7, 3), (2, 2), (1001, 17), (17, 1001), (5, 640), (640, 480),
                   (448, 448), (672, 224), (300, 200)]:
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)),
                         ((xx + yy) * 7) % 256], axis=-1)
        noise = rng.integers(-40, 41, (h, w, 3))
        out["syn%dx%d" % (w, h)] = np.clip(base + noise, 0, 255).astype(np.uint8)
    return out


def write_fixtures(tmp):
    """Returns {name: (path, kind)} where kind is png or jpg."""
    files = {}
    for name, bgr in {**photos(), **synthetic()}.items():
        p = os.path.join(tmp, name + ".png")
        cv2.imwrite(p, bgr)
        files[name + ".png"] = p
        if bgr.shape[0] >= 2 and bgr.shape[1] >= 2 or name.startswith("syn1x1"):
            j = os.path.join(tmp, name + ".jpg")
            cv2.imwrite(j, bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
            files[name + ".jpg"] = j
    return files


def exif_app1(orientation, big_endian):
    """An APP1 segment holding only IFD0 with the orientation tag."""
    e = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(e + "I", 0)
    payload = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


# ---- decode parity ----------------------------------------------------------

def check_decode(dump, tmp, files):
    out = os.path.join(tmp, "dec.npy")
    n = 0
    for name, path in sorted(files.items()):
        ref = cv2.imread(path, cv2.IMREAD_COLOR)
        got, info = run_dump(dump, path, out, "--decode-only", "--format", "bgr")
        if got.shape != ref.shape:
            fail("%s: decoded shape %s, cv2 %s" % (name, got.shape, ref.shape))
            continue
        d = np.abs(got.astype(int) - ref.astype(int)).max()
        bound = 1 if name.endswith(".jpg") else 0
        if d > bound:
            fail("%s: decode differs from cv2.imread by %d (bound %d)" % (name, d, bound))
        n += 1
    print("decode: %d files vs cv2.imread" % n)

    # PNG variants: gray, gray+alpha, palette, RGBA, 16-bit colour and gray.
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    variants = {
        "gray8": cv2.cvtColor(base, cv2.COLOR_BGR2GRAY),
        "bgra8": np.dstack([base, rng.integers(0, 256, (37, 53), dtype=np.uint8)]),
        "bgr16": (base.astype(np.uint16) * 257 + rng.integers(0, 257, base.shape)).astype(np.uint16),
        "gray16": rng.integers(0, 65536, (37, 53), dtype=np.uint16),
    }
    for vname, arr in variants.items():
        p = os.path.join(tmp, vname + ".png")
        cv2.imwrite(p, arr)
        for fmt, flag in (("bgr", cv2.IMREAD_COLOR), ("gray", cv2.IMREAD_GRAYSCALE)):
            ref = cv2.imread(p, flag)
            if fmt == "gray" and arr.ndim == 3:
                # cv2's gray PNG path uses libpng's own rgb_to_gray weights;
                # lens uses cvtColor's: compare with that instead.
                ref = cv2.cvtColor(cv2.imread(p, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
            got, _ = run_dump(dump, p, out, "--decode-only", "--format", fmt)
            got = got[..., 0] if fmt == "gray" else got
            if got.shape != ref.shape:
                fail("%s as %s: shape %s, cv2 %s" % (vname, fmt, got.shape, ref.shape))
                continue
            d = np.abs(got.astype(int) - ref.astype(int)).max()
            if d > 0:
                fail("%s.png as %s: differs from cv2.imread by %d" % (vname, fmt, d))
    # Palette PNG (cv2 cannot write one): build it with zlib by hand.
    pal = palette_png(os.path.join(tmp, "palette.png"), rng)
    got, _ = run_dump(dump, pal[0], out, "--decode-only", "--format", "rgb")
    if got.shape != pal[1].shape or np.any(got != pal[1]):
        fail("palette PNG decodes wrong")
    ref = cv2.imread(pal[0], cv2.IMREAD_COLOR)
    if np.any(cv2.cvtColor(ref, cv2.COLOR_BGR2RGB) != got):
        fail("palette PNG differs from cv2.imread")
    print("decode: PNG variants (gray, alpha, 16-bit, palette) checked")

    # EXIF orientation: lens and cv2.imread (which applies the tag) agree.
    src = photos()["chelsea"][:120, :170]   # not square, so the swaps show
    jpg = os.path.join(tmp, "plain.jpg")
    cv2.imwrite(jpg, src, [cv2.IMWRITE_JPEG_QUALITY, 95])
    raw = open(jpg, "rb").read()
    for o in range(1, 9):
        for be in (False, True):
            p = os.path.join(tmp, "exif%d%s.jpg" % (o, "be" if be else "le"))
            with open(p, "wb") as f:
                f.write(raw[:2] + exif_app1(o, be) + raw[2:])
            ref = cv2.imread(p, cv2.IMREAD_COLOR)
            got, info = run_dump(dump, p, out, "--decode-only", "--format", "bgr")
            if got.shape != ref.shape or np.abs(got.astype(int) - ref.astype(int)).max() > 1:
                fail("EXIF orientation %d (%s): lens %s vs cv2 %s" % (o, "MM" if be else "II",
                                                                      got.shape, ref.shape))
            sw, sh = info["decoded"][2], info["decoded"][3]
            if (sw, sh) != (ref.shape[1], ref.shape[0]):
                fail("EXIF orientation %d: source size %dx%d, upright is %dx%d" %
                     (o, sw, sh, ref.shape[1], ref.shape[0]))
            got2, _ = run_dump(dump, p, out, "--decode-only", "--format", "bgr", "--ignore-exif")
            if got2.shape != src.shape:
                fail("EXIF orientation %d: --ignore-exif still turned the image" % o)
    print("decode: EXIF orientations 1..8 (II and MM) match cv2.imread")

    # DCT-scaled decoding: smaller, at least 2x the target, close to the full picture.
    for name in ("astronaut.jpg", "chelsea.jpg", "coffee.jpg"):
        p = files[name]
        full = cv2.imread(p, cv2.IMREAD_COLOR)
        for tw, th in ((112, 112), (64, 48), (32, 32)):
            got, info = run_dump(dump, p, out, "--decode-only", "--format", "bgr",
                                 "--target", "%dx%d" % (tw, th))
            h, w = got.shape[:2]
            if w < 2 * tw or h < 2 * th:
                fail("%s target %dx%d: decoded %dx%d is under twice the target" % (name, tw, th, w, h))
            if info["decoded"][2:] != [full.shape[1], full.shape[0]]:
                fail("%s: source size %s, file is %dx%d" % (name, info["decoded"][2:], full.shape[1], full.shape[0]))
            ref = cv2.resize(full, (w, h), interpolation=cv2.INTER_AREA)
            mad = np.abs(got.astype(float) - ref).mean()
            if mad > 4.0:
                fail("%s scaled to %dx%d: mean abs difference %.2f from an area-resized full decode"
                     % (name, w, h, mad))
            # The scale chosen is the smallest allowed: the next power of two down would be too small.
            denom = round(full.shape[1] / w)
            if denom < 8 and w >= 4 * tw and h >= 4 * th:
                fail("%s target %dx%d: decoded %dx%d, a smaller DCT scale was possible" % (name, tw, th, w, h))
    print("decode: DCT-scaled decoding checked")


def palette_png(path, rng):
    import zlib
    w, h = 29, 13
    pal = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    idx = rng.integers(0, 16, (h, w), dtype=np.uint8)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
    raw = b"".join(b"\0" + idx[y].tobytes() for y in range(h))
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"PLTE", pal.tobytes()) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    open(path, "wb").write(data)
    return path, pal[idx]


# ---- preprocess parity -------------------------------------------------------

def ref_resize(img, w, h, interp):
    return cv2.resize(img, (w, h), interpolation=interp)


def ref_pipeline(path, case):
    """The cv2 reference: returns the tensor (batch 1) and the pixels before normalisation."""
    W, H = case["size"]
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    ch = case.get("channels", "rgb")
    if ch == "rgb":
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    elif ch == "bgr":
        img = bgr
    else:
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    interp = cv2.INTER_AREA if case.get("interp") == "area" else cv2.INTER_LINEAR
    h, w = img.shape[:2]
    mode = case.get("resize", "stretch")
    if mode == "stretch":
        out = ref_resize(img, W, H, interp)
    elif mode == "letterbox":
        # As ultralytics' LetterBox (auto=False, scaleup=True, center=True).
        r = min(H / h, W / w)
        nw, nh = int(round(w * r)), int(round(h * r))
        nw, nh = max(1, min(nw, W)), max(1, min(nh, H))
        res = ref_resize(img, nw, nh, interp) if (nw, nh) != (w, h) else img
        dw, dh = (W - nw) / 2, (H - nh) / 2
        top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
        left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
        pad = case.get("pad", 114)
        out = cv2.copyMakeBorder(res, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                 value=(pad, pad, pad))
        out = out.reshape(H, W, -1) if out.ndim == 3 else out
    else:
        # torchvision Resize(short) + CenterCrop((H, W)) geometry, cv2 resize.
        S = case.get("short") or min(W, H)
        if w <= h:
            nw, nh = S, int(S * h / w)
        else:
            nw, nh = int(S * w / h), S
        res = ref_resize(img, nw, nh, interp)
        if nw < W or nh < H:
            pl, pt = max(0, (W - nw) // 2), max(0, (H - nh) // 2)
            pr, pb = max(0, (W - nw + 1) // 2), max(0, (H - nh + 1) // 2)
            res = cv2.copyMakeBorder(res, pt, pb, pl, pr, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            nh, nw = res.shape[:2]
        top = int(round((nh - H) / 2.0))
        left = int(round((nw - W) / 2.0))
        out = res[top:top + H, left:left + W]
    if out.ndim == 2:
        out = out[..., None]
    pixels = out
    if case.get("dtype") == "uint8":
        x = out
    else:
        mean = np.array(case.get("mean", (0, 0, 0))[:out.shape[2]], np.float32)
        std = np.array(case.get("std", (1, 1, 1))[:out.shape[2]], np.float32)
        x = (out.astype(np.float32) / 255 - mean) / std
    if case.get("layout", "nchw") == "nchw":
        x = x.transpose(2, 0, 1)
    return x[None], pixels


def case_opts(case):
    o = ["--no-scaled", "--size", "%dx%d" % case["size"], "--resize", case.get("resize", "stretch"),
         "--interp", case.get("interp", "bilinear"), "--channels", case.get("channels", "rgb"),
         "--layout", case.get("layout", "nchw"), "--dtype", case.get("dtype", "float")]
    if "short" in case:
        o += ["--short", case["short"]]
    if "pad" in case:
        o += ["--pad", case["pad"]]
    if "mean" in case:
        o += ["--mean", ",".join("%.9g" % v for v in case["mean"])]
    if "std" in case:
        o += ["--std", ",".join("%.9g" % v for v in case["std"])]
    return o


IMAGENET = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))

CASES = [
    dict(name="stretch224", size=(224, 224)),
    dict(name="stretch_odd", size=(37, 53)),
    dict(name="stretch_1x1", size=(1, 1)),
    dict(name="stretch_wide", size=(500, 3)),
    dict(name="stretch_up", size=(640, 640)),
    dict(name="imagenet", size=(224, 224), **IMAGENET),
    dict(name="bgr_nhwc", size=(160, 96), channels="bgr", layout="nhwc"),
    dict(name="gray", size=(64, 48), channels="gray"),
    dict(name="uint8", size=(224, 224), dtype="uint8"),
    dict(name="uint8_nhwc", size=(99, 101), dtype="uint8", layout="nhwc"),
    dict(name="letterbox640", size=(640, 640), resize="letterbox"),
    dict(name="letterbox_rect", size=(320, 192), resize="letterbox", pad=0),
    dict(name="letterbox_gray", size=(97, 61), resize="letterbox", channels="gray", pad=200),
    dict(name="crop224", size=(224, 224), resize="crop", short=256, **IMAGENET),
    dict(name="crop_rect", size=(160, 96), resize="crop"),
    dict(name="crop_small_short", size=(64, 64), resize="crop", short=40),
    dict(name="area224", size=(224, 224), interp="area"),
    dict(name="area_half", size=(0, 0), interp="area", half=2),
    dict(name="area_third", size=(0, 0), interp="area", half=3),
    dict(name="area_up", size=(700, 650), interp="area"),
    dict(name="area_mixed", size=(2000, 40), interp="area"),
    dict(name="area_crop", size=(224, 224), resize="crop", short=256, interp="area", dtype="uint8"),
    dict(name="area_letterbox", size=(320, 320), resize="letterbox", interp="area", channels="gray"),
]


def check_preprocess(dump, tmp, files):
    out = os.path.join(tmp, "x.npy")
    total, exact, worst = 0, 0, 0.0
    for fname, path in sorted(files.items()):
        shape = cv2.imread(path, cv2.IMREAD_COLOR).shape
        for case in CASES:
            # The pass does not care which codec made the pixels: JPEG files
            # (decode parity is checked separately) run a few cases only.
            if fname.endswith(".jpg") and case["name"] not in ("stretch224", "letterbox640", "crop224"):
                continue
            case = dict(case)
            if case.get("half"):
                k = case["half"]
                if shape[1] % k or shape[0] % k or shape[1] < k or shape[0] < k:
                    continue
                case["size"] = (shape[1] // k, shape[0] // k)
            try:
                ref, _ = ref_pipeline(path, case)
                got, info = run_dump(dump, path, out, *case_opts(case))
            except Exception as e:  # noqa: BLE001 - report and go on
                fail("%s %s: %s" % (fname, case["name"], e))
                continue
            total += 1
            if got.shape != ref.shape or got.dtype != ref.dtype:
                fail("%s %s: lens %s %s, cv2 %s %s" % (fname, case["name"], got.shape, got.dtype,
                                                        ref.shape, ref.dtype))
                continue
            d = np.abs(got.astype(np.float64) - ref.astype(np.float64))
            if case.get("dtype") == "uint8":
                bound, unit = 1.0, 1.0
            else:
                std = np.array(case.get("std", (1, 1, 1)), np.float64)
                nch = ref.shape[1] if case.get("layout", "nchw") == "nchw" else ref.shape[3]
                bound = TOL / std[:nch].min()
                unit = 1.0 / 255 / std[:nch].min()
            m = float(d.max())
            worst = max(worst, m / unit)
            if m > bound:
                idx = np.unravel_index(np.argmax(d), d.shape)
                fail("%s %s: max |lens - cv2| = %.3g at %s (bound %.3g)" % (fname, case["name"], m,
                                                                           idx, bound))
            if m <= unit * 1e-3:
                exact += 1
    print("preprocess: %d comparisons, %d bit-for-bit equal (to float rounding), worst %.3f pixel units"
          % (total, exact, worst))
    # The transform maps model pixels back: check one letterbox by hand.
    p = files["chelsea.png"]
    h, w = cv2.imread(p).shape[:2]
    _, info = run_dump(dump, p, out, "--no-scaled", "--size", "640x640", "--resize", "letterbox")
    sx, sy, ox, oy = info["transform"]
    r = min(640 / w, 640 / h)
    nw, nh = round(w * r), round(h * r)
    if abs(sx - nw / w) > 1e-6 or abs(sy - nh / h) > 1e-6 or ox != (640 - nw) // 2 or oy != (640 - nh) // 2:
        fail("letterbox transform %s for %dx%d" % (info["transform"], w, h))


def bench(dump, tmp):
    """Timings against cv2 in the same run (ratios only, never pass/fail)."""
    big = cv2.resize(photos()["astronaut"], (1920, 1080), interpolation=cv2.INTER_CUBIC)
    p = os.path.join(tmp, "big.jpg")
    cv2.imwrite(p, big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    out = os.path.join(tmp, "b.npy")
    reps = 50
    for case in (dict(name="stretch224 f32 nchw", size=(224, 224), **IMAGENET),
                 dict(name="letterbox640 f32", size=(640, 640), resize="letterbox"),
                 dict(name="crop224 area", size=(224, 224), resize="crop", short=256, interp="area")):
        _, info = run_dump(dump, p, out, *case_opts(case), "--time", reps)
        lens_ms = info["time_ms"][0]
        bgr = cv2.imread(p)
        best = 1e9
        for _ in range(reps):
            t0 = time.perf_counter()
            ref_from_array(bgr, case)
            best = min(best, (time.perf_counter() - t0) * 1e3)
        print("bench %-22s lens %.3f ms  cv2+numpy %.3f ms  ratio %.2f" % (case["name"], lens_ms, best,
                                                                          best / lens_ms))
        if case.get("resize", "stretch") == "stretch" and case.get("interp") != "area":
            # cv2.dnn.blobFromImage: OpenCV's own resize + normalise + NCHW in one call.
            mean = tuple(255 * m for m in case.get("mean", (0, 0, 0)))
            best = 1e9
            for _ in range(reps):
                t0 = time.perf_counter()
                cv2.dnn.blobFromImage(bgr, 1 / 255, case["size"], mean, swapRB=True)
                best = min(best, (time.perf_counter() - t0) * 1e3)
            print("bench %-22s lens %.3f ms  cv2.dnn.blobFromImage %.3f ms  ratio %.2f"
                  % (case["name"], lens_ms, best, best / lens_ms))
    # Decoding, in-process both: full size, and DCT-scaled for a 224 target.
    for opts, label in ((["--no-scaled"], "full"), (["--target", "224x224"], "scaled")):
        _, info = run_dump(dump, p, out, "--decode-only", *opts, "--time-decode", 20)
        print("bench decode 1920x1080 jpeg %-6s lens %.2f ms" % (label, info["decode_ms"][0]))
    best = 1e9
    for _ in range(20):
        t0 = time.perf_counter()
        cv2.imread(p)
        best = min(best, (time.perf_counter() - t0) * 1e3)
    print("bench decode 1920x1080 jpeg cv2.imread %.2f ms" % best)
    best = 1e9
    for _ in range(20):
        t0 = time.perf_counter()
        cv2.imread(p, cv2.IMREAD_REDUCED_COLOR_4)
        best = min(best, (time.perf_counter() - t0) * 1e3)
    print("bench decode 1920x1080 jpeg cv2.imread REDUCED_4 %.2f ms" % best)


def ref_from_array(bgr, case):
    W, H = case["size"]
    img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    interp = cv2.INTER_AREA if case.get("interp") == "area" else cv2.INTER_LINEAR
    h, w = img.shape[:2]
    if case.get("resize") == "letterbox":
        r = min(H / h, W / w)
        nw, nh = int(round(w * r)), int(round(h * r))
        res = cv2.resize(img, (nw, nh), interpolation=interp)
        top, left = (H - nh) // 2, (W - nw) // 2
        out = cv2.copyMakeBorder(res, top, H - nh - top, left, W - nw - left, cv2.BORDER_CONSTANT,
                                 value=(114, 114, 114))
    elif case.get("resize") == "crop":
        S = case.get("short")
        nw, nh = (S, int(S * h / w)) if w <= h else (int(S * w / h), S)
        res = cv2.resize(img, (nw, nh), interpolation=interp)
        top, left = int(round((nh - H) / 2.0)), int(round((nw - W) / 2.0))
        out = res[top:top + H, left:left + W]
    else:
        out = cv2.resize(img, (W, H), interpolation=interp)
    mean = np.array(case.get("mean", (0, 0, 0)), np.float32)
    std = np.array(case.get("std", (1, 1, 1)), np.float32)
    return np.ascontiguousarray(((out.astype(np.float32) / 255 - mean) / std).transpose(2, 0, 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("decode", "preprocess", "bench"))
    ap.add_argument("--dump", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lens-image-") as tmp:
        if a.what == "bench":
            bench(a.dump, tmp)
            return 0
        files = write_fixtures(tmp)
        if a.what == "decode":
            check_decode(a.dump, tmp, files)
        else:
            check_preprocess(a.dump, tmp, files)
    if FAILURES:
        print("%d failure(s)" % len(FAILURES))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
