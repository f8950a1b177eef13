#!/usr/bin/python3
"""Generate the small ONNX fixtures used by tests/unit/test_onnx_reader.c.

Run from anywhere with /usr/bin/python3 (needs onnx + numpy); writes next to
this script. The outputs are committed, so the C tests never need Python.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(model, name):
    onnx.save(model, os.path.join(HERE, name))


def ext_model(location, offset=None, length=None):
    """Y = Add(X, W) with W (float [2,3]) stored as external data."""
    w = TensorProto()
    w.name = "W"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([2, 3])
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = w.external_data.add()
            e.key = k
            e.value = str(v)
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3])
    node = helper.make_node("Add", ["X", "W"], ["Y"], name="add")
    g = helper.make_graph([node], "ext", [x], [y], initializer=[w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="lens-fixtures")


def main():
    # 16 bytes of padding, then W = 1..6 (float32 little-endian).
    w = np.arange(1, 7, dtype="<f4")
    with open(os.path.join(HERE, "ext_weights.bin"), "wb") as f:
        f.write(b"\xAB" * 16)
        f.write(w.tobytes())
    save(ext_model("ext_weights.bin", 16, 24), "ext_valid.onnx")
    save(ext_model("../ext_weights.bin", 16, 24), "ext_dotdot.onnx")
    save(ext_model("/etc/passwd", 0, 24), "ext_absolute.onnx")
    save(ext_model("ext_weights.bin", 32, 24), "ext_past_end.onnx")
    save(ext_model("ext_weights.bin", 16, 20), "ext_bad_length.onnx")
    # The C test creates link.bin -> a file outside the temp folder.
    save(ext_model("link.bin", 0, 24), "ext_symlink.onnx")

    # A small model exercising most of the reader: Constant nodes of each
    # kind, an If with subgraphs that read outer values, symbolic dims,
    # value_info, metadata, attributes of several types.
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 3])
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 3])
    bias = numpy_helper.from_array(np.array([0.5, -1.0, 2.0], dtype=np.float32), "bias")
    half = numpy_helper.from_array(np.array([1, 2, 3], dtype=np.float16), "half")
    c_tensor = helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(
        np.array([[1, 2, 3]], dtype=np.int64), "kt"))
    c_float = helper.make_node("Constant", [], ["cf"], value_float=2.5)
    c_ints = helper.make_node("Constant", [], ["ci"], value_ints=[4, 5, -6])
    add = helper.make_node("Add", ["X", "bias"], ["t0"], name="add0")
    then_g = helper.make_graph(
        [helper.make_node("Mul", ["t0", "cf"], ["then_out"], name="mul_then")], "then_branch", [],
        [helper.make_tensor_value_info("then_out", TensorProto.FLOAT, ["N", 3])])
    else_g = helper.make_graph(
        [helper.make_node("Identity", ["t0"], ["else_out"], name="id_else")], "else_branch", [],
        [helper.make_tensor_value_info("else_out", TensorProto.FLOAT, ["N", 3])])
    iff = helper.make_node("If", ["cond"], ["Y"], name="if0", then_branch=then_g, else_branch=else_g)
    attrs = helper.make_node("LeakyRelu", ["t0"], ["unused"], name="attrs", alpha=0.25)
    attrs.attribute.extend([
        helper.make_attribute("pads", [1, 2, 3, 4]),
        helper.make_attribute("scales", [0.5, 1.5]),
        helper.make_attribute("mode", "nearest"),
        helper.make_attribute("names", ["a", "bc"]),
    ])
    g = helper.make_graph([c_tensor, c_float, c_ints, add, attrs, iff], "misc", [x, cond],
                          [y, helper.make_tensor_value_info("unused", TensorProto.FLOAT, None)],
                          initializer=[bias, half],
                          value_info=[helper.make_tensor_value_info("t0", TensorProto.FLOAT, ["N", 3]),
                                      helper.make_tensor_value_info("stale", TensorProto.FLOAT, [1])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 2)],
                          producer_name="lens-fixtures", producer_version="1.0")
    m.model_version = 7
    helper.set_model_props(m, {"author": "lens", "license": "MIT"})
    save(m, "misc.onnx")


if __name__ == "__main__":
    main()
