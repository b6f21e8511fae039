#!/usr/bin/env python3
"""Writes the exporter fixtures of engine/src/exporters.rs: small classifiers as PyTorch's
own exporter writes them (Debian's python3-torch 1.13), with the outputs PyTorch computes
for a fixed input. Each is a file people actually bring: BatchNormalization left unfused
(no constant folding, training mode preserved), ReLU6 (Clip with attributes at opset 9, with min/max inputs from
opset 11), the `x.view(x.size(0), -1)` flatten (Shape → Gather → Unsqueeze → Concat →
Reshape), a dynamic batch named `batch_size`, opsets 9 to 17; one ends in Softmax, one
takes channels-last input as a Keras-style model does. Deterministic: run it again and
the files come out the same (seeded weights; `python3 make.py` here).
"""
import io
import json
import os

import torch

torch.manual_seed(7)
HERE = os.path.dirname(os.path.abspath(__file__))


class Net(torch.nn.Module):
    def __init__(self, softmax=False, channels_last=False):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, stride=2)
        self.bn1 = torch.nn.BatchNorm2d(4)
        self.conv2 = torch.nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8 * 7 * 7, 10)
        self.softmax, self.channels_last = softmax, channels_last
        # Statistics that are not the identity, so an ignored BatchNormalization shows.
        for bn in (self.bn1, self.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-0.2, 0.2)

    def forward(self, x):
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        x = torch.nn.functional.relu6(self.bn1(self.conv1(x)))
        x = torch.nn.functional.relu6(self.bn2(self.conv2(x)))
        # contiguous(): a permuted input keeps its memory format through the convolutions
        # (the ONNX export has no node for it).
        x = self.fc(x.contiguous().view(x.size(0), -1))
        return torch.softmax(x, dim=1) if self.softmax else x


def export(name, net, opset):
    net.eval()
    shape = (1, 28, 28, 1) if net.channels_last else (1, 1, 28, 28)
    # Pixels in [0, 1] as a pattern, the same for every fixture.
    flat = torch.tensor([((i * 37) % 256) / 255.0 for i in range(28 * 28)], dtype=torch.float32)
    x = flat.reshape(shape)
    with torch.no_grad():
        y = net(x)
    f = io.BytesIO()
    # PRESERVE on an eval-mode model: torch 1.13's default (EVAL) folds BatchNorm into the
    # convolution even without constant folding; this keeps the BatchNormalization node.
    torch.onnx.export(net, x, f, opset_version=opset, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch_size"}, "output": {0: "batch_size"}})
    with open(os.path.join(HERE, f"{name}.onnx"), "wb") as out:
        out.write(f.getvalue())
    with open(os.path.join(HERE, f"{name}.json"), "w") as out:
        json.dump({"exporter": f"torch.onnx {torch.__version__}, opset {opset}",
                   "input_shape": list(shape), "input": [round(float(v), 7) for v in flat],
                   "output": [float(v) for v in y.flatten()]}, out)
        out.write("\n")


net = Net()
for opset in (9, 11, 13, 17):
    export(f"torch-opset{opset}", net, opset)
soft = Net(softmax=True)
soft.load_state_dict(net.state_dict())
export("torch-softmax-opset13", soft, 13)
nhwc = Net(channels_last=True)
nhwc.load_state_dict(net.state_dict())
export("torch-channels-last-opset13", nhwc, 13)
