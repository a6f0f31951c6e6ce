// Score rows with a converted fraud model in the browser, with TensorFlow.js.
//
// Reads model/model.json (and its weight shards) and rows.json ({"rows": [[...8 numbers], ...]})
// relative to this page. Publishes the result for tests and for the curious:
//   window.fraudResult = {ok: true, backend, version, loadMs, predictMs, scores: [...]}
//   window.fraudResult = {ok: false, error: "..."}
"use strict";

async function scoreRows() {
  const status = document.getElementById("status");
  try {
    const t0 = performance.now();
    const model = await tf.loadGraphModel("model/model.json");
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
    status.className = "ok";
    status.textContent = `${scores.length} rows scored with TF.js ${tf.version.tfjs} ` +
      `(${tf.getBackend()} backend): model loaded in ${loadMs.toFixed(1)} ms, ` +
      `predicted in ${predictMs.toFixed(1)} ms.`;
    window.fraudResult = { ok: true, backend: tf.getBackend(), version: tf.version.tfjs,
                           loadMs, predictMs, scores };
  } catch (err) {
    status.className = "error";
    status.textContent = `Could not score the rows: ${err.message}`;
    window.fraudResult = { ok: false, error: String(err && err.message || err) };
  }
}

scoreRows();
