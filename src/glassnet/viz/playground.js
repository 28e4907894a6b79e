// glassnet.Playground's drawing (an anywidget module). Every number shown comes from the kernel
// (playground.py's traitlets); every control sends one message {action, ...} that playground.py's _on_msg
// handles. Nothing here computes the network: it only draws what it is sent.

const BLUE = [59, 111, 182];
const ORANGE = [232, 131, 58];
const CLASS_COLORS = ["#3b6fb6", "#e8833a", "#3a9e4f", "#c23b3b", "#8a5cc2", "#8c564b", "#d66fb8", "#7f7f7f", "#b5b52e", "#2fb5c4"];

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "\u2014";
  const a = Math.abs(v);
  return (a !== 0 && (a < 1e-3 || a >= 1e5)) ? v.toExponential(4) : Number(v.toPrecision(6)).toString();
}

function mix(t) {  // blue (t = 0) through white to orange (t = 1)
  t = Math.min(1, Math.max(0, t));
  const [c, s] = t < 0.5 ? [BLUE, 1 - 2 * t] : [ORANGE, 2 * t - 1];
  return c.map((v) => Math.round(255 + (v - 255) * s));
}

function element(tag, attrs = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function render({ model, el }) {
  const root = element("div", { class: "gn-pg" });
  root.innerHTML = `
    <div class="gn-controls">
      <button class="gn-play" type="button">play</button>
      <button class="gn-step" type="button" title="train one batch">step</button>
      <span class="gn-status"></span>
      <span>epoch <b class="gn-epoch">0</b> / <span class="gn-epochs"></span>, step <span class="gn-steps">0</span></span>
    </div>
    <div class="gn-controls">
      <label>learning rate <input class="gn-lr-slider" type="range" min="-4" max="1" step="0.01"></label>
      <input class="gn-lr-input" type="text" size="9" title="type a rate and press Enter">
      <span class="gn-lr-value"></span>
    </div>
    <div class="gn-message"></div>
    <div class="gn-panels">
      <div class="gn-panel"><div class="gn-title">loss per epoch</div>
        <canvas class="gn-loss" width="320" height="200"></canvas><div class="gn-loss-text"></div></div>
      <div class="gn-panel gn-boundary-panel"><div class="gn-title">outputs over the input plane</div>
        <canvas class="gn-boundary" width="220" height="220"></canvas></div>
      <div class="gn-panel"><div class="gn-title">network (click a neuron or a weight)</div>
        <svg class="gn-net" width="380" height="220"></svg></div>
    </div>
    <div class="gn-detail"></div>`;
  el.appendChild(root);
  const $ = (sel) => root.querySelector(sel);
  const send = (msg) => model.send(msg);

  $(".gn-play").addEventListener("click", () => send({ action: model.get("status") === "playing" ? "pause" : "play" }));
  $(".gn-step").addEventListener("click", () => send({ action: "step" }));
  const slider = $(".gn-lr-slider");
  const lrInput = $(".gn-lr-input");
  slider.addEventListener("input", () => { lrInput.value = fmt(10 ** Number(slider.value)); });
  slider.addEventListener("change", () => send({ action: "lr", value: 10 ** Number(slider.value) }));
  lrInput.addEventListener("keydown", (e) => { if (e.key === "Enter") send({ action: "lr", value: lrInput.value }); });

  function drawControls() {
    const status = model.get("status");
    $(".gn-play").textContent = status === "playing" ? "pause" : "play";
    $(".gn-step").disabled = status === "playing";
    $(".gn-status").textContent = status;
    $(".gn-status").dataset.status = status;
    $(".gn-epoch").textContent = String(model.get("epoch"));
    $(".gn-epochs").textContent = String(model.get("epochs"));
    $(".gn-steps").textContent = String(model.get("steps"));
    const lr = model.get("lr");
    $(".gn-lr-value").textContent = `rate in use: ${fmt(lr)}`;
    if (document.activeElement !== slider) slider.value = String(Math.log10(lr));
    if (document.activeElement !== lrInput) lrInput.value = fmt(lr);
    const m = $(".gn-message");
    m.textContent = model.get("message");
    m.classList.toggle("gn-error", model.get("message_kind") === "error");
  }

  function drawLoss() {
    const canvas = $(".gn-loss");
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height, pad = 28;
    ctx.clearRect(0, 0, W, H);
    const curve = model.get("loss_curve") || [];
    const loss = model.get("loss"), batch = model.get("batch_loss");
    $(".gn-loss-text").textContent = `loss on all the data now: ${fmt(loss)}; last step's batch loss: ${fmt(batch)}`;
    if (curve.length === 0) return;
    const log = curve.every((p) => p[1] > 0);
    const f = (v) => (log ? Math.log10(v) : v);
    const ys = curve.map((p) => f(p[1]));
    let lo = Math.min(...ys), hi = Math.max(...ys);
    if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
    const last = curve[curve.length - 1][0];
    const px = (e) => pad + (W - pad - 6) * (last > 1 ? (e - 1) / (last - 1) : 0.5);
    const py = (v) => 6 + (H - pad - 6) * (hi - f(v)) / (hi - lo);
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(pad, 6); ctx.lineTo(pad, H - pad); ctx.lineTo(W - 6, H - pad); ctx.stroke();
    ctx.fillStyle = "#444"; ctx.font = "10px sans-serif";
    ctx.fillText(fmt(log ? 10 ** hi : hi), 2, 12);
    ctx.fillText(fmt(log ? 10 ** lo : lo), 2, H - pad);
    ctx.fillText(`epoch ${last}${log ? " (log scale)" : ""}`, W - 130, H - 8);
    ctx.strokeStyle = "steelblue"; ctx.lineWidth = 1.5;
    ctx.beginPath();
    curve.forEach(([e, v], i) => (i ? ctx.lineTo(px(e), py(v)) : ctx.moveTo(px(e), py(v))));
    ctx.stroke();
  }

  function drawBoundary() {
    const b = model.get("boundary") || {};
    const panel = $(".gn-boundary-panel");
    panel.style.display = b.n ? "" : "none";
    if (!b.n) return;
    const canvas = $(".gn-boundary");
    const ctx = canvas.getContext("2d");
    const n = b.n, W = canvas.width, H = canvas.height;
    const image = ctx.createImageData(n, n);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const v = b.values[r * n + c];
        let rgb;
        if (b.kind === "class") {
          const hex = CLASS_COLORS[v % CLASS_COLORS.length];
          rgb = [1, 3, 5].map((k) => Math.round(255 - 0.45 * (255 - parseInt(hex.slice(k, k + 2), 16))));
        } else {
          rgb = mix(b.high > b.low ? (v - b.low) / (b.high - b.low) : 0.5);
        }
        const at = 4 * ((n - 1 - r) * n + c);  // row 0 is the lowest y: drawn at the bottom
        image.data.set([...rgb, 255], at);
      }
    }
    const small = document.createElement("canvas");
    small.width = n; small.height = n;
    small.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, W, H);
    ctx.drawImage(small, 0, 0, W, H);
    const p = model.get("points") || {};
    const [x0, x1] = b.x_range, [y0, y1] = b.y_range;
    (p.x || []).forEach((x, i) => {
      const label = p.label[i];
      ctx.beginPath();
      ctx.arc(W * (x - x0) / (x1 - x0), H * (y1 - p.y[i]) / (y1 - y0), 4, 0, 2 * Math.PI);
      ctx.fillStyle = b.kind === "value" ? `rgb(${mix((label - b.low) / ((b.high - b.low) || 1))})`
        : (b.kind === "class" ? CLASS_COLORS[label % CLASS_COLORS.length] : (label > 0.5 ? "#e8833a" : "#3b6fb6"));
      ctx.fill(); ctx.strokeStyle = "#222"; ctx.lineWidth = 1; ctx.stroke();
    });
  }

  function drawNetwork() {
    const net = model.get("network") || {};
    const box = $(".gn-net");
    box.replaceChildren();
    if (!net.sizes) return;
    const W = Number(box.getAttribute("width")), H = Number(box.getAttribute("height"));
    const L = net.sizes.length;
    const sel = model.get("selection") || {};
    const x = (l) => 24 + (W - 48) * (L > 1 ? l / (L - 1) : 0.5);
    const y = (l, j) => 20 + (H - 40) * (net.shown[l] > 1 ? j / (net.shown[l] - 1) : 0.5);
    let wmax = 1e-12;
    net.layers.forEach((layer) => (layer.W || []).forEach((row) => row.forEach((w) => { wmax = Math.max(wmax, Math.abs(w)); })));
    net.layers.forEach((layer, l) => {
      for (let i = 0; i < net.shown[l]; i++) {
        for (let j = 0; j < net.shown[l + 1]; j++) {
          if (layer.W === null && i !== j) continue;  // not a dense layer: unit i feeds unit i
          const w = layer.W === null ? null : layer.W[i][j];
          const chosen = sel.kind === "weight" && sel.layer === l && sel.index[0] === i && sel.index[1] === j;
          const attrs = { x1: x(l), y1: y(l, i), x2: x(l + 1), y2: y(l + 1, j) };
          const line = svg("line", { ...attrs, class: "gn-weight", stroke: chosen ? "#111" : (w === null ? "#bbb" : (w >= 0 ? "#e8833a" : "#3b6fb6")),
            "stroke-width": w === null ? 1 : 0.5 + 3.5 * Math.abs(w) / wmax, "stroke-dasharray": w === null ? "3 3" : "" });
          box.appendChild(line);
          if (w === null) continue;
          const hit = svg("line", { ...attrs, class: "gn-weight-hit", "data-layer": l, "data-i": i, "data-j": j, stroke: "transparent", "stroke-width": 8 });
          const title = svg("title"); title.textContent = `W[${i}, ${j}] of layer ${l} = ${fmt(w)}`;
          hit.appendChild(title);
          hit.addEventListener("click", () => send({ action: "select", kind: "weight", layer: l, index: [i, j] }));
          box.appendChild(hit);
        }
      }
    });
    net.sizes.forEach((size, l) => {
      for (let j = 0; j < net.shown[l]; j++) {
        const chosen = sel.kind === "unit" && sel.layer === l - 1 && sel.index[0] === j;
        const c = svg("circle", { cx: x(l), cy: y(l, j), r: 8, class: l ? "gn-unit" : "gn-input", "data-layer": l - 1, "data-unit": j,
          fill: chosen ? "#333" : (l ? "#fff" : "#eee"), stroke: "#333" });
        const title = svg("title");
        title.textContent = l ? `unit ${j} of layer ${l - 1} (${net.layers[l - 1].name} ${net.layers[l - 1].activation})` : `input ${j}`;
        c.appendChild(title);
        if (l) c.addEventListener("click", () => send({ action: "select", kind: "unit", layer: l - 1, index: [j] }));
        box.appendChild(c);
      }
      if (size > net.shown[l]) {
        const more = svg("text", { x: x(l) - 14, y: H - 2, class: "gn-more" });
        more.textContent = `+${size - net.shown[l]} more`;
        box.appendChild(more);
      }
    });
  }

  function drawDetail() {
    const sel = model.get("selection") || {};
    const box = $(".gn-detail");
    box.replaceChildren();
    if (!sel.entries) return;
    box.appendChild(element("div", { class: "gn-title" }, sel.title));
    const table = element("table");
    const head = element("tr");
    ["parameter", "value", "gradient (last step)", "last update", "new value"].forEach((h) => head.appendChild(element("th", {}, h)));
    table.appendChild(head);
    sel.entries.forEach((entry) => {
      const row = element("tr", { class: "gn-entry", "data-key": entry.key });
      [`${entry.key}[${entry.index.join(", ")}]`, fmt(entry.value), fmt(entry.grad), fmt(entry.update)].forEach((t, k) =>
        row.appendChild(element("td", { class: ["gn-key", "gn-value", "gn-grad", "gn-update"][k] }, t)));
      const cell = element("td");
      const input = element("input", { class: "gn-edit", type: "text", size: "9", placeholder: fmt(entry.value) });
      const button = element("button", { class: "gn-set", type: "button" }, "set");
      const submit = () => send({ action: "edit", key: entry.key, index: entry.index, value: input.value });
      button.addEventListener("click", submit);
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") submit(); });
      cell.append(input, button);
      row.appendChild(cell);
      table.appendChild(row);
    });
    box.appendChild(table);
  }

  // Several traitlets change in one sync: draw once per animation frame.
  const dirty = new Set();
  let frame = 0;
  const draw = { controls: drawControls, loss: drawLoss, boundary: drawBoundary, network: drawNetwork, detail: drawDetail };
  const schedule = (...parts) => {
    parts.forEach((p) => dirty.add(p));
    if (!frame) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        const parts = [...dirty];
        dirty.clear();
        parts.forEach((p) => draw[p]());
      });
    }
  };
  const listeners = {
    status: ["controls"], message: ["controls"], message_kind: ["controls"], epoch: ["controls"], epochs: ["controls"],
    steps: ["controls"], lr: ["controls"], loss: ["loss"], batch_loss: ["loss"], loss_curve: ["loss"],
    boundary: ["boundary"], points: ["boundary"], network: ["network"], selection: ["network", "detail"],
  };
  const handlers = Object.entries(listeners).map(([name, parts]) => {
    const h = () => schedule(...parts);
    model.on(`change:${name}`, h);
    return [name, h];
  });
  Object.values(draw).forEach((f) => f());
  root.dataset.ready = "1";
  return () => {
    handlers.forEach(([name, h]) => model.off(`change:${name}`, h));
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { render };
