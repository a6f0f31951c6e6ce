// course_lib.tfjs.browser: run a converted graph model with TF.js inside this page.
//
// The kernel sends model.json, the weight shards (checked against their sha256 record
// first), the rows (float32) and, once per page, the TF.js files the package ships: the
// bundle (@tensorflow/tfjs dist/tf.fesm.min.js), imported from a Blob URL, and for the
// wasm back end @tensorflow/tfjs-backend-wasm's dist/tf-backend-wasm.es2017.min.js (run
// on the imported tf) with its .wasm binaries, given to setWasmPaths as Blob URLs. Nothing
// is fetched from the network. tf.setBackend is global to the page, so runs of several
// widgets queue on globalThis, one after the other.

const KEY = "__courseLibTfjs";
const shared = (globalThis[KEY] ??= { tf: null, wasm: null, queue: Promise.resolve() });
shared.wasm ??= null;

function bytesOf(view) {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

async function loadTf(bundle) {
  if (shared.tf) return shared.tf;
  const url = URL.createObjectURL(new Blob([bytesOf(bundle)], { type: "text/javascript" }));
  try {
    shared.tf = await import(/* webpackIgnore: true */ url);
  } finally {
    URL.revokeObjectURL(url);
  }
  return shared.tf;
}

function blobUrl(view, type) {
  return URL.createObjectURL(new Blob([bytesOf(view)], { type }));
}

// The wasm back end, registered on `tf` once per page. Its es2017 build is a UMD script:
// it runs here as a module with a CommonJS-like `require` that hands it the imported tf
// (its only dependency in a page), so it needs no global `tf` and no loader.
async function loadWasm(tf, parts) {
  if (shared.wasm) return shared.wasm;
  const source = new TextDecoder().decode(bytesOf(parts.wasm_js));
  const module = `const tf = globalThis[${JSON.stringify(KEY)}].tf;\n` +
    "const module = { exports: {} };\n" +
    "const require = (name) => (name === '@tensorflow/tfjs-core' ? tf : undefined);\n" +
    "(function (exports, module, require, define) {\n" + source + "\n})" +
    ".call(globalThis, module.exports, module, require, undefined);\n" +
    "export default module.exports;\n";
  const url = URL.createObjectURL(new Blob([module], { type: "text/javascript" }));
  let wasm;
  try {
    wasm = (await import(/* webpackIgnore: true */ url)).default;
  } finally {
    URL.revokeObjectURL(url);
  }
  if (wasm.version_wasm !== tf.version_core) {
    throw new Error(`tfjs-backend-wasm ${wasm.version_wasm} does not match TF.js ${tf.version_core}`);
  }
  // Threads need a cross-origin-isolated page and the threaded binary, which is not
  // shipped: one thread, on the SIMD binary where the browser has SIMD, else the plain one.
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  const single = blobUrl(parts.wasm, "application/wasm");
  const simd = blobUrl(parts.wasm_simd, "application/wasm");
  wasm.setWasmPaths({
    "tfjs-backend-wasm.wasm": single,
    "tfjs-backend-wasm-simd.wasm": simd,
    "tfjs-backend-wasm-threaded-simd.wasm": simd,  // never used: threads are off above
  });
  shared.wasm = wasm;
  return wasm;
}

function ms(start) {
  return performance.now() - start;
}

async function scores(tf, model, x) {
  const out = model.predict(x);
  const data = await out.data();
  out.dispose();
  return data;
}

async function runBackend(tf, backend, msg, shards, rows) {
  if (tf.findBackendFactory(backend) == null) {
    return { available: false, why: `@tensorflow/tfjs-backend-${backend} is not shipped with the course` };
  }
  // TF.js reports a back end that fails to start on the console and answers false.
  const said = [];
  const { warn } = console;
  console.warn = (...args) => { said.push(args.map(String).join(" ")); warn(...args); };
  let ready = false;
  try {
    ready = await tf.setBackend(backend);
  } catch (e) {
    return { available: false, why: String(e.message || e) };
  } finally {
    console.warn = warn;
  }
  if (!ready || tf.getBackend() !== backend) {
    const why = said.join(" ").split("\n")[0].trim();
    return { available: false, why: `the browser refused the ${backend} back end` + (why ? `: ${why}` : "") };
  }

  await tf.ready();
  const meta = msg.model_json;
  const manifest = meta.weightsManifest || [];
  const weightSpecs = manifest.flatMap((group) => group.weights);
  const weightData = bytesOf(shards).slice().buffer;
  const [n, width] = msg.shape;
  let start = performance.now();
  const model = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: meta.modelTopology, format: meta.format, generatedBy: meta.generatedBy,
    convertedBy: meta.convertedBy, signature: meta.signature,
    userDefinedMetadata: meta.userDefinedMetadata, weightSpecs, weightData,
  }));
  const load_ms = ms(start);
  const all = tf.tensor2d(new Float32Array(rows.buffer, rows.byteOffset, n * width), [n, width]);
  try {
    const first = all.slice([0, 0], [1, width]);
    start = performance.now();
    await scores(tf, model, first);
    const first_ms = ms(start);
    first.dispose();
    start = performance.now();
    const predictions = await scores(tf, model, all);
    const batch_ms = ms(start);
    const k = Math.min(msg.single_rows, n);
    start = performance.now();
    for (let i = 0; i < k; i++) {
      const one = all.slice([i, 0], [1, width]);
      await scores(tf, model, one);
      one.dispose();
    }
    const row_ms = ms(start) / k;
    return { available: true, load_ms, first_ms, batch_ms, row_ms, predictions };
  } finally {
    all.dispose();
    model.dispose();
  }
}

