#!/usr/bin/python3
"""End-to-end tests of the lens command-line tool.

Usage: test_cli.py --lens PATH --work DIR

Builds small models with onnx.helper into DIR at test time and checks `lens run`
(values, .npy and .pb inputs, dtypes), `lens info` (text and --json, unknown operators),
`lens bench --json`, --help/--version and the exit statuses (0 ok, 1 failed, 2 usage or
setup error). Exit status 0 if every check passed, 1 otherwise.
"""
import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FAILS = []


def check(cond, what, detail=""):
    if cond:
        print("ok   %s" % what)
    else:
        print("FAIL %s%s" % (what, (": " + detail) if detail else ""))
        FAILS.append(what)


def lens(*args):
    p = subprocess.run([LENS] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, errors="replace", timeout=120)
    return p.returncode, p.stdout, p.stderr


def save_model(nodes, inputs, outputs, path, opset=17, extra_opsets=(), metadata=None):
    g = helper.make_graph(nodes, "g", inputs, outputs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)] +
                          [helper.make_opsetid(d, v) for d, v in extra_opsets], producer_name="lens-tests")
    if metadata:
        helper.set_model_props(m, metadata)
    onnx.save(m, path)
    return path


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


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

    addrelu = save_model([helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Relu", ["s"], ["y"])],
                         [vi("a", TensorProto.FLOAT, ["batch", 3]), vi("b", TensorProto.FLOAT, ["batch", 3])],
                         [vi("y", TensorProto.FLOAT, ["batch", 3])], j("addrelu.onnx"),
                         metadata={"lens.test": "1", "note": 'quote " and \\ backslash'})
    relu = save_model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", TensorProto.FLOAT, [1, 4])],
                      [vi("y", TensorProto.FLOAT, [1, 4])], j("relu.onnx"))
    unknown = save_model([helper.make_node("FrobnicateX", ["x"], ["t"], domain="com.example"),
                          helper.make_node("Relu", ["t"], ["y"])],
                         [vi("x", TensorProto.FLOAT, [2])], [vi("y", TensorProto.FLOAT, [2])], j("unknown.onnx"),
                         extra_opsets=[("com.example", 1)])
    dtypes = [("f32", TensorProto.FLOAT, np.float32), ("f64", TensorProto.DOUBLE, np.float64),
              ("f16", TensorProto.FLOAT16, np.float16), ("i64", TensorProto.INT64, np.int64),
              ("i32", TensorProto.INT32, np.int32), ("u8", TensorProto.UINT8, np.uint8),
              ("i8", TensorProto.INT8, np.int8), ("bo", TensorProto.BOOL, np.bool_)]
    ident = save_model([helper.make_node("Identity", [n], ["o_" + n]) for n, _, _ in dtypes],
                       [vi(n, e, [2, 3]) for n, e, _ in dtypes], [vi("o_" + n, e, [2, 3]) for n, e, _ in dtypes],
                       j("identity.onnx"))

    rng = np.random.default_rng(0)
    av = rng.standard_normal((2, 3)).astype(np.float32)
    bv = rng.standard_normal((2, 3)).astype(np.float32)
    np.save(j("a.npy"), av)
    np.save(j("b.npy"), bv)

    # --- run: named inputs, values checked with numpy
    rc, out, err = lens("run", addrelu, "--input", "a=" + j("a.npy"), "--input", "b=" + j("b.npy"),
                        "--output-dir", j("out1"))
    check(rc == 0, "run exits 0", err)
    check(out.strip() == "y [2, 3] float", "run prints name, shape, dtype", repr(out))
    if rc == 0:
        got = np.load(j("out1", "output_0.npy"))
        check(got.dtype == np.float32 and got.shape == (2, 3), "output_0.npy dtype and shape", str(got.dtype))
        check(np.allclose(got, np.maximum(av + bv, 0), rtol=1e-6, atol=1e-7), "output_0.npy values")
    rc, out, err = lens("run", addrelu, "-i", "b=" + j("b.npy"), "--input=a=" + j("a.npy"), "-o", j("out1b"),
                        "--threads", "2")
    check(rc == 0 and os.path.exists(j("out1b", "output_0.npy")), "run with short/equals flags and --threads", err)

    # --- run: single input, plain --input FILE, a TensorProto .pb, nested output dir
    xv = np.array([[-1, 2, -3, 4]], np.float32)
    with open(j("x.pb"), "wb") as f:
        f.write(numpy_helper.from_array(xv, "x").SerializeToString())
    rc, out, err = lens("run", relu, "--input", j("x.pb"), "--output-dir", j("deep", "er", "out"))
    check(rc == 0, "run with a .pb input and a nested --output-dir", err)
    if rc == 0:
        check(np.array_equal(np.load(j("deep", "er", "out", "output_0.npy")), np.maximum(xv, 0)), "relu values")

    # --- run: every .npy dtype round-trips through Identity
    args = []
    vals = {}
    for n, _, npt in dtypes:
        v = (rng.standard_normal((2, 3)) * 50).astype(npt) if npt != np.bool_ else rng.random((2, 3)) > 0.5
        vals[n] = v
        np.save(j(n + ".npy"), v)
        args += ["--input", "%s=%s" % (n, j(n + ".npy"))]
    rc, out, err = lens("run", ident, *args, "--output-dir", j("out_id"))
    check(rc == 0, "run on eight dtypes", err)
    if rc == 0:
        for i, (n, _, npt) in enumerate(dtypes):
            got = np.load(j("out_id", "output_%d.npy" % i))
            check(got.dtype == np.dtype(npt) and np.array_equal(got, vals[n]), "npy round trip %s" % n,
                  "%s %s" % (got.dtype, got))

    # --- .npy format versions and hostile files
    with open(j("a_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, av, version=(2, 0))
    rc, _, err = lens("run", addrelu, "-i", "a=" + j("a_v2.npy"), "-i", "b=" + j("b.npy"), "-o", j("out_v2"))
    check(rc == 0 and np.allclose(np.load(j("out_v2", "output_0.npy")), np.maximum(av + bv, 0)), "npy version 2.0",
          err)
    np.save(j("fortran.npy"), np.asfortranarray(av))
    rc, _, err = lens("run", addrelu, "-i", "a=" + j("fortran.npy"), "-i", "b=" + j("b.npy"), "-o", j("out_f"))
    check(rc == 2 and "Fortran" in err, "fortran_order npy refused with exit 2", err)
    np.save(j("big.npy"), av.astype(">f4"))
    rc, _, err = lens("run", addrelu, "-i", "a=" + j("big.npy"), "-i", "b=" + j("b.npy"), "-o", j("out_f"))
    check(rc == 2 and "big-endian" in err, "big-endian npy refused with exit 2", err)
    raw = open(j("a.npy"), "rb").read()
    open(j("trunc.npy"), "wb").write(raw[:-4])
    rc, _, err = lens("run", addrelu, "-i", "a=" + j("trunc.npy"), "-i", "b=" + j("b.npy"), "-o", j("out_f"))
    check(rc == 2 and "bytes" in err, "truncated npy refused with exit 2", err)
    # Hand-made hostile headers: each refused with exit 2.
    def npy(header, data=b"", version=1, hlen=None):
        h = header.encode()
        h += b" " * ((-(len(h) + 11)) % 64) + b"\n"
        n = len(h) if hlen is None else hlen
        pre = b"\x93NUMPY" + bytes([version, 0]) + (n.to_bytes(2, "little") if version == 1 else n.to_bytes(4, "little"))
        return pre + h + data
    d16 = b"\0" * 16
    hostile = {
        "overflowing dims": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", d16),
        "dim over int64": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", d16),
        "rank 9": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,4), }", d16),
        "negative dim": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", d16),
        "data too short": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 5), }", d16),
        "data too long": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", d16),
        "header past the end": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }", d16, hlen=60000),
        "version 2 huge header": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }", d16, 2,
                                     hlen=0xFFFFFFF0),
        "version 9": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }", d16, 9),
        "complex dtype": npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1, 2), }", d16),
        "object dtype": npy("{'descr': '|O', 'fortran_order': False, 'shape': (1, 2), }", d16),
        "structured dtype": npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1, 4), }", d16),
        "duplicate key": npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }", d16),
        "unknown key": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), 'x': 1, }", d16),
        "missing shape": npy("{'descr': '<f4', 'fortran_order': False, }", d16),
        "unterminated string": npy("{'descr': '<f4, 'fortran_order': False, 'shape': (1, 4), }", d16),
        "no dict": npy("[1, 2, 3]", d16),
        "NUL in header": npy("{'descr': '<f4', 'fortran_order': False,\0 'shape': (1, 4), }", d16),
        "only magic": b"\x93NUMPY",
    }
    for what, blob in hostile.items():
        open(j("hostile.npy"), "wb").write(blob)
        rc, _, err = lens("run", relu, "-i", j("hostile.npy"), "-o", j("out_h"))
        check(rc == 2 and "hostile.npy" in err, "npy %s -> exit 2 with a message" % what, "rc %d: %s" % (rc, err))
    # Equivalent spellings numpy or others may write: all read.
    ok_headers = {
        "double quotes, keys reordered": "{\"shape\": (1, 4), \"fortran_order\": False, \"descr\": \"<f4\"}",
        "Python 2 longs, no trailing comma": "{'descr': '<f4', 'fortran_order': False, 'shape': (1L, 4L)}",
        "fortran_order True on a vector": "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 4), }",
    }
    for what, header in ok_headers.items():
        open(j("okh.npy"), "wb").write(npy(header, xv.tobytes()))
        rc, _, err = lens("run", relu, "-i", j("okh.npy"), "-o", j("out_okh"))
        check(rc == 0 and np.array_equal(np.load(j("out_okh", "output_0.npy")), np.maximum(xv, 0)),
              "npy %s -> read" % what, err)

    # Mutated headers: never a crash, always 0 or 2.
    hlen = 10 + raw[8] + 256 * raw[9]
    crashes = []
    r = random.Random(1)
    for k in range(150):
        b = bytearray(raw)
        for _ in range(r.randint(1, 4)):
            pos = r.randrange(0, hlen)
            b[pos] = r.choice([r.randrange(256), ord("9"), ord(","), ord("("), ord("'"), 0])
        if r.random() < 0.2:
            b = b[:r.randrange(len(b))]
        open(j("fuzz.npy"), "wb").write(b)
        rc, _, err = lens("run", relu, "-i", j("fuzz.npy"), "-o", j("out_fuzz"))
        if rc not in (0, 1, 2) or "Sanitizer" in err or "runtime error" in err:
            crashes.append((k, rc, err[-300:]))
    check(not crashes, "150 mutated .npy headers: no crash", str(crashes[:2]))

    # --- run: input name errors, usage errors
    rc, _, err = lens("run", addrelu, "--input", "a=" + j("a.npy"), "--output-dir", j("out2"))
    check(rc == 2 and "'b'" in err, "missing input -> exit 2 naming it", err)
    rc, _, err = lens("run", addrelu, "-i", "a=" + j("a.npy"), "-i", "b=" + j("b.npy"), "-i", "zz=" + j("a.npy"),
                      "-o", j("out2"))
    check(rc == 2 and "'zz'" in err and "a [batch, 3]" in err, "unknown input -> exit 2, lists the inputs", err)
    rc, _, err = lens("run", addrelu, "-i", j("a.npy"), "-o", j("out2"))
    check(rc == 2, "unnamed input on a two-input model -> exit 2", err)
    rc, _, err = lens("run", relu, "-i", j("missing.npy"), "-o", j("out2"))
    check(rc == 2 and "missing.npy" in err, "unreadable input file -> exit 2", err)
    rc, _, err = lens("run", relu, "-i", j("b.npy"), "-o", j("out2"))
    check(rc == 1, "input of the wrong shape -> run fails, exit 1", err)
    rc, _, err = lens("run", j("nope.onnx"), "-i", j("x.pb"), "-o", j("out2"))
    check(rc == 2 and "nope.onnx" in err, "run: missing model -> exit 2", err)
    rc, _, err = lens("run", relu, "-i", j("x.pb"))
    check(rc == 2 and "Usage" in err, "run without --output-dir -> usage, exit 2", err)
    rc, _, err = lens("run", relu, "--frobnicate")
    check(rc == 2 and "--frobnicate" in err, "run: unknown flag -> exit 2", err)
    rc, _, err = lens("run", relu, "-i", j("x.pb"), "-o", j("o"), "--threads", "lots")
    check(rc == 2, "run: bad --threads -> exit 2", err)
    rc, out, err = lens()
    check(rc == 2 and "Usage" in err and not out, "no command -> usage on stderr, exit 2")
    rc, out, err = lens("frobnicate")
    check(rc == 2 and "frobnicate" in err and not out, "unknown command -> exit 2")
    rc, out, err = lens("--frobnicate")
    check(rc == 2 and not out, "unknown top-level flag -> exit 2")

    # --- help and version
    rc, out, _ = lens("--help")
    check(rc == 0 and all(c in out for c in ("run", "info", "bench")), "lens --help lists the commands")
    for cmd in ("run", "info", "bench"):
        rc, out, err = lens(cmd, "--help")
        check(rc == 0 and out.startswith("Usage: lens " + cmd) and not err, "lens %s --help" % cmd)
    rc, out, _ = lens("--version")
    check(rc == 0 and out.startswith("lens "), "lens --version")

    # --- info
    rc, out, err = lens("info", addrelu)
    check(rc == 0 and "[batch, 3]" in out and "Relu" in out and "lens.test" in out, "info text", out + err)
    rc, out, err = lens("info", addrelu, "--json")
    try:
        info = json.loads(out)
    except ValueError as e:
        info = None
        check(False, "info --json parses", "%s: %r" % (e, out))
    if info is not None:
        check([i["name"] for i in info["inputs"]] == ["a", "b"], "info --json lists the inputs", out)
        check(info["inputs"][0]["shape"] == ["batch", 3] and info["inputs"][0]["dtype"] == "float",
              "info --json input shape with symbolic dim", out)
        check(info["operators"] == {"Add": 1, "Relu": 1} and info["runnable"] is True, "info --json operators")
        check(info["metadata"].get("note") == 'quote " and \\ backslash', "info --json escapes metadata")
        check(info["ir_version"] >= 3 and {"domain": "ai.onnx", "version": 17} in info["opsets"], "info --json opsets")
    rc, out, err = lens("info", unknown)
    check(rc == 2 and "FrobnicateX" in out and "Relu" in out, "info on unknown op: exit 2, lists it", out + err)
    rc, out, err = lens("info", unknown, "--json")
    try:
        info = json.loads(out)
        check(rc == 2 and any("FrobnicateX" in s for s in info["unsupported_operators"]) and
              info["runnable"] is False and info["inputs"][0]["name"] == "x", "info --json on unknown op", out)
    except ValueError:
        check(False, "info --json on unknown op parses", out)
    rc, _, err = lens("run", unknown, "-i", j("x.pb"), "-o", j("o"))
    check(rc == 2 and "FrobnicateX" in err, "run on unknown op: exit 2 naming it", err)
    rc, _, err = lens("info", j("nope.onnx"))
    check(rc == 2 and "nope.onnx" in err, "info: missing model -> exit 2", err)
    open(j("garbage.onnx"), "wb").write(b"\xff" * 100)
    rc, _, err = lens("info", j("garbage.onnx"))
    check(rc == 2 and err, "info: garbage file -> exit 2", err)

    # --- bench
    rc, out, err = lens("bench", addrelu, "--json", "--runs", "5", "--warmup", "1", "--threads", "1")
    try:
        b = json.loads(out)
        keys = ("min_ms", "median_ms", "mean_ms", "runs", "threads", "model")
        check(rc == 0 and all(k in b for k in keys) and b["runs"] == 5 and b["threads"] == 1 and
              0 <= b["min_ms"] <= b["median_ms"], "bench --json has the required keys", out)
        check(b["inputs"][0]["shape"] == [1, 3], "bench: dynamic dims become 1", out)
    except ValueError:
        check(False, "bench --json parses", out + err)
    rc, out, err = lens("bench", addrelu, "--json", "--runs", "2", "--shape", "a=4x3", "--shape", "b=4x3",
                        "--profile")
    try:
        b = json.loads(out)
        check(rc == 0 and b["inputs"][0]["shape"] == [4, 3] and "Add" in b.get("profile", ""),
              "bench --shape and --profile in JSON", out)
    except ValueError:
        check(False, "bench --json --profile parses", out + err)
    rc, out, err = lens("bench", addrelu, "--runs", "3", "--profile")
    check(rc == 0 and "median" in out and "Relu" in out, "bench text with profile", out + err)
    # bench reports where the layout pass put the model: two 3x3 stride-2
    # convs (never Winograd-class) forced channels-last run as one region
    # with one Transpose at each edge; NCHW keeps the graph as loaded.
    rng = np.random.default_rng(3)
    convs = j("convs.onnx")
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["y1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
         helper.make_node("Relu", ["y1"], ["r1"]),
         helper.make_node("Conv", ["r1", "w2"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])],
        "g", [vi("x", TensorProto.FLOAT, [1, 16, 32, 32])], [vi("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(rng.standard_normal((32, 16, 3, 3)).astype(np.float32), "w1"),
         numpy_helper.from_array(rng.standard_normal((32, 32, 3, 3)).astype(np.float32), "w2")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), convs)
    simd = os.environ.get("LENS_ISA", "") != "ref"
    for layout, nhwc, tr in (("nchw", 0, 0), ("nhwc", 2, 2)):
        env = dict(os.environ, LENS_LAYOUT=layout)
        p = subprocess.run([LENS, "bench", convs, "--json", "--runs", "1", "--warmup", "0"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, timeout=120)
        try:
            lay = json.loads(p.stdout)["layout"]
            want = (nhwc, tr) if simd else (0, 0)
            check(p.returncode == 0 and lay["nodes"] == 2 + tr and (lay["nhwc_nodes"], lay["transposes"]) == want
                  and lay["transposes_loaded"] == 0, "bench --json layout with LENS_LAYOUT=%s" % layout, p.stdout)
        except (ValueError, KeyError):
            check(False, "bench --json layout parses (%s)" % layout, p.stdout + p.stderr)
    rc, out, _ = lens("bench", convs, "--runs", "1", "--warmup", "0")
    check(rc == 0 and "layout:" in out and "Transposes" in out, "bench text prints the layout line", out)
    rc, _, err = lens("bench", addrelu, "--runs", "0")
    check(rc == 2, "bench --runs 0 -> exit 2", err)
    rc, _, err = lens("bench", addrelu, "--shape", "zz=1x3")
    check(rc == 2 and "zz" in err, "bench --shape of an unknown input -> exit 2", err)
    rc, _, err = lens("bench", j("nope.onnx"))
    check(rc == 2 and "nope.onnx" in err, "bench: missing model -> exit 2", err)

    print("%d check(s) failed" % len(FAILS) if FAILS else "all checks passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
