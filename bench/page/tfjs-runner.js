// TensorFlow.js with its wasm backend (XNNPACK, SIMD, one thread: the page is not
// cross-origin isolated) running the very ONNX graph the other runners load: each node is
// mapped to the TF.js op a converted model would use (NHWC, as TF.js's wasm convolutions
// require; weights transposed once at load; Conv + Relu as one fused conv2d, the way
// tfjs-converter fuses them). ONNX ops outside the bundled float models are refused by
// name, and the harness leaves TF.js out for that model.
import { parseOnnx } from './onnx.js';

const tf = globalThis.tf;

// One compiled step per node: (values: Map) → void. Weights become tensors once, here,
// outside any tidy: they live as long as the page.
function compile(graph) {
  const consumers = new Map();
  for (const n of graph.nodes) for (const i of n.inputs) consumers.set(i, (consumers.get(i) || 0) + 1);
  const init = (name) => {
    const t = graph.initializers.get(name);
    if (!t || !t.data) throw new Error(`TF.js runner: ${name} is not a float initializer`);
    return t;
  };
  const steps = [];
  const fusedInto = new Set();
  graph.nodes.forEach((n, index) => {
    if (fusedInto.has(index)) return;
    const ints = (name, fallback) => (n.attrs[name] ? n.attrs[name].ints : fallback);
    const int = (name, fallback) => (n.attrs[name] && n.attrs[name].i !== undefined ? n.attrs[name].i : fallback);
    const [x, out] = [n.inputs[0], n.outputs[0]];
    switch (n.opType) {
      case 'Conv': {
        const w = init(n.inputs[1]);
        if (int('group', 1) !== 1) throw new Error('TF.js runner: grouped Conv is not mapped');
        const [o, i, kh, kw] = w.dims;
        const filter = tf.tidy(() => tf.transpose(tf.tensor4d(w.data, [o, i, kh, kw]), [2, 3, 1, 0]));
        const bias = n.inputs[2] ? tf.tensor1d(init(n.inputs[2]).data) : undefined;
        const [t, l, b, r] = ints('pads', [0, 0, 0, 0]);
        const pad = t + l + b + r === 0 ? 'valid' : [[0, 0], [t, b], [l, r], [0, 0]];
        const strides = ints('strides', [1, 1]);
        // Conv followed by its only reader, a Relu: one fused op.
        const next = graph.nodes[index + 1];
        const relu = next && next.opType === 'Relu' && next.inputs[0] === out && consumers.get(out) === 1;
        if (relu) fusedInto.add(index + 1);
        const target = relu ? next.outputs[0] : out;
        steps.push((v) => v.set(target, tf.fused.conv2d({
          x: v.get(x), filter, strides, pad, bias, activation: relu ? 'relu' : 'linear',
        })));
        break;
      }
      case 'Relu': steps.push((v) => v.set(out, tf.relu(v.get(x)))); break;
      case 'MaxPool': {
        const [t, l, b, r] = ints('pads', [0, 0, 0, 0]);
        if (t + l + b + r !== 0) throw new Error('TF.js runner: padded MaxPool is not mapped');
        const k = ints('kernel_shape');
        const s = ints('strides', k);
        steps.push((v) => v.set(out, tf.maxPool(v.get(x), k, s, 'valid')));
        break;
      }
      case 'GlobalAveragePool': steps.push((v) => v.set(out, tf.mean(v.get(x), [1, 2], true))); break;
      case 'Flatten': {
        if (int('axis', 1) !== 1) throw new Error('TF.js runner: Flatten axis ≠ 1 is not mapped');
        // ONNX flattens in NCHW order.
        steps.push((v) => {
          const t = v.get(x);
          const nchw = t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
          v.set(out, tf.reshape(nchw, [t.shape[0], -1]));
        });
        break;
      }
      case 'Gemm': {
        if (int('transA', 0) !== 0 || (n.attrs.alpha && n.attrs.alpha.f !== 1) || (n.attrs.beta && n.attrs.beta.f !== 1)) {
          throw new Error('TF.js runner: Gemm with transA, alpha or beta is not mapped');
        }
        const w = init(n.inputs[1]);
        // [in, out], transposed once here: TF.js 4.22's wasm fused.matMul gives wrong
        // results with transposeB and a bias together (2.2 off on random 1×72·72×10, checked
        // against matMul + add), and is right without transposeB.
        const weight = tf.tidy(() => {
          const t = tf.tensor2d(w.data, w.dims);
          return int('transB', 0) === 1 ? tf.transpose(t) : t;
        });
        const bias = n.inputs[2] ? tf.tensor1d(init(n.inputs[2]).data) : undefined;
        steps.push((v) => v.set(out, tf.fused.matMul({ a: v.get(x), b: weight, bias })));
        break;
      }
      case 'Mean': steps.push((v) => v.set(out, tf.div(tf.addN(n.inputs.map((i) => v.get(i))), n.inputs.length))); break;
      default: throw new Error(`TF.js runner: ONNX op ${n.opType} is not mapped`);
    }
  });
  return steps;
}

export async function tfjsRunner() {
  const t0 = performance.now();
  tf.wasm.setWasmPaths(new URL('./tfjs/', location.href).href);
  await tf.setBackend('wasm');
  await tf.ready();
  const instantiateMs = performance.now() - t0;
  return {
    name: `TensorFlow.js ${tf.version_core} (wasm backend, ${tf.wasm.getThreadsCount ? tf.wasm.getThreadsCount() : 1} thread)`,
    wasm: 'tfjs/tfjs-backend-wasm-simd.wasm',
    instantiateMs,
    async load(bytes, input, dims) {
      const graph = parseOnnx(bytes);
      const steps = compile(graph);
      const [n, c, h, w] = dims;
      const x = tf.tidy(() => tf.transpose(tf.tensor4d(input, [n, c, h, w]), [0, 2, 3, 1]));
      const [inputName, outputName] = [graph.inputs[0], graph.outputs[0]];
      return {
        run: () => {
          const y = tf.tidy(() => {
            const values = new Map([[inputName, x]]);
            for (const step of steps) step(values);
            return values.get(outputName);
          });
          const data = y.dataSync();
          y.dispose();
          return data;
        },
        sync: true,
      };
    },
  };
}
