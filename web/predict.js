// Score rows with a converted fraud model in the browser, with TensorFlow.js.
//
// Reads model/model.json, its weight shards and model/files.sha256.json (the record that
// course_lib.tfjs.convert writes: the sha256 and size of every file), and rows.json
// ({"rows": [[...8 numbers], ...]}), relative to this page. Before the model is built:
//   - every shard path in model.json must stay inside model/ (no absolute path, "..",
//     URL or backslash): the page fetches nothing outside the model folder;
//   - with a record, model.json and every shard must have the recorded sha256 and size
//     (crypto.subtle.digest), every recorded file must be there, and no shard may be
//     missing from the record: otherwise the page refuses, naming the file;
//   - without a record (a folder converted with tensorflowjs_converter), the page scores
//     the rows and says that the files were not checked.
// The model is built from the very bytes that were checked. The record catches accidents
// (a truncated copy, a flipped byte, a swapped shard), not someone who rewrites the files
// and the record. Publishes the result for tests and for the curious:
// The back end: ?backend=wasm (the default), webgl or cpu in the page's address; when the
// one asked for does not start, the page runs on cpu and says why (backendNote).
//   window.fraudResult = {ok: true, backend, version, loadMs, predictMs, scores: [...],
//                         checked: true|false, note: "...", backendNote: "..."}
//   window.fraudResult = {ok: false, error: "..."}
"use strict";

const MODEL_DIR = "model/";
const RECORD = "files.sha256.json";
const RECORD_KIND = "course_lib TF.js file record";
const FIX = "Fix: convert the model again with course_lib.tfjs.convert and copy the whole folder.";
// Where the wasm back end's .wasm files are: beside its script, in the served node_modules.
const WASM_DIR = "/node_modules/@tensorflow/tfjs-backend-wasm/dist/";
const BACKENDS = ["wasm", "webgl", "cpu"];

// Start the back end asked for in the address (wasm by default); "" when it runs, else why
// not (the page then runs on cpu).
async function startBackend() {
  const asked = new URLSearchParams(location.search).get("backend") || "wasm";
  if (!BACKENDS.includes(asked)) return `unknown back end ${JSON.stringify(asked)} (wasm, webgl or cpu)`;
  if (asked === "wasm") {
    if (!(tf.wasm && tf.wasm.setWasmPaths)) return "tfjs-backend-wasm did not load (is node_modules served?)";
    tf.wasm.setWasmPaths(WASM_DIR);
  }
  const said = [];
  const { warn } = console;
  console.warn = (...args) => { said.push(args.map(String).join(" ")); warn(...args); };
  let ok = false;
  try {
    ok = await tf.setBackend(asked);
  } catch (err) {
    said.push(String(err && err.message || err));
  } finally {
    console.warn = warn;
  }
  if (ok && tf.getBackend() === asked) return "";
  return `the ${asked} back end did not start: ${said.join(" ").split("\n")[0] || "no reason given"}`;
}

// The URL of `rel` inside the model folder, or a refusal: the rule of the Python side
// (course_lib.tfjs.integrity.inside) and of the Node runner, plus the resolved URL's prefix.
function inside(base, rel, what) {
  const shown = JSON.stringify(rel);
  const parts = typeof rel === "string" ? rel.split("/").filter((p) => p !== "" && p !== ".") : [];
  const url = parts.length ? new URL(parts.join("/"), base) : null;
  if (typeof rel !== "string" || /[\\:\0]/.test(rel) || rel.startsWith("/") || !parts.length ||
      parts.includes("..") || !url.href.startsWith(base.href)) {
    throw new Error(`${what} path ${shown.replace(/"/g, "'")} leaves the model folder (absolute, ` +
                    "'..', a URL or a backslash): the page reads nothing outside model/.");
  }
  return { url, name: parts.join("/") };
}

