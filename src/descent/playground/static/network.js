// View 2: the network drawn as in the TensorFlow Playground, the output plane, the loss curve.
import { axes, clear, contourSegments, fmt, heightRGB, legend, signColour, signRGB } from "./plot.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE_SIZE = 42, GAP = 14, COLUMN_PAD = 70, TOP = 40;  // TOP: room for two-line labels

function decode(b64) {
  const raw = atob(b64);
  const out = new Int8Array(raw.length);
  for (let k = 0; k < raw.length; k++) out[k] = (raw.charCodeAt(k) << 24) >> 24;
  return out;
}

// Build the nodes and lines for the sizes in `info`; clicks and hovers call back.
export function buildNetwork(container, info, handlers) {
  container.innerHTML = "";
  const sizes = info.sizes;
  const NODE = info.pictures ? 64 : NODE_SIZE;  // weight pictures need room
  const tallest = Math.max(...sizes);
  const width = Math.max(container.clientWidth || 600, 420);
  const height = TOP + tallest * (NODE + GAP) + 20;
  container.style.height = `${height}px`;
  const step = (width - 2 * COLUMN_PAD - NODE) / Math.max(1, sizes.length - 1);
  const pos = sizes.map((n, l) => {
    const x = COLUMN_PAD + l * step;
    const top = TOP + ((tallest - n) * (NODE + GAP)) / 2;
    return Array.from({ length: n }, (_, k) => ({ x, y: top + k * (NODE + GAP) }));
  });
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", width); svg.setAttribute("height", height);
  container.appendChild(svg);
  const lines = [];
  for (let l = 1; l < sizes.length; l++) {
    for (let i = 0; i < sizes[l - 1]; i++) {
      for (let j = 0; j < sizes[l]; j++) {
        const a = pos[l - 1][i], b = pos[l][j];
        const coords = { x1: a.x + NODE, y1: a.y + NODE / 2, x2: b.x, y2: b.y + NODE / 2 };
        const line = document.createElementNS(SVG, "line");
        const hit = document.createElementNS(SVG, "line");
        for (const [k, v] of Object.entries(coords)) { line.setAttribute(k, v); hit.setAttribute(k, v); }
        line.setAttribute("class", "weight");
        hit.setAttribute("class", "hit");
        for (const el of [line, hit]) {
          el.dataset.layer = l; el.dataset.i = i; el.dataset.j = j;
        }
        hit.id = `w-${l}-${i}-${j}`;
        const title = document.createElementNS(SVG, "title");
        hit.appendChild(title);
        hit.addEventListener("click", () => {
          for (const other of container.querySelectorAll("line.weight.selected")) other.classList.remove("selected");
          line.classList.add("selected");
          handlers.weight(l, i, j);
        });
        svg.appendChild(line); svg.appendChild(hit);
        lines.push({ line, hit, title, l, i, j });
      }
    }
  }
  const nodes = [];
  sizes.forEach((n, l) => {
    const label = document.createElement("div");
    label.className = "layer-label";
    label.style.left = `${pos[l][0].x - 20}px`; label.style.top = "4px"; label.style.width = `${NODE + 40}px`;
    label.textContent = l === 0 ? "inputs" : l === sizes.length - 1 ? `output (${info.activations[l - 1]})`
      : `layer ${l} (${info.activations[l - 1]})`;
    container.appendChild(label);
    for (let k = 0; k < n; k++) {
      const c = document.createElement("canvas");
      c.className = "neuron"; c.width = NODE; c.height = NODE;
      c.style.left = `${pos[l][k].x}px`; c.style.top = `${pos[l][k].y}px`;
      c.id = `n-${l}-${k}`;
      c.dataset.layer = l; c.dataset.unit = k;
      if (l > 0) {
        c.addEventListener("mouseenter", (e) => handlers.hover(l, k, c));
        c.addEventListener("mouseleave", () => handlers.hover(null));
        if (l === 1 && info.pictures) {  // a first-layer unit is drawn as its weights: pick one
          c.title = "click a pixel: ∂C/∂w of that pixel's weight into this unit";
          c.addEventListener("click", (e) => {
            const { height, width } = info.pictures;
            // offsetX/Y are -1 on the border: clamp into the picture
            const col = Math.max(0, Math.min(width - 1, Math.floor(e.offsetX / c.clientWidth * width)));
            const row = Math.max(0, Math.min(height - 1, Math.floor(e.offsetY / c.clientHeight * height)));
            handlers.weight(1, row * width + col, k);
          });
        } else {
          c.addEventListener("click", () => handlers.bias(l, k));
        }
      }
      container.appendChild(c);
      if (l === 0) {
        const name = document.createElement("div");
        name.className = "layer-label";
        name.style.left = `${pos[0][k].x - COLUMN_PAD + 2}px`; name.style.top = `${pos[0][k].y + NODE / 2 - 7}px`;
        name.style.width = `${COLUMN_PAD - 6}px`; name.style.textAlign = "right";
        name.textContent = info.pictures ? "picture" : info.features[k];
        container.appendChild(name);
      }
      nodes.push({ canvas: c, l, k });
    }
  });
  return { lines, nodes, info };
}

