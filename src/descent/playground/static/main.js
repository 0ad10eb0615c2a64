// The page: tabs, the websocket to this tab's training session, and the controls.
import { initDescend } from "./descend.js";
import { buildNetwork, drawLoss, drawOutput, updateNetwork } from "./network.js";
import { neuronTip, renderChain } from "./chain.js";
import { fmt } from "./plot.js";

const $ = (id) => document.getElementById(id);
// Everything the page knows, for a curious reader's console (and the browser tests).
const state = window.playground = { info: null, lastSnapshot: null, lastExplain: null, lastView: null,
                                    errors: [], snapshots: 0 };
let ws = null, net = null, hovered = null;

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t === tab);
    for (const v of document.querySelectorAll(".view")) v.classList.toggle("active", v.id === tab.dataset.view);
    if (tab.dataset.view === "view-network" && state.info) rebuild();
  });
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function settings() {
  return { hidden: $("hidden").value, activation: $("activation").value,
           output_activation: $("output-activation").value, loss: $("loss").value,
           lr: $("net-lr").value, batch_size: $("batch-size").value,
           weight_decay: $("weight-decay").value, seed: $("seed").value };
}

// Two classes: ŷ read as a probability (sigmoid). Regression: a standardized target needs
// a linear output, which a sigmoid (0..1) cannot reach.
const OUTPUT_FOR = { circle: "sigmoid", xor: "sigmoid", spiral: "sigmoid", moons: "sigmoid",
                     windsor: "identity", pictures: "sigmoid" };

// The two-node preset sets the network to the seeds' one; leaving it gives back the learner's.
const PRESET_CONTROLS = ["hidden", "activation", "output-activation", "loss"];
let beforePreset = null;

function setup(event) {
  const dataset = $("dataset").value;
  if (event && event.target === $("dataset")) {
    if (dataset === "two-node" && !beforePreset) {
      beforePreset = Object.fromEntries(PRESET_CONTROLS.map((id) => [id, $(id).value]));
    } else if (dataset !== "two-node" && beforePreset) {
      for (const [id, value] of Object.entries(beforePreset)) $(id).value = value;
      beforePreset = null;
    }
    if (OUTPUT_FOR[dataset]) $("output-activation").value = OUTPUT_FOR[dataset];
  }
  $("csv-box").hidden = dataset !== "csv";
  $("noise-label").hidden = !["circle", "xor", "spiral", "moons"].includes(dataset);
  if (dataset === "csv") {
    if (!state.columns) return;  // wait for a file
    const checked = (box) => [...$(box).querySelectorAll("input:checked")].map((c) => c.value);
    send({ type: "setup", dataset, target: $("target").value, inputs: checked("inputs"), draw: checked("draw"),
           settings: settings() });
  } else {
    send({ type: "setup", dataset, noise: $("noise").value, settings: settings() });
  }
}

function rates() {
  send({ type: "rates", settings: { lr: $("net-lr").value, batch_size: $("batch-size").value,
                                     weight_decay: $("weight-decay").value },
         speed: Number($("speed").value) });
}

function showError(message) {
  $("network-error").textContent = message;
  if (message) state.errors.push(message);
}

function rebuild() {
  net = buildNetwork($("network"), state.info, {
    weight: (layer, i, j) => send({ type: "explain", layer, kind: "weight", i, j }),
    bias: (layer, j) => send({ type: "explain", layer, kind: "bias", i: 0, j }),
    hover: (l, k, canvas) => {
      const tip = $("neuron-tip");
      hovered = l === null ? null : [l, k, canvas];
      if (!hovered || !state.lastSnapshot) { tip.hidden = true; return; }
      neuronTip(tip, state.lastSnapshot, l, k);
      tip.style.left = `${canvas.offsetLeft + 50}px`; tip.style.top = `${canvas.offsetTop}px`;
      tip.hidden = false;
    },
  });
  if (state.lastSnapshot) updateNetwork(net, state.lastSnapshot);
}

function onSnapshot(snap) {
  if (!state.info || snap.generation !== state.info.generation) return;  // from an earlier set-up
  state.lastSnapshot = snap;
  state.snapshots += 1;
  if (!net) rebuild();
  updateNetwork(net, snap);
  drawOutput($("output-plot"), state.info, snap);
  drawLoss($("loss-plot"), snap.history);
  $("stat-steps").textContent = snap.steps;
  $("stat-epoch").textContent = snap.epoch.toFixed(1);
  $("train-loss").textContent = fmt(snap.losses.train, 5);
  $("val-loss").textContent = fmt(snap.losses.val, 5);
  const classes = state.info.task === "classification";
  $("accuracy-row").hidden = !classes;
  if (classes) {
    $("train-acc").textContent = `${(100 * snap.losses.train_accuracy).toFixed(1)}%`;
    $("val-acc").textContent = `${(100 * snap.losses.val_accuracy).toFixed(1)}%`;
  }
  if (snap.diverged) showError(snap.diverged);
  const c = snap.collapse;
  $("collapse").textContent = c ? `Linear activations: the whole network is one layer. ŷ = ` +
    `${c.output_activation}(x·W + b) with W = [${c.W.map((w) => fmt(w)).join(", ")}], b = ${fmt(c.b)}: ` +
    `the hidden layers add nothing a single layer cannot do, so the boundary stays a straight line.` : "";
  if (hovered && hovered[0] !== null) neuronTip($("neuron-tip"), snap, hovered[0], hovered[1]);
  document.body.dataset.playing = snap.playing ? "yes" : "no";
}

