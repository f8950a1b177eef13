#!/usr/bin/python3
"""Hand-made regression inputs for bugs found by reading the code during the
fuzzing work (the fuzzer's own finds are saved as it wrote them). Writes into
regress/model/; replayed by ctest in every build (see CMakeLists.txt)."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regress", "model")


def save(nodes, inputs, outputs, inits, name, opset=20):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9
    os.makedirs(OUT, exist_ok=True)
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


# GridSample, reflection padding, NaN and huge grid values: the int64 cast in
# gs_reflect was UB (src/ops/misc_gridsample.c).
grid = np.array([np.nan, 1e30, -np.inf, 0.5], np.float32).reshape(1, 1, 2, 2)
save([helper.make_node("GridSample", ["X", "grid"], ["Y"], padding_mode="reflection", mode=m, align_corners=a,
                       name=f"gs_{m}_{a}") for m, a in [("linear", 0)]],
     [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, 2, 2])],
     [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
     [numpy_helper.from_array(grid, "grid")], "gridsample_reflect_nan")