// Update widths, colours and the maps from a snapshot.
export function updateNetwork(net, snap) {
  let biggest = 1e-9;
  for (const layer of snap.weights) for (const row of layer.W) for (const w of row) biggest = Math.max(biggest, Math.abs(w ?? 0));
  for (const { line, title, l, i, j } of net.lines) {
    const w = snap.weights[l - 1].W[i][j] ?? 0;
    line.setAttribute("stroke", w >= 0 ? "#1f6fbf" : "#e07b12");
    line.setAttribute("stroke-width", Math.max(0.4, Math.min(9, 1.6 * Math.abs(w))));
    line.setAttribute("stroke-opacity", 0.35 + 0.65 * Math.min(1, Math.abs(w) / biggest));
    title.textContent = net.info.pictures && l === 1
      ? `unit ${j} of layer 1: root mean square of its ${net.info.pictures.height * net.info.pictures.width} weights ${fmt(w, 4)}; click a pixel of its picture for one weight`
      : `W${l}[${i},${j}] = ${fmt(w, 5)}: click for ∂C/∂w`;
    line.dataset.value = w;
  }
  const info = net.info;
  const n = snap.map_size;
  if (info.pictures) { updatePictureNodes(net, snap); return; }
  for (const { canvas, l, k } of net.nodes) {
    const ctx = canvas.getContext("2d");
    if (l === 0) { drawInput(ctx, info, k, n); continue; }
    const m = snap.maps[l - 1][k];
    drawMap(ctx, decode(m.bytes), n, info.draw.length === 1);
    canvas.title = `layer ${l}, unit ${k}: output over the drawn plane (largest |a| ${fmt(m.scale)})`;
    canvas.dataset.scale = m.scale;
  }
}

// Pictures: the input node shows the next example; layer-1 units their weights as a picture;
// later units their outputs on the 64 gallery pictures (8×8: cats in the top half).
function updatePictureNodes(net, snap) {
  const { height, width } = net.info.pictures;
  for (const { canvas, l, k } of net.nodes) {
    const ctx = canvas.getContext("2d");
    if (l === 0) { drawGray(ctx, atob(snap.example_image), height, width); continue; }
    const m = snap.maps[l - 1][k];
    const q = decode(m.bytes);
    if (l === 1) drawGrid(ctx, q, height, width);
    else drawGrid(ctx, q, 8, 8);
    canvas.dataset.scale = m.scale;
  }
}

