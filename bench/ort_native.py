"""Times the demo's teacher and student with onnxruntime (PyPI, CPU, one thread) using the
schedule in bench/schedule.json, and prints JSON like bench-native's. Run by bench/run."""

import gzip
import json
import pathlib
import sys
import time

import numpy as np
import onnxruntime as ort

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
schedule = json.loads((root / "bench/schedule.json").read_text())
manifest = json.loads((root / "static/demo.json").read_text())


def ms(since):
    return (time.perf_counter() - since) * 1e3


def first_image(spec):
    raw = gzip.decompress((root / schedule["image"]).read_bytes())
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    size = dims[1] * dims[2]
    pixels = np.frombuffer(raw, dtype=np.uint8, count=size, offset=4 + 4 * rank).astype(np.float32)
    if spec.get("invert"):
        pixels = 255 - pixels
    x = (pixels * spec["scale"] - spec["mean"][0]) / spec["std"][0]
    return x.reshape(1, 1, dims[1], dims[2]).astype(np.float32)


def sample(run):
    """Same schedule as bench/src/main.rs and bench/page/harness.js."""
    started = time.perf_counter()
    while ms(started) < schedule["warmup_ms"]:
        run()
    batch = 1
    while True:
        t = time.perf_counter()
        for _ in range(batch):
            run()
        if ms(t) >= schedule["batch_min_ms"]:
            break
        batch *= 2
    per_call = []
    started = time.perf_counter()
    while ms(started) < schedule["duration_ms"]:
        t = time.perf_counter()
        for _ in range(batch):
            run()
        per_call.append(ms(t) / batch)
    per_call.sort()
    at = lambda q: per_call[round((len(per_call) - 1) * q)]  # noqa: E731
    return {"median_ms": at(0.5), "p90_ms": at(0.9), "samples": len(per_call), "batch": batch}


models = []
# The chosen student's int8 rung too, where the manifest has one (bench/page/harness.js).
ids = [manifest["teacher"], manifest["student"]]
if any(m["id"] == manifest["student"] + "-int8" for m in manifest["models"]):
    ids.append(manifest["student"] + "-int8")
for model_id in ids:
    entry = next(m for m in manifest["models"] if m["id"] == model_id)
    data = (root / "static" / entry["file"]).read_bytes()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t = time.perf_counter()
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    load_ms = ms(t)
    feeds = {session.get_inputs()[0].name: first_image(entry["preprocess"])}
    t = time.perf_counter()
    session.run(None, feeds)
    first_ms = ms(t)
    timing = sample(lambda: session.run(None, feeds))
    models.append({"id": model_id, "file": entry["file"], "bytes": len(data), "load_ms": load_ms, "first_ms": first_ms, **timing})

print(json.dumps({"runner": f"onnxruntime {ort.__version__} (PyPI, CPU, 1 thread)", "models": models}, indent=2))
