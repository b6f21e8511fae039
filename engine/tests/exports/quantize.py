#!/usr/bin/env python3
"""Writes the int8 fixtures of engine/src/exporters.rs: torch-opset13.onnx quantized by
onnxruntime's own quantizer (PyPI onnxruntime 1.30, `quantize_static`, calibrated on 16
shifted copies of the fixture's pixels) in both of its formats — QDQ (QuantizeLinear /
DequantizeLinear around float operators) and QOperator (QLinearConv, QLinearMatMul, …) —
with the outputs onnxruntime computes for the fixture's input. Run it with a Python that
has onnx and onnxruntime (`pip install onnx onnxruntime`): `python quantize.py`.
"""
import json
import os

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "torch-opset13.onnx")
pixels = np.array(json.load(open(os.path.join(HERE, "torch-opset13.json")))["input"], dtype=np.float32)
x = pixels.reshape(1, 1, 28, 28)


class Shifted(CalibrationDataReader):
    def __init__(self):
        self.batches = iter([{"input": np.roll(x, k, axis=3)} for k in range(16)])

    def get_next(self):
        return next(self.batches, None)


for name, fmt in (("ort-int8-qdq", QuantFormat.QDQ), ("ort-int8-qoperator", QuantFormat.QOperator)):
    path = os.path.join(HERE, f"{name}.onnx")
    quantize_static(SOURCE, path, Shifted(), quant_format=fmt, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8)
    y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    ops = sorted({n.op_type for n in __import__("onnx").load(path).graph.node})
    with open(os.path.join(HERE, f"{name}.json"), "w") as out:
        json.dump({"exporter": f"onnxruntime {ort.__version__} quantize_static, {fmt.name}", "operators": ops,
                   "input_shape": [1, 1, 28, 28], "input": [float(v) for v in pixels],
                   "output": [float(v) for v in y.flatten()]}, out)
        out.write("\n")
