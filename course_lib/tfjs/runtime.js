// Run a converted model in the real TensorFlow.js runtime (@tensorflow/tfjs in Node).
//
// Called by course_lib/tfjs.py, never by hand. The request is one JSON object
// on stdin (no data on the command line):
//
//   {"action": "predict", "node_modules": "/abs/node_modules", "model_dir": "/abs/model",
//    "input": "/abs/x.f32", "shape": [n, d], "output": "/abs/scores.f32"}
//   {"action": "load_layers", "node_modules": "...", "model_dir": "..."}
//
// The features are raw little-endian float32 (row-major) in the input file; the
// scores are written the same way to the output file. The answer is one JSON
// object on stdout: {"ok": true, ...timings and versions...} or
// {"ok": false, "stage": "...", "error": "..."}. Whatever TF.js prints (its
// "install tfjs-node" hint) goes to stderr and is ignored by the caller.
//
// Node's file:// loading needs @tensorflow/tfjs-node (a native binary); this
// script uses a small IOHandler that reads model.json and its weight shards
// from disk instead, so the pure-JS @tensorflow/tfjs package is enough.
"use strict";

const fs = require("fs");
const path = require("path");
const { performance } = require("perf_hooks");

function readStdin() {
  return fs.readFileSync(0, "utf8");
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function arrayBufferOf(buf) {
  // A Buffer may be a view into a shared pool at any offset: copy to an aligned ArrayBuffer.
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

function diskHandler(tf, modelDir) {
  return {
    load: async () => {
      const modelJSON = JSON.parse(fs.readFileSync(path.join(modelDir, "model.json"), "utf8"));
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const buffers = [];
        for (const group of manifest) {
          for (const p of group.paths) {
            buffers.push(arrayBufferOf(fs.readFileSync(path.join(modelDir, p))));
          }
        }
        return [tf.io.getWeightSpecs(manifest), tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

async function predict(tf, req, info) {
  let stage = "load";
  try {
    const t0 = performance.now();
    const model = await tf.loadGraphModel(diskHandler(tf, req.model_dir));
    info.load_ms = performance.now() - t0;
    stage = "read input";
    const [n, d] = req.shape;
    const data = new Float32Array(arrayBufferOf(fs.readFileSync(req.input)));
    if (data.length !== n * d) {
      throw new Error(`input file holds ${data.length} values, expected ${n} x ${d}`);
    }
    const x = tf.tensor2d(data, [n, d], "float32");
    stage = "predict";
    // Warm-up on one row, as an app does once after loading: the first call sets up kernels.
    const t1 = performance.now();
    tf.tidy(() => model.predict(x.slice([0, 0], [1, d])).dataSync());
    info.warmup_ms = performance.now() - t1;
    const t2 = performance.now();
    const y = model.predict(x);
    if (!(y instanceof tf.Tensor)) {
      throw new Error("the model has several outputs; course_lib.tfjs.predict expects one");
    }
    const scores = y.dataSync();
    info.predict_ms = performance.now() - t2;
    info.output_shape = y.shape;
    // One more single row: the latency a user feels when one transaction is scored.
    const t3 = performance.now();
    tf.tidy(() => model.predict(x.slice([n - 1, 0], [1, d])).dataSync());
    info.row_ms = performance.now() - t3;
    stage = "write output";
    fs.writeFileSync(req.output, Buffer.from(scores.buffer, scores.byteOffset, scores.byteLength));
    return { ok: true, ...info };
  } catch (err) {
    return { ok: false, stage, error: String(err && err.message ? err.message : err), ...info };
  }
}

async function loadLayers(tf, req, info) {
  try {
    const t0 = performance.now();
    const model = await tf.loadLayersModel(diskHandler(tf, req.model_dir));
    info.load_ms = performance.now() - t0;
    info.inputs = model.inputs.map((t) => t.shape);
    return { ok: true, ...info };
  } catch (err) {
    return { ok: false, stage: "load", error: String(err && err.message ? err.message : err), ...info };
  }
}

async function main() {
  let req;
  try {
    req = JSON.parse(readStdin());
  } catch (err) {
    reply({ ok: false, stage: "request", error: `could not read the JSON request on stdin: ${err.message}` });
    return;
  }
  let tf;
  const t0 = performance.now();
  try {
    tf = require(path.join(req.node_modules, "@tensorflow", "tfjs"));
  } catch (err) {
    reply({ ok: false, stage: "require", error: `could not load @tensorflow/tfjs from ${req.node_modules}: ${err.message}` });
    return;
  }
  await tf.setBackend("cpu");
  await tf.ready();
  const info = {
    tfjs_version: tf.version.tfjs,
    node_version: process.version,
    backend: tf.getBackend(),
    require_ms: performance.now() - t0,
  };
  const actions = { predict, load_layers: loadLayers };
  const action = actions[req.action];
  if (!action) {
    reply({ ok: false, stage: "request", error: `unknown action ${JSON.stringify(req.action)}` });
    return;
  }
  reply(await action(tf, req, info));
}

main().catch((err) => {
  reply({ ok: false, stage: "runtime", error: String(err && err.stack ? err.stack : err) });
});
