"""The training pipeline's compute worker: one network, trained with PyTorch on the CPU.

`distill` (Rust) keeps everything that decides what a model learns: the data and its
split, the views and random erasing, the teacher's soft targets, the learning-rate
schedule, early stopping and checkpoint choice, BatchNorm refresh, export and scoring.
This process only runs the network: forward, backward and the AdamW step, because PyTorch's
CPU convolutions (oneDNN) train the teacher 2.8x faster than burn's flex backend on an
AVX2 machine (145 s against 403 s an epoch, measured side by side on 2026-12-03).

Protocol (stdin -> stdout, little-endian): a request is one JSON line, then the raw
payloads its header announces; a reply is one JSON line ({"error": ...} on failure), then
its payload ("bytes" long). Images are f32 [n, 1, 28, 28], labels i32 [n], logits f32 [n, classes].
"""

import json
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class Cnn(nn.Module):
    """The family of distill/src/model.rs: stages of 3x3 conv (bias) + BatchNorm + ReLU,
    2x2 max-pool between stages, global average pooling, one linear layer."""

    def __init__(self, stages, classes):
        super().__init__()
        self.stages = nn.ModuleList()
        cin = 1
        for widths in stages:
            blocks = nn.ModuleList()
            for c in widths:
                # Same momentum and eps as burn's BatchNorm (0.1, 1e-5): the Rust side's
                # refresh and fold assume them.
                blocks.append(nn.Sequential(nn.Conv2d(cin, c, 3, padding=1), nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)))
                cin = c
            self.stages.append(blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        last = len(self.stages) - 1
        for i, blocks in enumerate(self.stages):
            for block in blocks:
                x = F.relu(block(x))
            if i < last:
                x = F.max_pool2d(x, 2, 2)
        return self.fc(x.mean(dim=(2, 3)))

    def blocks(self):
        return [block for blocks in self.stages for block in blocks]


class Worker:
    def __init__(self, out):
        self.out = out
        self.net = None
        self.optim = None
        self.slots = {}

    def reply(self, header, payload=b""):
        header["bytes"] = len(payload)
        self.out.write((json.dumps(header) + "\n").encode())
        self.out.write(payload)
        self.out.flush()

    # Requests ---------------------------------------------------------------------------

    def init(self, req, _payload):
        torch.set_num_threads(req["threads"])
        torch.manual_seed(req["seed"])
        arch = req["arch"]
        self.classes = arch["classes"]
        self.net = Cnn(arch["stages"], self.classes)
        # burn's AdamW epsilon (1e-5); decoupled weight decay on every parameter, as there.
        self.optim = torch.optim.AdamW(
            self.net.parameters(), lr=req["learning_rate"], weight_decay=req["weight_decay"], eps=1e-5
        )
        params = sum(p.numel() for p in self.net.parameters())
        self.reply({"params": params, "torch": torch.__version__})

    def step(self, req, payload):
        n, k = req["n"], self.classes
        x, rest = images(payload, n)
        labels = torch.from_numpy(np.frombuffer(rest[: 4 * n], dtype="<i4").astype(np.int64))
        for group in self.optim.param_groups:
            group["lr"] = req["lr"]
        self.net.train()
        logits = self.net(x)
        kd = req.get("kd")
        if kd is None:
            loss = F.cross_entropy(logits, labels)
        else:
            teacher = torch.from_numpy(np.frombuffer(rest[4 * n : 4 * n + 4 * n * k], dtype="<f4").reshape(n, k).copy())
            loss = kd_loss(logits, teacher, labels, kd["alpha"], kd["temperature"])
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        self.optim.step()
        self.reply({"loss": float(loss.detach())})

    def predict(self, req, payload):
        x, _ = images(payload, req["n"])
        self.net.eval()
        with torch.no_grad():
            logits = self.net(x).numpy().astype("<f4")
        self.reply({"n": req["n"]}, logits.tobytes())

    def refresh_bn(self, req, payload):
        """Training-mode forward passes without gradients: moves only the running statistics."""
        x, _ = images(payload, req["n"])
        self.net.train()
        with torch.no_grad():
            self.net(x)
        self.reply({})

    def save(self, req, _payload):
        self.slots[req["slot"]] = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        self.reply({})

    def load(self, req, _payload):
        self.net.load_state_dict(self.slots[req["slot"]])
        self.reply({})

    def checkpoint(self, req, _payload):
        """Everything the next step depends on (weights, statistics, optimiser moments and
        the kept slots) to `path`, written whole or not at all."""
        path = req["path"]
        state = {"net": self.net.state_dict(), "optim": self.optim.state_dict(), "slots": self.slots}
        torch.save(state, path + ".tmp")
        os.replace(path + ".tmp", path)
        self.reply({})

    def restore(self, req, _payload):
        state = torch.load(req["path"])
        self.net.load_state_dict(state["net"])
        self.optim.load_state_dict(state["optim"])
        self.slots = state["slots"]
        self.reply({})

    def state(self, _req, _payload):
        """Every tensor of the network (parameters and BatchNorm statistics), in state-dict
        order, as f32: what `set_state` takes back, in another worker."""
        blob = b"".join(v.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
                        for k, v in self.net.state_dict().items() if v.dtype.is_floating_point)
        self.reply({}, blob)

    def set_state(self, req, payload):
        state = self.net.state_dict()
        at = 0
        for key, v in state.items():
            if not v.dtype.is_floating_point:
                continue
            n = v.numel()
            values = np.frombuffer(payload[at : at + 4 * n], dtype="<f4").reshape(v.shape)
            state[key] = torch.from_numpy(values.copy())
            at += 4 * n
        if at != len(payload):
            raise ValueError(f"state of {len(payload)} bytes for a network of {at}")
        self.net.load_state_dict(state)
        self.reply({})

    def weights(self, _req, _payload):
        """What the ONNX export needs, per block: conv weight [o, i, 3, 3], conv bias [o],
        BatchNorm gamma, beta, running mean, running variance [o]; then the linear layer's
        weight [classes, in] and bias [classes]."""
        parts, blocks = [], []
        for block in self.net.blocks():
            conv, bn = block[0], block[1]
            blocks.append({"out": conv.out_channels, "in": conv.in_channels})
            parts += [conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean, bn.running_var]
        parts += [self.net.fc.weight, self.net.fc.bias]
        blob = b"".join(p.detach().contiguous().numpy().astype("<f4").tobytes() for p in parts)
        self.reply({"blocks": blocks, "bn_eps": 1e-5, "classes": self.classes}, blob)


def images(payload, n):
    size = 4 * n * 28 * 28
    x = torch.from_numpy(np.frombuffer(payload[:size], dtype="<f4").reshape(n, 1, 28, 28).copy())
    return x, payload[size:]


def kd_loss(student, teacher, labels, alpha, temperature):
    """alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y), batch mean."""
    t = temperature
    log_p_t = F.log_softmax(teacher / t, dim=1)
    log_p_s = F.log_softmax(student / t, dim=1)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1).mean()
    return kl * (alpha * t * t) + F.cross_entropy(student, labels) * (1.0 - alpha)


def main():
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    worker = Worker(out)
    while True:
        line = inp.readline()
        if not line:
            return
        req = json.loads(line)
        payload = read_exact(inp, req.get("payload", 0))
        try:
            getattr(worker, req["op"])(req, payload)
        except Exception as e:  # noqa: BLE001 -- every failure goes back to Rust, typed as an error
            worker.reply({"error": f"{req['op']}: {type(e).__name__}: {e}"})


def read_exact(stream, n):
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError("the pipeline closed the worker's input mid-request")
        data += chunk
    return data


if __name__ == "__main__":
    main()
