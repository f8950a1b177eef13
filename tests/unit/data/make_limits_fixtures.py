#!/usr/bin/python3
"""Fixtures of tests/unit/test_limits.c (run from any folder with
/usr/bin/python3; writes next to this file):

  limits_expand.onnx   Expand(X float [n], shape int64 [k]) -> Y: the output
                       size is chosen at run time by the shape input
  limits_chain.onnx    X float [n] -> 64 Relu nodes in a chain -> Y
  limits_nested.onnx   If nested 5 deep (each then/else branch holds the
                       next If; the innermost returns Neg of the outer x)
  limits_fold.onnx     three Expand nodes on constants (each 1 MiB of float
                       when folded) added to X [262144]
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(graph, name, opset=17):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="lens-tests")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(HERE, name))


def expand():
    g = helper.make_graph(
        [helper.make_node("Expand", ["X", "shape"], ["Y"], name="expand")], "limits_expand",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["n"]),
         helper.make_tensor_value_info("shape", TensorProto.INT64, ["k"])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["a", "b"])])
    save(g, "limits_expand.onnx")


def chain():
    nodes, prev = [], "X"
    for i in range(64):
        out = "Y" if i == 63 else f"r{i}"
        nodes.append(helper.make_node("Relu", [prev], [out], name=f"relu{i}"))
        prev = out
    g = helper.make_graph(nodes, "limits_chain", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["n"])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["n"])])
    save(g, "limits_chain.onnx")


def nested(depth=5):
    def level(d):
        out = f"y{d}"
        if d == depth:
            body = [helper.make_node("Neg", ["x"], [out], name=f"neg{d}")]
        else:
            sub = level(d + 1)
            body = [helper.make_node("If", ["cond"], [out], name=f"if{d + 1}", then_branch=sub, else_branch=sub)]
        return helper.make_graph(body, f"level{d}", [], [helper.make_tensor_value_info(out, TensorProto.FLOAT, [2])])
    g = helper.make_graph(
        [helper.make_node("If", ["cond"], ["Y"], name="if1", then_branch=level(1), else_branch=level(1))],
        "limits_nested",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])])
    save(g, "limits_nested.onnx")


def fold():
    n = 1 << 18
    inits = [numpy_helper.from_array(np.array([1.5], np.float32), "one"),
             numpy_helper.from_array(np.array([n], np.int64), "shape")]
    nodes = []
    prev = "X"
    for i in range(3):
        nodes.append(helper.make_node("Expand", ["one", "shape"], [f"e{i}"], name=f"expand{i}"))
        out = "Y" if i == 2 else f"s{i}"
        nodes.append(helper.make_node("Add", [prev, f"e{i}"], [out], name=f"add{i}"))
        prev = out
    g = helper.make_graph(nodes, "limits_fold", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [n])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n])], initializer=inits)
    save(g, "limits_fold.onnx")


if __name__ == "__main__":
    expand()
    chain()
    nested()
    fold()
