// View 1: gradient descent, Newton and grid search on a typed formula.
import { axes, clear, contourSegments, fmt, heightRGB, legend } from "./plot.js";

const PRESETS = {
  "seeds": { formula: "x**2 - 4*x + 6", x0: "8", lr: 0.1 },
  "too-large": { formula: "x**2 - 4*x + 6", x0: "8", lr: 1.05 },
  "too-small": { formula: "x**2 - 4*x + 6", x0: "8", lr: 0.01 },
  "two-valleys": { formula: "x**4 - 3*x**2 + x", x0: "2", lr: 0.01 },
  "valley": { formula: "(x-1)**2 + 10*(y+2)**2", x0: "0, 0", lr: 0.05 },
  "mountain": { formula: "x**2 + y**2 - 2*exp(-(x-1)**2 - (y-1)**2)", x0: "-1.5, 1.8", lr: 0.1 },
};
const COLOURS = { gd: "#1f5fbf", newton: "#d9480f", grid: "#2b8a3e" };
const $ = (id) => document.getElementById(id);

let pending = null;
let inflight = false;

export function initDescend(state) {
  const lr = $("lr"), lrNumber = $("lr-number");
  const fromSlider = () => {
    const v = Number((10 ** Number(lr.value)).toPrecision(3));
    lrNumber.value = v; $("lr-value").textContent = v; schedule(state);
  };
  lr.addEventListener("input", fromSlider);
  lrNumber.addEventListener("input", () => {
    const v = Number(lrNumber.value);
    if (v > 0) { lr.value = Math.log10(v); $("lr-value").textContent = v; }
    schedule(state);
  });
  for (const id of ["formula", "x0", "steps"]) $(id).addEventListener("input", () => schedule(state));
  $("preset").addEventListener("change", () => applyPreset(state, $("preset").value));
  applyPreset(state, "seeds");
}

function applyPreset(state, name) {
  const p = PRESETS[name];
  $("formula").value = p.formula; $("x0").value = p.x0;
  $("lr-number").value = p.lr; $("lr").value = Math.log10(p.lr); $("lr-value").textContent = p.lr;
  schedule(state, 0);
}

function schedule(state, delay = 60) {
  clearTimeout(pending);
  pending = setTimeout(() => run(state), delay);
}