function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "course-lib-browser-run";
  box.style.fontFamily = "var(--jp-code-font-family, monospace)";
  box.style.fontSize = "var(--jp-code-font-size, 13px)";
  box.style.whiteSpace = "pre-wrap";
  el.appendChild(box);
  const status = document.createElement("div");
  status.className = "course-lib-browser-status";
  const lines = document.createElement("div");
  lines.className = "course-lib-browser-lines";
  box.append(status, lines);

  const show = () => {
    const err = model.get("error");
    const verdict = model.get("verdict");
    const done = model.get("lines");
    lines.textContent = done.join("\n") + (verdict ? "\n" + verdict : "");
    if (err) status.textContent = `Error: ${err}`;
    else if (verdict) status.textContent = `TF.js ${shared.tf ? shared.tf.version_core : ""} in this page, ` +
      `model '${model.get("model_name")}', ${model.get("n_rows").toLocaleString("en")} rows:`;
  };
  status.textContent = `Waiting for the kernel: ${model.get("waiting")}.`;
  model.on("change:lines", show);
  model.on("change:verdict", show);
  model.on("change:error", show);

  const onMessage = (msg, buffers) => {
    if (msg.type !== "model") return;
    const parts = {};
    (msg.parts || ["shards", "rows", "tf"]).forEach((name, i) => { parts[name] = buffers[i]; });
    const { shards, rows } = parts;
    shared.queue = shared.queue.then(async () => {
      try {
        status.textContent = "Loading TF.js in this page…";
        const tf = await loadTf(parts.tf);
        const initial = tf.getBackend();
        for (const backend of msg.backends) {
          status.textContent = `Running the model on the ${backend} back end…`;
          let r = null;
          if (backend === "wasm" && !shared.wasm) {
            try {
              if (msg.wasm_missing) throw new Error(msg.wasm_missing);
              if (!parts.wasm_js) throw new Error("the kernel sent no wasm back end");
              await loadWasm(tf, parts);
            } catch (e) {
              r = { available: false, why: `the wasm back end did not load: ${(e && e.message) || e}` };
            }
          }
          r ??= await runBackend(tf, backend, msg, shards, rows);
          const { predictions, ...rest } = r;
          model.send({ type: "result", backend, ...rest },
            undefined, predictions ? [new Float32Array(predictions).buffer] : []);
        }
        if (initial) await tf.setBackend(initial);
        status.textContent = "Predictions sent to the kernel; comparing with Keras…";
      } catch (e) {
        model.send({ type: "error", message: String((e && e.message) || e) });
        status.textContent = `Error: ${(e && e.message) || e}`;
      }
    });
  };
  model.on("msg:custom", onMessage);
  if (model.get("lines").length === 0) {
    model.send({ type: "ready", has_tf: shared.tf !== null, has_wasm: shared.wasm !== null });
  } else {
    show();
  }
  return () => model.off("msg:custom", onMessage);
}

export default { render };
