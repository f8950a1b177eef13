// Time one ONNX model with ONNX Runtime (onnxruntime-node's bundled CPU build).
// Usage: node ort_bench.js MODEL THREADS RUNS WARMUP
// Prints one JSON object: min_ms, median_ms, runs, threads, warmup, version.
// Inputs: float tensors of the model's fixed shape holding a pseudo-random
// pattern in [-1, 1) (the same kind of data `lens bench` generates).
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

async function main() {
  const [model, threadsArg, runsArg, warmupArg] = process.argv.slice(2);
  if (!model) {
    console.error('usage: node ort_bench.js MODEL THREADS RUNS WARMUP');
    process.exit(2);
  }
  const threads = parseInt(threadsArg || '1', 10);
  const runs = parseInt(runsArg || '10', 10);
  const warmup = parseInt(warmupArg || '2', 10);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  let seed = 12345;
  for (const name of session.inputNames) {
    const meta = session.inputMetadata.find((m) => m.name === name);
    const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = (seed / 4294967296) * 2 - 1;
    }
    feeds[name] = new ort.Tensor('float32', data, dims);
  }
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  const median = t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
  console.log(JSON.stringify({min_ms: t[0], median_ms: median, runs, threads, warmup,
                              version: ort.env.versions ? ort.env.versions.common : null}));
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
