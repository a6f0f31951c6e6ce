// Run a converted model in the real TensorFlow.js runtime (@tensorflow/tfjs in Node).
//
// Called by course_lib/tfjs/runtime.py, never by hand. The request is one JSON object
// on stdin (no data on the command line):
//
//   {"action": "predict", "node_modules": "/abs/node_modules", "model_dir": "/abs/model",
//    "inputs": [{"key": "mean:0", "file": "/abs/in0.bin", "dtype": "float32", "shape": [n, 10]},
//               ...],
//    "outputs": [{"key": "output_0", "file": "/abs/out0.bin"}, ...],
//    "files": {"model.json": "<sha256>", "group1-shard1of1.bin": "<sha256>"} or null}
//   {"action": "load_layers", "node_modules": "...", "model_dir": "..."}
//   {"action": "backend", "node_modules": "...", "backend": "wasm"}   (starts it, runs nothing)
//
// Each may name the back end: "backend": "auto" (the default: WebAssembly when
// @tensorflow/tfjs-backend-wasm loads, else the pure-JS cpu back end, with a note saying
// why), "wasm" (that one or a failure, stage "backend") or "cpu". The wasm back end is
// required from the same node_modules as @tensorflow/tfjs, and its .wasm binaries are read
// from that package's own dist/ folder on disk (setWasmPaths): nothing is fetched from the
// network, and nothing of the runtime is read from the model folder. The answer says which
// back end ran ("backend") and, when wasm was wanted but did not load, why
// ("backend_note").
//
// Each input is one file of raw little-endian values (row-major) of its dtype (float32,
// int32 or bool as one byte), or, for a string input, a JSON list of the values. Its key
// is the graph model's signature key; the outputs are asked for by their signature keys
// and each is written the same way to its file. The answer is one JSON object on stdout:
// {"ok": true, "outputs": [{"key", "shape", "dtype"}], ...timings and versions...} or
// {"ok": false, "stage": "...", "error": "..."}. Whatever TF.js prints (its "install
// tfjs-node" hint) goes to stderr and is ignored by the caller.
//
// Node's file:// loading needs @tensorflow/tfjs-node (a native binary); this
// script uses a small IOHandler that reads model.json and its weight shards
// from disk instead, so the pure-JS @tensorflow/tfjs package is enough.
//
// No path from model.json is trusted: model.json and every shard must be a regular file
// inside model_dir (no absolute path, no "..", no URL, no backslash, no symbolic link on
// the way; the real path stays under the folder's), and with "files" (the record
// tfjs.convert wrote, already compared by Python) the sha256 of the very bytes read must be
// the recorded one. A refusal answers {"ok": false, "stage": "tampered", "error": "..."}.
"use strict";

const crypto = require("crypto");
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

function refused(message) {
  const err = new Error(`runtime.js refused ${message}`);
  err.tampered = true;
  return err;
}

// The path of `rel` inside the (real) model folder, or a refusal: the same rule as
// course_lib.tfjs.integrity.inside on the Python side and web/predict.js in the browser.
function insidePath(modelDir, rel, what) {
  const shown = JSON.stringify(rel);
  const parts = typeof rel === "string" ? rel.split("/").filter((p) => p !== "" && p !== ".") : [];
  if (typeof rel !== "string" || /[\\:\0]/.test(rel) || rel.startsWith("/") || !parts.length ||
      parts.includes("..")) {
    throw refused(`${what} path ${shown} in ${modelDir}: a path that leaves the model folder ` +
                  "(absolute, '..', a URL or a backslash).");
  }
  let here = modelDir;
  for (const part of parts) {
    here = path.join(here, part);
    let info;
    try {
      info = fs.lstatSync(here);
    } catch (err) {
      if (err.code === "ENOENT") throw new Error(`${what} ${parts.join("/")} is missing from ${modelDir}`);
      throw err;
    }
    if (info.isSymbolicLink()) {
      throw refused(`${what} ${parts.join("/")} in ${modelDir}: it is a symbolic link (to ` +
                    `${fs.readlinkSync(here)}), which could point anywhere.`);
    }
  }
  const real = fs.realpathSync(here);
  if (real !== modelDir && !real.startsWith(modelDir + path.sep)) {
    throw refused(`${what} ${shown}: it resolves to ${real}, outside the model folder ${modelDir}.`);
  }
  return { file: here, name: parts.join("/") };
}

