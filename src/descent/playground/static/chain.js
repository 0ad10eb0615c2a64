// View 3: the chain rule for one clicked weight, and the deltas flowing back from the output.
import { fmt } from "./plot.js";

export function showValue(v, digits = 5) {
  if (v === null || v === undefined) return "—";
  if (!Array.isArray(v)) return fmt(v, digits);
  const inner = v.slice(0, 6).map((e) => showValue(e, digits)).join(", ");
  return `[${inner}${v.length > 6 ? ", …" : ""}]`;
}

function esc(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}

export function renderChain(box, e) {
  const n = e.n_examples;
  const rows = e.factors.map((f) =>
    `<tr><td class="text">${esc(f.symbol)}</td><td class="text">${esc(f.formula)}</td>` +
    `<td>${esc(showValue(f.value))}</td><td class="text">${esc(f.unit !== null ? `[${f.unit}] ${f.combine}` : f.combine)}</td>` +
    `<td>${esc(showValue(f.product))}</td><td class="text">${esc(f.product_symbol)}</td></tr>`).join("");
  const check = e.matches
    ? `<span id="chain-check" class="ok">✓ matches the engine</span> (|difference| = ${fmt(e.abs_error, 2)})`
    : `<span id="chain-check" class="bad">✗ differs from the engine</span> by ${fmt(e.abs_error, 3)}`;
  const deltas = e.deltas.map((d) =>
    `<tr><td>δ${d.layer} = ∂C/∂z${d.layer}</td><td class="text">${esc(d.activation)}</td>` +
    `<td>${esc(showValue(d.f_prime))}</td><td>${esc(showValue(d.delta))}</td>` +
    `<td class="text">${d.matches ? `<span class="ok">✓ a${d.layer - 1}ᵀδ${d.layer} matches the engine's ∂C/∂W${d.layer}</span>`
      : `<span class="bad">✗ differs from the engine</span>`} (max |difference| ${fmt(d.max_abs_error, 2)})</td></tr>`).join("");
  const decay = e.weight_decay ? ` (weight decay adds ${fmt(e.weight_decay)}·w to it)` : "";
  box.innerHTML = `
    <h3>∂C/∂${esc(e.label)} on the current batch: ${n} example${n === 1 ? "" : "s"}, cost ${esc(e.loss)}</h3>
    <p>${esc(e.label)} = <b id="chain-weight">${fmt(e.value, 6)}</b>. The chain rule, factor by factor, for example 0
       of the batch (row ${e.batch_rows[e.example]}); each row multiplies the product so far:</p>
    <table id="chain-factors"><tr><th class="text">factor</th><th class="text">what it is</th><th>value</th>
      <th class="text">joins by</th><th>product so far</th><th class="text">that is</th></tr>${rows}</table>
    <p>Summed over the ${n} example${n === 1 ? "" : "s"} (the 1/N of the average is inside ∂C/∂ŷ):
       ∂C/∂${esc(e.label)} = <b id="chain-total">${e.total}</b>;
       the engine's backward gives <b id="chain-engine">${e.engine}</b> — ${check}.
       In delta form: ${esc(e.delta_formula)} = <span id="chain-delta-form">${fmt(e.delta_form, 8)}</span>.</p>
    <p>The next step moves ${esc(e.label)} by −rate · ∂C/∂w = −${fmt(e.lr)} × ${fmt(e.total, 5)} =
       <b>${fmt(-e.lr * e.total, 5)}</b>${decay}.</p>
    <h3>The deltas, flowing back from the output toward the input (example 0)</h3>
    <table id="chain-deltas"><tr><th>δ</th><th class="text">activation</th><th>f'(z)</th><th>δ</th>
      <th class="text">checked</th></tr>${deltas}</table>
    <ul class="muted">${e.notes.map((t) => `<li>${esc(t)}</li>`).join("")}</ul>`;
}

export function neuronTip(tip, snap, l, k) {
  const layer = snap.neurons.layers[l - 1];
  const name = layer.activation === "sigmoid" ? "σ" : layer.activation === "identity" ? "f" : layer.activation;
  const fp = layer.f_prime ? fmt(layer.f_prime[k], 5) : "—";
  tip.textContent = `layer ${l}, unit ${k} (${layer.activation}); example: row ${snap.neurons.row}\n` +
    `z  = ${fmt(layer.z[k], 6)}\na  = ${name}(z) = ${fmt(layer.a[k], 6)}\n${name}'(z) = ${fp}`;
}