function drawGrid(ctx, q, rows, cols) {
  const size = ctx.canvas.width;
  const img = ctx.createImageData(size, size);
  for (let py = 0; py < size; py++) for (let px = 0; px < size; px++) {
    const r = Math.min(rows - 1, Math.floor(py / size * rows));
    const c = Math.min(cols - 1, Math.floor(px / size * cols));
    const rgb = signRGB(q[r * cols + c] / 127), o = 4 * (py * size + px);
    img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function drawGray(ctx, raw, rows, cols, x0 = 0, y0 = 0, size = ctx.canvas.width, offset = 0) {
  const img = ctx.createImageData(size, size);
  for (let py = 0; py < size; py++) for (let px = 0; px < size; px++) {
    const r = Math.min(rows - 1, Math.floor(py / size * rows));
    const c = Math.min(cols - 1, Math.floor(px / size * cols));
    const v = raw.charCodeAt(offset + r * cols + c), o = 4 * (py * size + px);
    img.data[o] = v; img.data[o + 1] = v; img.data[o + 2] = v; img.data[o + 3] = 255;
  }
  ctx.putImageData(img, x0, y0);
}

function drawMap(ctx, q, n, oneD) {
  const size = ctx.canvas.width;
  const img = ctx.createImageData(size, size);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let v;
      if (oneD) v = q[Math.min(n - 1, Math.floor(px / size * n))] / 127;
      else {
        const i = Math.min(n - 1, Math.floor(px / size * n));
        const j = Math.min(n - 1, Math.floor((1 - (py + 0.5) / size) * n));
        v = q[j * n + i] / 127;
      }
      const c = signRGB(v), o = 4 * (py * size + px);
      img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  if (oneD) {  // the unit's output as a curve over the one drawn input
    ctx.strokeStyle = "#222"; ctx.lineWidth = 1.2; ctx.beginPath();
    for (let k = 0; k < n; k++) {
      const x = (k + 0.5) / n * size, y = size / 2 - (q[k] / 127) * (size / 2 - 3);
      k ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    }
    ctx.stroke();
  }
}

function drawInput(ctx, info, k, n) {
  const size = ctx.canvas.width;
  const axis = info.draw.indexOf(k);
  ctx.fillStyle = "#eef0f2"; ctx.fillRect(0, 0, size, size);
  if (axis < 0) {
    ctx.fillStyle = "#5b6570"; ctx.font = "9px system-ui"; ctx.textAlign = "center";
    ctx.fillText("held at", size / 2, size / 2 - 3); ctx.fillText("its mean", size / 2, size / 2 + 9);
    return;
  }
  const img = ctx.createImageData(size, size);
  for (let py = 0; py < size; py++) for (let px = 0; px < size; px++) {
    const t = axis === 0 ? 2 * px / size - 1 : 1 - 2 * py / size;
    const c = signRGB(t), o = 4 * (py * size + px);
    img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

const OUT_BOX = { left: 56, top: 26, width: 270, height: 250 };

// The output over the drawn plane: decision boundary (classes) or fitted surface/curve.
export function drawOutput(canvas, info, snap) {
  const ctx = clear(canvas);
  if (info.pictures) { drawGallery(ctx, canvas, info, snap); return; }
  const axesInfo = info.plane.axes;
  const pts = info.points;
  const classes = info.task === "classification";
  const vals = snap.output.values, m = snap.output.size;
  let signature = 0;
  if (axesInfo.length === 2) {
    const xr = [axesInfo[0].lo, axesInfo[0].hi], yr = [axesInfo[1].lo, axesInfo[1].hi];
    const img = ctx.createImageData(OUT_BOX.width, OUT_BOX.height);
    const finite = vals.filter((v) => v !== null);
    const lo = Math.min(...finite), hi = Math.max(...finite);
    for (let py = 0; py < OUT_BOX.height; py++) for (let px = 0; px < OUT_BOX.width; px++) {
      const i = Math.min(m - 1, Math.floor(px / OUT_BOX.width * m));
      const j = Math.min(m - 1, Math.floor((1 - (py + 0.5) / OUT_BOX.height) * m));
      const v = vals[j * m + i] ?? 0;
      const c = classes ? signRGB(2 * Math.max(0, Math.min(1, v)) - 1) : heightRGB((v - lo) / (hi - lo || 1));
      const o = 4 * (py * OUT_BOX.width + px);
      img.data[o] = c[0]; img.data[o + 1] = c[1]; img.data[o + 2] = c[2]; img.data[o + 3] = classes ? 200 : 170;
    }
    ctx.putImageData(img, OUT_BOX.left, OUT_BOX.top);
    const { sx, sy } = axes(ctx, OUT_BOX, xr, yr, axesInfo[0].name, axesInfo[1].name);
    const grid = [];
    for (let j = 0; j < m; j++) grid.push(vals.slice(j * m, (j + 1) * m));
    if (classes) {
      const toX = (i) => xr[0] + i * (xr[1] - xr[0]) / (m - 1), toY = (j) => yr[0] + j * (yr[1] - yr[0]) / (m - 1);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.beginPath();
      for (const [i0, j0, i1, j1] of contourSegments(grid, 0.5)) {
        ctx.moveTo(sx(toX(i0)), sy(toY(j0))); ctx.lineTo(sx(toX(i1)), sy(toY(j1)));
        signature += i0 * 3 + j0 * 7;
      }
      ctx.stroke();
    }
    pts.x.forEach((p, k) => {
      const y = pts.y[k];
      ctx.beginPath(); ctx.arc(sx(p[0]), sy(p[1]), 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = classes ? (y > 0.5 ? "#1f6fbf" : "#e07b12") : `rgb(${heightRGB((y - lo) / (hi - lo || 1)).join(",")})`;
      ctx.strokeStyle = pts.validation[k] ? "#000" : "#fff"; ctx.lineWidth = pts.validation[k] ? 1.3 : 0.8;
      ctx.fill(); ctx.stroke();
    });
    const title = classes ? `decision boundary (ŷ = 0.5), step ${snap.steps}` : `${info.target}: fitted surface, step ${snap.steps}`;
    ctx.font = "12px system-ui"; ctx.fillStyle = "#1b1f24"; ctx.textAlign = "left";
    ctx.fillText(title, OUT_BOX.left, 16);
    if (classes) legend(ctx, [{ label: info.classes[0], colour: "#e07b12" }, { label: info.classes[1], colour: "#1f6fbf" }],
      OUT_BOX.left, OUT_BOX.top + OUT_BOX.height + 48);
  } else {
    const xr = [axesInfo[0].lo, axesInfo[0].hi];
    const ys = pts.y.concat(vals.filter((v) => v !== null));
    let lo = Math.min(...ys), hi = Math.max(...ys);
    const pad = 0.08 * (hi - lo || 1); lo -= pad; hi += pad;
    const { sx, sy } = axes(ctx, OUT_BOX, xr, [lo, hi], axesInfo[0].name, info.target);
    ctx.save(); ctx.beginPath(); ctx.rect(OUT_BOX.left, OUT_BOX.top, OUT_BOX.width, OUT_BOX.height); ctx.clip();
    pts.x.forEach((p, k) => {
      ctx.beginPath(); ctx.arc(sx(p[0]), sy(pts.y[k]), 3, 0, 2 * Math.PI);
      ctx.fillStyle = pts.validation[k] ? "rgba(224,123,18,0.7)" : "rgba(31,111,191,0.55)"; ctx.fill();
    });
    ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.beginPath();
    vals.forEach((v, k) => {
      const x = xr[0] + (k / (m - 1)) * (xr[1] - xr[0]);
      if (v === null) return;
      k ? ctx.lineTo(sx(x), sy(v)) : ctx.moveTo(sx(x), sy(v));
      signature += v * (k + 1);
    });
    ctx.stroke(); ctx.restore();
    ctx.font = "12px system-ui"; ctx.fillStyle = "#1b1f24"; ctx.textAlign = "left";
    ctx.fillText(`${info.target}: the network's fitted curve, step ${snap.steps}`, OUT_BOX.left, 16);
    legend(ctx, [{ label: "training rows", colour: "rgba(31,111,191,0.8)" }, { label: "validation rows", colour: "rgba(224,123,18,0.8)" },
                 { label: "network", colour: "#111" }], OUT_BOX.left - 40, OUT_BOX.top + OUT_BOX.height + 48);
  }
  let total = 0;
  for (let k = 0; k < vals.length; k += 7) total += (vals[k] ?? 0) * ((k % 13) + 1);
  canvas.dataset.signature = (total + signature).toFixed(6);
}

// Pictures: 24 validation pictures with P(dog); a green frame when the network is right.
function drawGallery(ctx, canvas, info, snap) {
  const { height, width } = info.pictures;
  const raw = atob(info.points.images);
  const probs = snap.output.values, labels = info.points.y;
  const cell = 52, cols = 6, shown = [];
  for (let k = 0; k < 12; k++) shown.push(k, probs.length / 2 + k);  // cats and dogs in turn
  ctx.font = "12px system-ui"; ctx.fillStyle = "#1b1f24"; ctx.textAlign = "left";
  ctx.fillText(`validation pictures: P(${info.classes[1]}) after step ${snap.steps}`, 8, 16);
  let right = 0, signature = 0;
  shown.forEach((row, k) => {
    const x = 8 + (k % cols) * (cell + 3), y = 26 + Math.floor(k / cols) * (cell + 16);
    drawGray(ctx, raw, height, width, x, y, cell, row * height * width);
    const p = probs[row] ?? 0.5, truth = labels[row];
    const ok = (p > 0.5) === (truth > 0.5);
    right += ok;
    signature += p * (k + 1);
    ctx.strokeStyle = ok ? "#1a7f37" : "#c62828"; ctx.lineWidth = 3;
    ctx.strokeRect(x - 1.5, y - 1.5, cell + 3, cell + 3);
    ctx.fillStyle = "#1b1f24"; ctx.font = "11px system-ui"; ctx.textAlign = "center";
    ctx.fillText(`${info.classes[truth > 0.5 ? 1 : 0]} ${p.toFixed(2)}`, x + cell / 2, y + cell + 12);
  });
  ctx.textAlign = "left";
  ctx.fillText(`green: right, red: wrong (${right} of ${shown.length})`, 8, canvas.height - 6);
  canvas.dataset.signature = signature.toFixed(6);
}

const LOSS_BOX = { left: 56, top: 10, width: 270, height: 96 };

export function drawLoss(canvas, history) {
  const ctx = clear(canvas);
  const steps = history.map((h) => h[0]);
  const vals = history.flatMap((h) => [h[1], h[2]]).filter((v) => v !== null && v > 0);
  if (!vals.length) return;
  let lo = Math.min(...vals), hi = Math.max(...vals);
  const log = hi / lo > 30;
  if (!log) { const pad = 0.05 * (hi - lo || hi || 1); lo = Math.max(0, lo - pad); hi += pad; }
  const xr = [steps[0], Math.max(steps[steps.length - 1], steps[0] + 1)];
  const { sx, sy } = axes(ctx, LOSS_BOX, xr, [lo, hi], "step", "cost", { log });
  for (const [col, colour] of [[1, "#1f6fbf"], [2, "#e07b12"]]) {
    ctx.strokeStyle = colour; ctx.lineWidth = 1.8; ctx.beginPath();
    let on = false;
    for (const h of history) {
      if (h[col] === null || (log && h[col] <= 0)) { on = false; continue; }
      on ? ctx.lineTo(sx(h[0]), sy(h[col])) : ctx.moveTo(sx(h[0]), sy(h[col]));
      on = true;
    }
    ctx.stroke();
  }
  legend(ctx, [{ label: "training cost", colour: "#1f6fbf" }, { label: "validation cost", colour: "#e07b12" }], LOSS_BOX.left, LOSS_BOX.top + LOSS_BOX.height + 44);
}