async function run(state) {
  if (inflight) { schedule(state, 40); return; }
  inflight = true;
  const body = { formula: $("formula").value, x0: $("x0").value,
                 lr: Number($("lr-number").value), steps: Number($("steps").value) };
  try {
    const response = await fetch("/api/descend", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await response.json();
    if (!response.ok) { showError(data.error, data.field); return; }
    showError("", "");
    state.lastView = data;
    draw(data);
  } catch (err) {
    showError(`the playground server does not answer (${err}); is \`descent playground\` still running?`, "");
  } finally {
    inflight = false;
  }
}

function showError(message, field) {
  $("formula-error").textContent = message ? `${field ? field + ": " : ""}${message}` : "";
  for (const id of ["formula", "x0", "lr-number", "steps"]) $(id).classList.remove("invalid");
  document.body.dataset.descendError = message ? "yes" : "no";
}

function draw(v) {
  const gd = v.gd;
  const verdict = $("verdict");
  verdict.textContent = gd.verdict;
  verdict.className = "verdict " + gd.verdict.replace(" ", "-");
  $("verdict-why").textContent = gd.reason;
  const stable = v.stable_range;
  $("stable-range").textContent = stable
    ? `stable range of rates: ${fmt(stable[0])} < rate < ${fmt(stable[1])}  (2/f'', the largest ` +
      `curvature f'' ≈ ${fmt(v.curvature)} on the path); this rate: ${fmt(v.lr)}` +
      (v.lr >= stable[1] ? " — past the stable range" : "")
    : "stable range: no positive curvature on the path (no minimum there?)";
  $("suggestion").textContent = gd.suggestion ? `suggestion: ${gd.suggestion}` : "";
  methodsTable(v);
  iterationTable($("iterations"), v.table, v.variables, false);
  $("table-title").textContent = `Every step of gradient descent, rate ${fmt(v.lr)}: ` +
    `x_new = x_old − ${fmt(v.lr)}·f'(x_old)`;
  iterationTable($("newton-iterations"), v.newton_table, v.variables, true);
  if (v.variables.length === 1) drawCurve(v); else drawContour(v);
}

function methodsTable(v) {
  const rows = [["gradient descent", v.gd, COLOURS.gd], ["Newton–Raphson", v.newton, COLOURS.newton]];
  if (v.grid) rows.push(["grid search", v.grid, COLOURS.grid]);
  const t = $("methods");
  const names = v.variables.join(", ");
  t.innerHTML = `<tr><th class="text">method</th><th>${names}</th><th>f</th><th>steps</th>` +
    `<th>f evals</th><th>f' evals</th><th class="text">verdict</th></tr>`;
  for (const [name, r, colour] of rows) {
    const x = Array.isArray(r.x) ? "(" + r.x.map((e) => fmt(e, 5)).join(", ") + ")" : fmt(r.x, 6);
    const tr = document.createElement("tr");
    tr.innerHTML = `<td class="text">${name}</td><td>${x}</td>` +
      `<td>${fmt(r.value, 6)}</td><td>${r.steps}</td><td>${r.function_evaluations}</td>` +
      `<td>${r.gradient_evaluations}</td><td class="text">${r.verdict}</td>`;
    tr.firstChild.style.color = colour;  // set through the DOM: the page allows no inline styles
    t.appendChild(tr);
  }
  if (!v.grid) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td class="text">grid search</td><td colspan="6" class="text">one variable only: a grid ` +
      `over two variables needs its points squared</td>`;
    tr.firstChild.style.color = COLOURS.grid;
    t.appendChild(tr);
  }
  const note = $("local-note");
  note.textContent = "";
  if (v.grid && Number.isFinite(v.grid.value) && Number.isFinite(v.gd.value) &&
      v.grid.value < v.gd.value - 1e-6 * Math.max(1, Math.abs(v.gd.value))) {
    note.textContent = `Gradient descent found a local minimum at x = ${fmt(v.gd.x, 5)} ` +
      `(f = ${fmt(v.gd.value, 5)}); grid search found a lower valley at x = ${fmt(v.grid.x, 5)} ` +
      `(f = ${fmt(v.grid.value, 5)}). Slope-following methods stop in the valley they start in.`;
  }
}

function iterationTable(t, rows, names, newton) {
  const show = (x) => Array.isArray(x) ? "(" + x.map((e) => fmt(e, 6)).join(", ") + ")" : fmt(x, 8);
  const two = names.length > 1;
  const xo = two ? `(${names.join(", ")})_old` : "x_old";
  const xn = two ? `(${names.join(", ")})_new` : "x_new";
  const slope = two ? "∇f" : "f'(x_old)";
  t.innerHTML = `<tr><th>k</th><th>${xo}</th><th>${slope}</th>` +
    (newton && !two ? "<th>f''(x_old)</th>" : "") + `<th>${xn}</th><th>rounded (2 d.p.)</th></tr>`;
  for (const r of rows) {
    const tr = document.createElement("tr");
    if (r === null) { tr.innerHTML = `<td>…</td><td colspan="5"></td>`; t.appendChild(tr); continue; }
    const rounded = Array.isArray(r.x_new) ? "(" + r.x_new.map((e) => e === null ? "—" : e.toFixed(2)).join(", ") + ")"
      : (r.x_new === null ? "—" : r.x_new.toFixed(2));
    tr.innerHTML = `<td>${r.k}</td><td>${show(r.x_old)}</td><td>${show(r.slope)}</td>` +
      (newton && !two ? `<td>${show(r.curvature)}</td>` : "") +
      `<td>${show(r.x_new)}</td><td>${rounded}</td>`;
    t.appendChild(tr);
  }
}

const BOX = { left: 64, top: 30, width: 596, height: 350 };

function drawCurve(v) {
  const canvas = $("descend-plot");
  const ctx = clear(canvas);
  const xs = v.curve.x, ys = v.curve.y;
  const finite = ys.filter((y) => y !== null);
  let ylo = Math.min(...finite), yhi = Math.max(...finite);
  const pad = 0.06 * Math.max(yhi - ylo, 1e-9);
  ylo -= pad; yhi += pad;
  const { sx, sy } = axes(ctx, BOX, [xs[0], xs[xs.length - 1]], [ylo, yhi], v.variables[0], `f(${v.variables[0]})`);
  ctx.save();
  ctx.beginPath(); ctx.rect(BOX.left, BOX.top, BOX.width, BOX.height); ctx.clip();
  ctx.strokeStyle = "#777"; ctx.lineWidth = 1.6; ctx.beginPath();
  let on = false;
  xs.forEach((x, k) => {
    if (ys[k] === null) { on = false; return; }
    if (on) ctx.lineTo(sx(x), sy(ys[k])); else { ctx.moveTo(sx(x), sy(ys[k])); on = true; }
  });
  ctx.stroke();
  for (const m of v.minima || []) {
    ctx.strokeStyle = "#2b8a3e"; ctx.setLineDash([3, 3]); ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(sx(m), BOX.top); ctx.lineTo(sx(m), BOX.top + BOX.height); ctx.stroke();
    ctx.setLineDash([]);
  }
  path1d(ctx, v.newton.path, v.newton.values, sx, sy, COLOURS.newton, 4);
  path1d(ctx, v.gd.path, v.gd.values, sx, sy, COLOURS.gd, 3);
  if (v.grid && v.grid.x !== null) star(ctx, sx(v.grid.x), sy(v.grid.value), COLOURS.grid);
  ctx.restore();
  title(ctx, v);
  legend(ctx, [{ label: "f", colour: "#777" }, { label: "gradient descent", colour: COLOURS.gd },
               { label: "Newton", colour: COLOURS.newton }, { label: "grid search (best point)", colour: COLOURS.grid },
               { label: "valleys", colour: "#2b8a3e", dash: [3, 3] }], BOX.left, BOX.top + BOX.height + 50);
  pathInfo(v);
}

function path1d(ctx, path, values, sx, sy, colour, r) {
  ctx.strokeStyle = colour; ctx.fillStyle = colour; ctx.lineWidth = 1;
  ctx.beginPath();
  path.forEach((x, k) => { if (x === null || values[k] === null) return; k ? ctx.lineTo(sx(x), sy(values[k])) : ctx.moveTo(sx(x), sy(values[k])); });
  ctx.stroke();
  path.forEach((x, k) => {
    if (x === null || values[k] === null) return;
    ctx.beginPath(); ctx.arc(sx(x), sy(values[k]), k === 0 ? r + 2 : r, 0, 2 * Math.PI); ctx.fill();
  });
}

function star(ctx, x, y, colour) {
  ctx.fillStyle = colour; ctx.beginPath();
  for (let k = 0; k < 10; k++) {
    const r = k % 2 ? 4 : 10, a = -Math.PI / 2 + k * Math.PI / 5;
    ctx.lineTo(x + r * Math.cos(a), y + r * Math.sin(a));
  }
  ctx.closePath(); ctx.fill();
}

function title(ctx, v) {
  ctx.save();
  ctx.font = "13px system-ui, sans-serif"; ctx.fillStyle = "#1b1f24"; ctx.textAlign = "left";
  ctx.fillText(`f(${v.variables.join(", ")}) = ${v.formula}   from ${v.variables.join(", ")} = ` +
    `${v.x0.map((e) => fmt(e)).join(", ")}, rate ${fmt(v.lr)}: ${v.gd.verdict}`, BOX.left, 18);
  ctx.restore();
}

function pathInfo(v) {
  const p = v.gd.path, last = p[p.length - 1];
  const show = (x) => Array.isArray(x) ? "(" + x.map((e) => fmt(e, 5)).join(", ") + ")" : fmt(x, 6);
  $("path-info").textContent = `gradient descent path: ${v.gd.steps} steps from ${show(p[0])} to ${show(last)}`;
  $("path-info").dataset.points = String(p.length);
}

function drawContour(v) {
  const canvas = $("descend-plot");
  const ctx = clear(canvas);
  const { x: gx, y: gy, z } = v.contour;
  const flat = z.flat().filter((q) => q !== null).sort((a, b) => a - b);
  // Colours and levels by rank (quantiles): a valley and a cliff both stay visible.
  const rank = (q) => {
    let lo = 0, hi = flat.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (flat[m] < q) lo = m + 1; else hi = m; }
    return lo / flat.length;
  };
  const { sx, sy } = axes(ctx, BOX, [gx[0], gx[gx.length - 1]], [gy[0], gy[gy.length - 1]], v.variables[0], v.variables[1]);
  const img = ctx.createImageData(BOX.width, BOX.height);
  for (let py = 0; py < BOX.height; py++) {
    const j = Math.min(gy.length - 1, Math.round((1 - py / BOX.height) * (gy.length - 1)));
    for (let px = 0; px < BOX.width; px++) {
      const i = Math.min(gx.length - 1, Math.round(px / BOX.width * (gx.length - 1)));
      const q = z[j][i];
      const c = q === null ? [200, 200, 200] : heightRGB(rank(q));
      const o = 4 * (py * BOX.width + px);
      img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 150;
    }
  }
  ctx.putImageData(img, BOX.left, BOX.top);
  const toX = (i) => gx[0] + i * (gx[gx.length - 1] - gx[0]) / (gx.length - 1);
  const toY = (j) => gy[0] + j * (gy[gy.length - 1] - gy[0]) / (gy.length - 1);
  ctx.strokeStyle = "rgba(30,30,30,0.55)"; ctx.lineWidth = 0.8;
  for (let k = 1; k < 14; k++) {
    const level = flat[Math.floor((k / 14) ** 2 * (flat.length - 1))];
    ctx.beginPath();
    for (const [i0, j0, i1, j1] of contourSegments(z, level)) {
      ctx.moveTo(sx(toX(i0)), sy(toY(j0))); ctx.lineTo(sx(toX(i1)), sy(toY(j1)));
    }
    ctx.stroke();
  }
  ctx.save();
  ctx.beginPath(); ctx.rect(BOX.left, BOX.top, BOX.width, BOX.height); ctx.clip();
  path2d(ctx, v.newton.path, sx, sy, COLOURS.newton, 4);
  path2d(ctx, v.gd.path, sx, sy, COLOURS.gd, 3);
  ctx.restore();
  title(ctx, v);
  legend(ctx, [{ label: "gradient descent", colour: COLOURS.gd }, { label: "Newton", colour: COLOURS.newton },
               { label: "contours of f (dark: low)", colour: "rgba(30,30,30,0.55)" }], BOX.left, BOX.top + BOX.height + 50);
  pathInfo(v);
}

function path2d(ctx, path, sx, sy, colour, r) {
  ctx.strokeStyle = colour; ctx.fillStyle = colour; ctx.lineWidth = 1.4;
  ctx.beginPath();
  path.forEach((p, k) => { if (p[0] === null || p[1] === null) return; k ? ctx.lineTo(sx(p[0]), sy(p[1])) : ctx.moveTo(sx(p[0]), sy(p[1])); });
  ctx.stroke();
  path.forEach((p, k) => {
    if (p[0] === null || p[1] === null) return;
    ctx.beginPath(); ctx.arc(sx(p[0]), sy(p[1]), k === 0 ? r + 2 : r, 0, 2 * Math.PI); ctx.fill();
  });
}