// The bytes of a file inside the model folder, checked against the record when there is one.
function readInside(modelDir, rel, what, recorded) {
  const { file, name } = insidePath(modelDir, rel, what);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  let buf;
  try {
    buf = fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  if (recorded) {
    const want = recorded[name];
    if (typeof want !== "string") {
      throw refused(`${what} ${name} in ${modelDir}: it is not in the record of the folder's files.`);
    }
    const found = crypto.createHash("sha256").update(buf).digest("hex");
    if (found !== want) {
      throw refused(`${what} ${name} in ${modelDir}: its bytes differ from the record (recorded ` +
                    `sha256 ${want.slice(0, 12)}..., found ${found.slice(0, 12)}...), changed ` +
                    "after the check.");
    }
  }
  return buf;
}

function diskHandler(tf, req) {
  const modelDir = fs.realpathSync(req.model_dir);
  const recorded = req.files || null;
  return {
    load: async () => {
      const modelJSON = JSON.parse(readInside(modelDir, "model.json", "the model description",
                                              recorded).toString("utf8"));
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const buffers = [];
        for (const group of manifest) {
          for (const p of group.paths) {
            buffers.push(arrayBufferOf(readInside(modelDir, p, "the weight shard", recorded)));
          }
        }
        return [tf.io.getWeightSpecs(manifest), tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

function failure(err, stage, info) {
  const tampered = Boolean(err && (err.tampered || /^runtime\.js refused/.test(String(err.message))));
  return { ok: false, stage: tampered ? "tampered" : stage,
           error: String(err && err.message ? err.message : err), ...info };
}

// How many one-row calls are timed (their median is the one-row latency).
const SINGLE_ROWS = 5;

const TYPED = { float32: Float32Array, int32: Int32Array, bool: Uint8Array };

function readInput(tf, spec) {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  let values;
  if (spec.dtype === "string") {
    values = JSON.parse(fs.readFileSync(spec.file, "utf8"));
  } else {
    const Typed = TYPED[spec.dtype];
    if (!Typed) throw new Error(`input ${spec.key} has dtype ${spec.dtype}, which this script cannot read`);
    values = new Typed(arrayBufferOf(fs.readFileSync(spec.file)));
  }
  if (values.length !== size) {
    // Python checked the shapes and wrote the files: this is a bug, not the learner's input.
    throw new Error(`the file of input ${spec.key} holds ${values.length} values for shape [${spec.shape}]`);
  }
  return tf.tensor(values, spec.shape, spec.dtype);
}

function writeOutput(tensor, file) {
  if (tensor.dtype === "string") {
    fs.writeFileSync(file, JSON.stringify(tensor.arraySync()));
    return;
  }
  const values = tensor.dataSync();
  fs.writeFileSync(file, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
}

// The first row (or the last) of every input: what one user's request looks like.
// A fresh object each call: TF.js adds the lookup tables' handles to the dict it is given.
function rows(named, index) {
  const out = {};
  for (const [key, t] of Object.entries(named)) out[key] = index === null ? t : t.slice(index, 1);
  return out;
}

async function predict(tf, req, info) {
  let stage = "load";
  try {
    const t0 = performance.now();
    const model = await tf.loadGraphModel(diskHandler(tf, req));
    info.load_ms = performance.now() - t0;
    stage = "read input";
    const named = {};
    for (const spec of req.inputs) named[spec.key] = readInput(tf, spec);
    const n = req.inputs[0].shape[0];
    const keys = req.outputs.map((o) => o.key);
    stage = "predict";
    // A graph with control flow or lookup tables runs only asynchronously (executeAsync).
    let asynchronous = false;
    const call = async (inputs) => {
      if (!asynchronous) {
        try {
          return [].concat(model.execute(inputs, keys));
        } catch (err) {
          if (!/executeAsync/.test(String(err && err.message))) throw err;
          asynchronous = true;
        }
      }
      return [].concat(await model.executeAsync(inputs, keys));
    };
    const sync = (tensors) => tensors.forEach((t) => t.dataSync());
    // Warm-up on one row, as an app does once after loading: the first call sets up kernels.
    const t1 = performance.now();
    sync(await call(rows(named, 0)));
    info.warmup_ms = performance.now() - t1;
    const t2 = performance.now();
    const outputs = await call(rows(named, null));
    sync(outputs);
    info.predict_ms = performance.now() - t2;
    // Single rows: the latency a user feels when one example is scored. The median of a
    // few calls (the last rows), so that one slow call (the first after the big batch was
    // took 5 to 10 ms on wasm here, the next ones 1 to 3 ms) is not taken for the back
    // end's speed.
    const single = [];
    for (let i = Math.max(0, n - SINGLE_ROWS); i < n; i++) {
      const t3 = performance.now();
      sync(await call(rows(named, i)));
      single.push(performance.now() - t3);
    }
    single.sort((a, b) => a - b);
    info.row_ms = single[Math.floor((single.length - 1) / 2)];
    info.row_calls = single.length;
    info.asynchronous = asynchronous;
    stage = "write output";
    info.outputs = outputs.map((t, i) => {
      writeOutput(t, req.outputs[i].file);
      return { key: req.outputs[i].key, shape: t.shape, dtype: t.dtype };
    });
    return { ok: true, ...info };
  } catch (err) {
    return failure(err, stage, info);
  }
}

async function loadLayers(tf, req, info) {
  try {
    const t0 = performance.now();
    const model = await tf.loadLayersModel(diskHandler(tf, req));
    info.load_ms = performance.now() - t0;
    info.inputs = model.inputs.map((t) => t.shape);
    return { ok: true, ...info };
  } catch (err) {
    return failure(err, "load", info);
  }
}

// The first line TF.js or Emscripten printed while a back end failed to start: why it did.
function firstLine(messages) {
  const line = messages.join("\n").split("\n").map((l) => l.trim()).find((l) => l) || "";
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

// Make the WebAssembly back end the current one: "" when it runs, else why it does not.
// It comes from the same node_modules as @tensorflow/tfjs (never from the model folder),
// and its .wasm binaries from that package's own dist/ folder, read from disk.
async function startWasm(tf, nodeModules) {
  const pkg = path.join(nodeModules, "@tensorflow", "tfjs-backend-wasm");
  if (!fs.existsSync(path.join(pkg, "package.json"))) {
    return `@tensorflow/tfjs-backend-wasm is not installed in ${nodeModules}`;
  }
  let wasm;
  try {
    wasm = require(pkg);
  } catch (err) {
    return `@tensorflow/tfjs-backend-wasm in ${nodeModules} could not be loaded: ${firstLine([String(err.message)])}`;
  }
  if (wasm.version_wasm !== tf.version.tfjs) {
    return `@tensorflow/tfjs-backend-wasm ${wasm.version_wasm} does not match @tensorflow/tfjs ` +
      `${tf.version.tfjs} in ${nodeModules}`;
  }
  const dist = fs.realpathSync(path.join(pkg, "dist"));
  wasm.setWasmPaths(dist + path.sep);
  // TF.js reports a back end that fails to start on the console and answers false: keep
  // what it says for the note (stdout carries only the JSON answer).
  const said = [];
  const { warn, error } = console;
  console.warn = (...args) => said.push(args.map(String).join(" "));
  console.error = console.warn;
  let ok = false;
  try {
    ok = await tf.setBackend("wasm");
  } catch (err) {
    said.push(String(err && err.message ? err.message : err));
  } finally {
    console.warn = warn;
    console.error = error;
  }
  if (ok && tf.getBackend() === "wasm") return "";
  return `@tensorflow/tfjs-backend-wasm did not start: ${firstLine(said) || "TF.js gave no reason"}`;
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
  const asked = req.backend === undefined ? "auto" : req.backend;
  if (!["auto", "wasm", "cpu"].includes(asked)) {
    reply({ ok: false, stage: "request", error: `unknown back end ${JSON.stringify(asked)}` });
    return;
  }
  let note = "";
  if (asked !== "cpu") {
    note = await startWasm(tf, req.node_modules);
    if (note && asked === "wasm") {
      reply({ ok: false, stage: "backend", error: note, backend: tf.getBackend() });
      return;
    }
  }
  if (asked === "cpu" || note) {
    await tf.setBackend("cpu");
  }
  await tf.ready();
  const info = {
    tfjs_version: tf.version.tfjs,
    node_version: process.version,
    backend: tf.getBackend(),
    backend_asked: asked,
    backend_note: note,
    require_ms: performance.now() - t0,
  };
  if (info.backend === "wasm") {
    info.wasm_simd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
    info.wasm_threads = Boolean(await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"));
  }
  const actions = { predict, load_layers: loadLayers, backend: async () => ({ ok: true, ...info }) };
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
