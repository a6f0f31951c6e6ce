// course_lib.tfjs.browser: run a converted graph model with TF.js inside this page.
//
// The kernel sends model.json, the weight shards (checked against their sha256 record
// first), the rows (float32) and, once per page, the TF.js bundle the package ships
// (@tensorflow/tfjs dist/tf.fesm.min.js): it is imported from a Blob URL, so nothing is
// fetched from the network. tf.setBackend is global to the page, so runs of several
// widgets queue on globalThis, one after the other.

const KEY = "__courseLibTfjs";
const shared = (globalThis[KEY] ??= { tf: null, queue: Promise.resolve() });

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
  let ready = false;
  try {
    ready = await tf.setBackend(backend);
  } catch (e) {
    return { available: false, why: String(e.message || e) };
  }
  if (!ready || tf.getBackend() !== backend) {
    return { available: false, why: `the browser refused the ${backend} back end` };
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
    const [shards, rows, bundle] = buffers;
    shared.queue = shared.queue.then(async () => {
      try {
        status.textContent = "Loading TF.js in this page…";
        const tf = await loadTf(bundle);
        const initial = tf.getBackend();
        for (const backend of msg.backends) {
          status.textContent = `Running the model on the ${backend} back end…`;
          const r = await runBackend(tf, backend, msg, shards, rows);
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
    model.send({ type: "ready", has_tf: shared.tf !== null });
  } else {
    show();
  }
  return () => model.off("msg:custom", onMessage);
}

export default { render };