function onData(info) {
  state.info = info;
  state.lastSnapshot = null;
  showError("");
  if (info.preset === "two-node") {
    $("hidden").value = "1"; $("activation").value = "sigmoid";
    $("output-activation").value = "sigmoid"; $("loss").value = "quadratic";
  }
  $("advice").textContent = info.advice || "";
  $("output-legend").textContent = info.pictures
    ? `${info.rows.train} training pictures, ${info.rows.validation} validation pictures. In the network: ` +
      `the input is the next picture trained on; each layer-1 unit is drawn as its ${info.pictures.height}×${info.pictures.width} ` +
      `weights (blue positive, orange negative: what it looks for; click a pixel for its ∂C/∂w); each later unit as its output ` +
      `on 64 validation pictures (8×8, cats in the top half, dogs below).`
    : info.task === "classification"
    ? `${info.rows.train} training rows (white edge), ${info.rows.validation} validation rows (black edge); ` +
      `colour: the network's ŷ, ${info.classes[0]} (orange) to ${info.classes[1]} (blue)`
    : `${info.rows.train} training row${info.rows.train === 1 ? "" : "s"}, ` +
      (info.rows.validation ? `${info.rows.validation} validation rows` : "the validation cost is on the same rows") +
      (info.features.length > 1 ? "; inputs not drawn are held at their mean" : "");
  rebuild();
  $("chain").innerHTML = `<p class="muted">Click a weight (a line between neurons) to see ∂C/∂w for the current batch; click a neuron for its bias.</p>`;
}

function onColumns(msg) {
  state.columns = msg;
  showError("");
  const target = $("target");
  target.innerHTML = msg.columns.map((c) => `<option>${c.replace(/</g, "&lt;")}</option>`).join("");
  target.value = msg.columns[msg.columns.length - 1];
  const fill = (box, pick) => {
    $(box).innerHTML = "";
    msg.columns.forEach((c, k) => {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "checkbox"; input.value = c; input.checked = pick(c, k);
      label.append(input, ` ${c}`);
      $(box).append(label);
    });
  };
  const numeric = msg.columns.filter((c) => msg.kinds[c] === "numeric" && c !== target.value);
  fill("inputs", (c) => c !== target.value);
  fill("draw", (c) => numeric.slice(0, 2).includes(c));
  setup();
}

function connect() {
  ws = new WebSocket(`ws://${location.host}/ws`);
  ws.addEventListener("open", () => { $("connection").textContent = "connected"; setup(); });
  ws.addEventListener("close", () => { $("connection").textContent = "not connected: is `descent playground` still running?"; });
  ws.addEventListener("message", (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "error") showError(msg.message);
    else if (msg.type === "data") onData(msg);
    else if (msg.type === "snapshot") onSnapshot(msg);
    else if (msg.type === "columns") onColumns(msg);
    else if (msg.type === "explain") { state.lastExplain = msg; renderChain($("chain"), msg); }
  });
}

for (const id of ["dataset", "noise", "hidden", "activation", "output-activation", "loss", "seed"]) {
  $(id).addEventListener("change", setup);
}
for (const id of ["net-lr", "batch-size", "weight-decay", "speed"]) $(id).addEventListener("change", rates);
$("play").addEventListener("click", () => { rates(); send({ type: "play" }); });
$("pause").addEventListener("click", () => send({ type: "pause" }));
$("step").addEventListener("click", () => send({ type: "step" }));
$("reset").addEventListener("click", () => { showError(""); send({ type: "reset" }); });
$("csv-use").addEventListener("click", setup);
$("target").addEventListener("change", () => onColumns(state.columns));
$("csv-file").addEventListener("change", async () => {
  const file = $("csv-file").files[0];
  if (!file) return;
  if (file.size > 2 * 1024 * 1024) { showError(`${file.name}: ${(file.size / 1e6).toFixed(1)} MB is more than the playground takes (2 MB)`); return; }
  state.columns = null;
  send({ type: "upload", name: file.name, text: await file.text() });
});

initDescend(state);
connect();
