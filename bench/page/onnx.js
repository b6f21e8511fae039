// A minimal ONNX reader for the TensorFlow.js runner: the graph's nodes (op type, inputs,
// outputs, attributes) and its float initializers, read straight from the protobuf wire
// format (onnx.proto field numbers), so the peer runs the very weights the other runners
// load. Only what the bundled models use is decoded; anything else is skipped.

class Reader {
  constructor(bytes) { this.b = bytes; this.p = 0; this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); }
  get done() { return this.p >= this.b.length; }
  varint() {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.b[this.p++];
      if (byte === undefined) throw new Error('ONNX: truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
      shift += 7n;
    }
    return Number(BigInt.asIntN(64, result));
  }
  bytes() { const n = this.varint(); const out = this.b.subarray(this.p, this.p + n); this.p += n; return out; }
  fixed32() { const v = this.view.getFloat32(this.p, true); this.p += 4; return v; }
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.p += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.p += 4;
    else throw new Error(`ONNX: wire type ${wire}`);
  }
  // Calls visit(field, wire) for every field; visit returns false for fields it did not read.
  fields(visit) {
    while (!this.done) {
      const key = this.varint();
      const field = key >>> 3;
      const wire = key & 7;
      if (!visit(field, wire)) this.skip(wire);
    }
  }
}

const text = (bytes) => new TextDecoder().decode(bytes);

// Repeated int64: packed (wire 2) or one per field (wire 0).
function int64s(r, wire, into) {
  if (wire === 2) { const sub = new Reader(r.bytes()); while (!sub.done) into.push(sub.varint()); } else into.push(r.varint());
}

function tensor(bytes) {
  const r = new Reader(bytes);
  const t = { name: '', dims: [], dataType: 0, raw: null, floats: [] };
  r.fields((field, wire) => {
    if (field === 1) { int64s(r, wire, t.dims); return true; }
    if (field === 2) { t.dataType = r.varint(); return true; }
    if (field === 4 && wire === 2) { const sub = new Reader(r.bytes()); while (!sub.done) t.floats.push(sub.fixed32()); return true; }
    if (field === 4 && wire === 5) { t.floats.push(r.fixed32()); return true; }
    if (field === 8) { t.name = text(r.bytes()); return true; }
    if (field === 9) { t.raw = r.bytes(); return true; }
    return false;
  });
  if (t.dataType !== 1) return { name: t.name, dims: t.dims, data: null }; // only FLOAT is decoded
  const data = t.raw ? new Float32Array(t.raw.slice().buffer) : Float32Array.from(t.floats);
  return { name: t.name, dims: t.dims, data };
}

function attribute(bytes) {
  const r = new Reader(bytes);
  const a = { name: '', ints: [], floats: [] };
  r.fields((field, wire) => {
    if (field === 1) { a.name = text(r.bytes()); return true; }
    if (field === 2) { a.f = r.fixed32(); return true; }
    if (field === 3) { a.i = r.varint(); return true; }
    if (field === 4) { a.s = text(r.bytes()); return true; }
    if (field === 7 && wire === 2) { const sub = new Reader(r.bytes()); while (!sub.done) a.floats.push(sub.fixed32()); return true; }
    if (field === 7 && wire === 5) { a.floats.push(r.fixed32()); return true; }
    if (field === 8) { int64s(r, wire, a.ints); return true; }
    return false;
  });
  return a;
}

function node(bytes) {
  const r = new Reader(bytes);
  const n = { opType: '', inputs: [], outputs: [], attrs: {} };
  r.fields((field) => {
    if (field === 1) { n.inputs.push(text(r.bytes())); return true; }
    if (field === 2) { n.outputs.push(text(r.bytes())); return true; }
    if (field === 4) { n.opType = text(r.bytes()); return true; }
    if (field === 5) { const a = attribute(r.bytes()); n.attrs[a.name] = a; return true; }
    return false;
  });
  return n;
}

const valueName = (bytes) => {
  let name = '';
  const r = new Reader(bytes);
  r.fields((field) => (field === 1 ? ((name = text(r.bytes())), true) : false));
  return name;
};

// { nodes, initializers: Map(name → { dims, data }), inputs, outputs } of ONNX bytes.
export function parseOnnx(bytes) {
  let graph = null;
  const model = new Reader(bytes);
  model.fields((field) => (field === 7 ? ((graph = model.bytes()), true) : false));
  if (!graph) throw new Error('ONNX: no graph');
  const out = { nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  const g = new Reader(graph);
  g.fields((field) => {
    if (field === 1) { out.nodes.push(node(g.bytes())); return true; }
    if (field === 5) { const t = tensor(g.bytes()); out.initializers.set(t.name, t); return true; }
    if (field === 11) { out.inputs.push(valueName(g.bytes())); return true; }
    if (field === 12) { out.outputs.push(valueName(g.bytes())); return true; }
    return false;
  });
  out.inputs = out.inputs.filter((name) => !out.initializers.has(name));
  return out;
}
