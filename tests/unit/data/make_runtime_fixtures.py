#!/usr/bin/python3
"""Small ONNX models for the runtime unit tests (tests/unit/test_runtime.c).
Run from this folder: /usr/bin/python3 make_runtime_fixtures.py"""
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

def save(graph, name, opset=13):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="lens-tests")
    onnx.checker.check_model(m)
    onnx.save(m, name)

# y = Reshape(Relu(X + B), [-1]) with the shape computed by a Shape subgraph:
# Shape(X) -> Gather(0) -> Unsqueeze -> Concat([n, -1]) -> Reshape, then flatten
B = numpy_helper.from_array(np.array([[1.0, -2.0, 3.0, -4.0]], np.float32), "B")
minus1 = numpy_helper.from_array(np.array([-1], np.int64), "minus1")
zero = numpy_helper.from_array(np.array(0, np.int64), "zero")
axes0 = numpy_helper.from_array(np.array([0], np.int64), "axes0")
nodes = [
    helper.make_node("Add", ["X", "B"], ["s"], name="add"),
    helper.make_node("Relu", ["s"], ["r"], name="relu"),
    helper.make_node("Identity", ["r"], ["r2"], name="ident"),
    helper.make_node("Shape", ["X"], ["shp"], name="shape"),
    helper.make_node("Gather", ["shp", "zero"], ["n"], name="gather", axis=0),
    helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsq"),
    helper.make_node("Concat", ["n1", "minus1"], ["newshape"], name="concat", axis=0),
    helper.make_node("Reshape", ["r2", "newshape"], ["Y"], name="reshape"),
    helper.make_node("Mul", ["r2", "r2"], ["Z"], name="square"),
]
g = helper.make_graph(nodes, "dyn",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", None]),
     helper.make_tensor_value_info("Z", TensorProto.FLOAT, ["N", 4])],
    [B, minus1, zero, axes0])
save(g, "dyn_shape.onnx")

# If with outer-scope references: out = cond ? X*2 : X+10
two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
ten = numpy_helper.from_array(np.array(10.0, np.float32), "ten")
then_g = helper.make_graph([helper.make_node("Mul", ["X", "two"], ["t"])], "then", [],
                           [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])
else_g = helper.make_graph([helper.make_node("Add", ["X", "ten"], ["e"])], "else", [],
                           [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
g = helper.make_graph([helper.make_node("If", ["C"], ["Y"], then_branch=then_g, else_branch=else_g)], "iff",
    [helper.make_tensor_value_info("C", TensorProto.BOOL, []),
     helper.make_tensor_value_info("X", TensorProto.FLOAT, [3])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [3])], [two, ten])
save(g, "if_outer.onnx")

# Conv + BatchNormalization + Add + Relu: the optimiser's fusions.
rng = np.random.default_rng(0)
W = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W")
Bc = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "Bc")
W2 = numpy_helper.from_array(rng.standard_normal((4, 4, 1, 1)).astype(np.float32), "W2")
sc = numpy_helper.from_array(rng.uniform(0.5, 1.5, 4).astype(np.float32), "sc")
bi = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "bi")
mu = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "mu")
var = numpy_helper.from_array(rng.uniform(0.5, 2, 4).astype(np.float32), "var")
nodes = [
    helper.make_node("Conv", ["X", "W", "Bc"], ["c1"], pads=[1, 1, 1, 1]),
    helper.make_node("BatchNormalization", ["c1", "sc", "bi", "mu", "var"], ["b1"]),
    helper.make_node("Relu", ["b1"], ["r1"]),
    helper.make_node("Conv", ["r1", "W2"], ["c2"]),
    helper.make_node("Add", ["c2", "r1"], ["a"]),
    helper.make_node("Relu", ["a"], ["Y"]),
]
g = helper.make_graph(nodes, "fuse",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3, 5, 6])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4, 5, 6])],
    [W, Bc, W2, sc, bi, mu, var])
save(g, "conv_fuse.onnx")

# Expected output for conv_fuse with X = arange/10 (computed with numpy)
X = (np.arange(1 * 3 * 5 * 6, dtype=np.float32) / 10.0 - 4.0).reshape(1, 3, 5, 6)
def conv(x, w, b=None, pad=0):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n, o, h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1), np.float64)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = np.einsum("ncij,ocij->no", xp[:, :, i:i + kh, j:j + kw], w)
    if b is not None:
        out += b[None, :, None, None]
    return out
a = lambda t: numpy_helper.to_array(t)
c1 = conv(X, a(W), a(Bc), 1)
b1 = (c1 - a(mu)[None, :, None, None]) / np.sqrt(a(var)[None, :, None, None] + 1e-5) * a(sc)[None, :, None, None] + a(bi)[None, :, None, None]
r1 = np.maximum(b1, 0)
Y = np.maximum(conv(r1, a(W2)) + r1, 0).astype(np.float32)
Y.tofile("conv_fuse_expected.f32")
print("written")

# Regression: Add(Conv(X), GlobalAveragePool(X2)) where the pooled value ([1,4,1,1])
# is computed before the Conv. The optimiser fuses the Add into the Conv without
# knowing the shapes; the Conv must then broadcast (it used to fail at run time).
rng = np.random.default_rng(1)
Wb = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W")
nodes = [
    helper.make_node("GlobalAveragePool", ["X2"], ["g"]),
    helper.make_node("Conv", ["X", "W"], ["c"], pads=[1, 1, 1, 1]),
    helper.make_node("Add", ["c", "g"], ["s"]),
    helper.make_node("Relu", ["s"], ["Y"]),
]
g = helper.make_graph(nodes, "conv_bcast_residual",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3, 5, 5]),
     helper.make_tensor_value_info("X2", TensorProto.FLOAT, [1, 4, 5, 5])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4, 5, 5])], [Wb])
save(g, "conv_bcast_residual.onnx")