// The bytes at `url`, or null when the server says 404.
async function fetchBytes(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function sha256(bytes) {
  if (!(globalThis.crypto && crypto.subtle)) {
    throw new Error("cannot check the model's files: crypto.subtle exists only on https:// " +
                    "or http://localhost pages. Serve the page from one of them.");
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function short(entry) {
  return `sha256 ${entry.sha256.slice(0, 12)}... (${entry.size.toLocaleString("en")} bytes)`;
}

// The record's entries by file name, or null when the folder has none.
async function readRecord(base) {
  const bytes = await fetchBytes(new URL(RECORD, base));
  if (bytes === null) return null;
  let record;
  try {
    record = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    record = null;
  }
  const files = record && record.kind === RECORD_KIND ? record.files : null;
  const valid = files && typeof files === "object" && Object.values(files).length &&
    Object.values(files).every((e) => e && /^[0-9a-f]{64}$/.test(e.sha256) && Number.isInteger(e.size));
  if (!valid) throw new Error(`${MODEL_DIR}${RECORD} is not the record course_lib.tfjs.convert writes.`);
  return files;
}

// model.json and every shard it lists, checked; the bytes by name, the parsed model.json,
// and whether a record was there to check them against.
async function checkedFiles(base) {
  const record = await readRecord(base);
  const files = {};
  const missing = (name) => new Error(record && record[name]
    ? `${name} is missing (recorded ${short(record[name])})`
    : `${name}, which model.json lists, is missing from ${MODEL_DIR}`);
  files["model.json"] = await fetchBytes(new URL("model.json", base));
  if (files["model.json"] === null) throw missing("model.json");
  const modelJSON = JSON.parse(new TextDecoder().decode(files["model.json"]));
  const shards = [];
  for (const group of [].concat(modelJSON.weightsManifest || [])) {
    for (const p of [].concat(group.paths || [])) {
      const { url, name } = inside(base, p, "the weight shard");
      shards.push(name);
      if (!(name in files)) {
        files[name] = await fetchBytes(url);
        if (files[name] === null) throw missing(name);
      }
    }
  }
  if (record) {
    for (const name of Object.keys(files)) {
      if (!(name in record)) throw new Error(`${name} is not in the record ${RECORD}`);
    }
    for (const [name, want] of Object.entries(record)) {
      let bytes = files[name];
      if (bytes === undefined) bytes = await fetchBytes(inside(base, name, "the recorded file").url);
      if (bytes === null) throw missing(name);
      const found = { sha256: await sha256(bytes), size: bytes.byteLength };
      if (found.sha256 !== want.sha256 || found.size !== want.size) {
        throw new Error(`${name} differs: recorded ${short(want)}, found ${short(found)}`);
      }
    }
  }
  return { files, shards, modelJSON, checked: record !== null };
}

async function scoreRows() {
  const status = document.getElementById("status");
  try {
    const backendNote = await startBackend();
    if (backendNote) await tf.setBackend("cpu");
    await tf.ready();
    const t0 = performance.now();
    const base = new URL(MODEL_DIR, document.baseURI);
    let checked;
    try {
      checked = await checkedFiles(base);
    } catch (err) {
      throw new Error(`refused the model in ${MODEL_DIR}: ${err.message.replace(/\.$/, "")}. ${FIX}`);
    }
    const { files, shards, modelJSON } = checked;
    const model = await tf.loadGraphModel({
      load: async () => tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => [
        tf.io.getWeightSpecs(manifest),
        tf.io.concatenateArrayBuffers(shards.map((name) => files[name])),
      ]),
    });
    const loadMs = performance.now() - t0;
    const response = await fetch("rows.json");
    if (!response.ok) throw new Error(`rows.json: HTTP ${response.status}`);
    const { rows } = await response.json();
    const t1 = performance.now();
    const input = tf.tensor2d(rows, [rows.length, rows[0].length], "float32");
    const output = model.predict(input);
    const scores = Array.from(await output.data());
    const predictMs = performance.now() - t1;
    tf.dispose([input, output]);

    const body = document.querySelector("#scores tbody");
    scores.slice(0, 20).forEach((s, i) => {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td>${i}</td><td>${s.toFixed(4)}</td>`;
      body.appendChild(tr);
    });
    const note = checked.checked ? "" :
      `files not checked against a record (no ${MODEL_DIR}${RECORD}: course_lib.tfjs.record_files writes one)`;
    status.className = "ok";
    status.textContent = `${scores.length} rows scored with TF.js ${tf.version.tfjs} ` +
      `(${tf.getBackend()} backend): model loaded in ${loadMs.toFixed(1)} ms, ` +
      `predicted in ${predictMs.toFixed(1)} ms; ` +
      (checked.checked ? `model files checked against ${RECORD}.` : `${note}.`) +
      (backendNote ? ` Ran on cpu: ${backendNote}.` : "");
    window.fraudResult = { ok: true, backend: tf.getBackend(), version: tf.version.tfjs,
                           loadMs, predictMs, scores, checked: checked.checked, note, backendNote };
  } catch (err) {
    status.className = "error";
    status.textContent = `Could not score the rows: ${err.message}`;
    window.fraudResult = { ok: false, error: String(err && err.message || err) };
  }
}

scoreRows();
