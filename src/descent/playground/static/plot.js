// Small drawing helpers on a 2-D canvas: axes with ticks, colours, contour lines.

export function fmt(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 && a < 1e9 && Number.isInteger(Number(v.toPrecision(digits)))) return String(Number(v.toPrecision(digits)));
  if (a >= 1e5 || a < 1e-3) return v.toExponential(digits - 1).replace("e+", "e");
  return String(Number(v.toPrecision(digits)));
}

export function niceTicks(lo, hi, count = 6) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return ticks;
}

// Axes in the box {left, top, width, height}; returns the maps from data to pixels.
export function axes(ctx, box, xr, yr, xlabel, ylabel, { log = false } = {}) {
  const ylo = log ? Math.log10(yr[0]) : yr[0];
  const yhi = log ? Math.log10(yr[1]) : yr[1];
  const sx = (x) => box.left + ((x - xr[0]) / (xr[1] - xr[0])) * box.width;
  const sy = (y) => box.top + box.height -
    (((log ? Math.log10(y) : y) - ylo) / (yhi - ylo)) * box.height;
  ctx.save();
  ctx.strokeStyle = "#9aa3ad";
  ctx.fillStyle = "#5b6570";
  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeRect(box.left, box.top, box.width, box.height);
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of niceTicks(xr[0], xr[1], Math.max(5, Math.floor(box.width / 70)))) {
    const x = sx(t);
    ctx.beginPath(); ctx.moveTo(x, box.top + box.height); ctx.lineTo(x, box.top + box.height + 4);
    ctx.stroke();
    ctx.fillText(fmt(t, 3), x, box.top + box.height + 6);
  }
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const yt = log ? logTicks(yr[0], yr[1]) : niceTicks(ylo, yhi, Math.max(4, Math.floor(box.height / 45)));
  for (const t of yt) {
    const y = sy(t);
    if (y < box.top - 1 || y > box.top + box.height + 1) continue;
    ctx.beginPath(); ctx.moveTo(box.left - 4, y); ctx.lineTo(box.left, y); ctx.stroke();
    ctx.fillText(fmt(t, 3), box.left - 6, y);
  }
  ctx.fillStyle = "#1b1f24";
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  ctx.fillText(xlabel, box.left + box.width / 2, box.top + box.height + 34);
  ctx.translate(box.left - 44, box.top + box.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(ylabel, 0, 0);
  ctx.restore();
  return { sx, sy };
}

function logTicks(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

// Orange for negative, blue for positive (the TensorFlow Playground's colours); t in [-1, 1].
export function signColour(t, alpha = 1) {
  const s = Math.max(-1, Math.min(1, t));
  const base = [255, 255, 255];
  const end = s >= 0 ? [31, 111, 191] : [224, 123, 18];
  const k = Math.abs(s);
  const c = base.map((b, i) => Math.round(b + (end[i] - b) * k));
  return `rgba(${c[0]},${c[1]},${c[2]},${alpha})`;
}

export function signRGB(t) {
  const s = Math.max(-1, Math.min(1, t));
  const end = s >= 0 ? [31, 111, 191] : [224, 123, 18];
  const k = Math.abs(s);
  return [0, 1, 2].map((i) => Math.round(255 + (end[i] - 255) * k));
}

// A sequential scale for heights (contour maps): dark blue (low) to pale yellow (high).
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
export function heightRGB(t) {
  const u = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(u), VIRIDIS.length - 2);
  const f = u - i;
  return VIRIDIS[i].map((a, k) => Math.round(a + (VIRIDIS[i + 1][k] - a) * f));
}

// Marching squares: the segments where the grid z (rows of y, columns of x) crosses `level`,
// in fractional grid coordinates [[i0, j0, i1, j1], ...] (i along x, j along y).
export function contourSegments(z, level) {
  const segs = [];
  const ny = z.length, nx = z[0].length;
  const cross = (a, b) => (level - a) / (b - a);
  for (let j = 0; j < ny - 1; j++) {
    for (let i = 0; i < nx - 1; i++) {
      const v = [z[j][i], z[j][i + 1], z[j + 1][i + 1], z[j + 1][i]];
      if (v.some((q) => q === null || !Number.isFinite(q))) continue;
      const pts = [];
      const corners = [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]];
      for (let e = 0; e < 4; e++) {
        const a = v[e], b = v[(e + 1) % 4];
        if ((a < level) !== (b < level)) {
          const t = cross(a, b);
          const p = corners[e], q = corners[(e + 1) % 4];
          pts.push([p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t]);
        }
      }
      if (pts.length === 2) segs.push([...pts[0], ...pts[1]]);
      else if (pts.length === 4) { segs.push([...pts[0], ...pts[1]]); segs.push([...pts[2], ...pts[3]]); }
    }
  }
  return segs;
}

export function clear(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  return ctx;
}

export function legend(ctx, items, x, y) {
  ctx.save();
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";
  let dx = x;
  for (const { label, colour, dash } of items) {
    ctx.strokeStyle = colour; ctx.lineWidth = 2.5; ctx.setLineDash(dash || []);
    ctx.beginPath(); ctx.moveTo(dx, y); ctx.lineTo(dx + 18, y); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#1b1f24";
    ctx.fillText(label, dx + 22, y);
    dx += 30 + ctx.measureText(label).width;
  }
  ctx.restore();
}
