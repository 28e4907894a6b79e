/* glassnet training report: a small hand-written app over the data that glassnet/viz/report.py inlines.
 *
 * Data: #gn-payload holds zlib-compressed JSON (see report_data in report.py), #gn-maps the neuron maps:
 * for each kept snapshot, each unit's activations over an R x R grid (row 0 at the top), quantised to
 * uint8 against that map's [lo, hi] and delta-coded (over snapshots, then along rows; see decodeMaps).
 * The browser inflates both with DecompressionStream.
 * Element ids: neuron "n<l>_<j>" (l = 0 for inputs), edge "e<l>_<i>_<j>" (weight W[i, j] of layer l).
 * A layer whose parameters are W and b (meta.layers[l - 1].weights: Dense) is drawn as edges and biases; any
 * other layer (one of your own) as its units, its formula between the columns and its parameters by their names.
 * When everything is drawn, <body data-ready="1">; on a failure the status line says what went wrong.
 */
"use strict";
(function () {
  const SVGNS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const state = { snap: 0, sample: 0, timer: null, selectedRefs: [] };
  let D = null, MAPS = null;

  // ------------------------------------------------------------------ helpers
  function fmt(v) {  // 6 significant digits: what the ledger and tooltips print
    if (v === null || v === undefined || Number.isNaN(v)) return "n/a";
    if (v === 0) return "0";
    return String(Number(v.toPrecision(6)));
  }
  function short(v) { return v === 0 ? "0" : String(Number(v.toPrecision(3))); }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  async function inflate(id) {
    const b64 = $(id).textContent.trim();
    if (!b64) return null;
    const bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  // Orange (t < 0) - white (0) - blue (t > 0), t in [-1, 1].
  function diverge(t) {
    t = Math.max(-1, Math.min(1, t));
    const c = t < 0 ? [217, 115, 13] : [11, 111, 176], a = Math.abs(t);
    return [255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a];
  }
  const sizes = () => D.meta.sizes;
  const nLayers = () => D.meta.sizes.length - 1;
  const nearest = (list, k) => list.reduce((best, v, i) => Math.abs(v - k) < Math.abs(list[best] - k) ? i : best, 0);
  const epochOf = (k) => D.snapshots.epochs[k];
  const unitName = (l, j) => l === 0 ? `x_${j + 1}` : (l === nLayers() ? `output ${j + 1}` : `h^(${l})_${j + 1}`);
  // How layer l (1-based) is drawn: report.py's meta.layers; a report without it has Dense layers only.
  const layerInfo = (l) => (D.meta.layers || [])[l - 1] || { type: "Dense", weights: true, params: ["W", "b"], formulas: [] };
  const drawsWeights = (l) => layerInfo(l).weights;
  function unitParams(l, P) {  // [name, values] of layer l's parameters that hold one number per unit
    const n = sizes()[l];
    return Object.entries(P[l - 1]).filter(([, v]) => Array.isArray(v) && v.length === n && v.every((x) => typeof x === "number"));
  }

  // ------------------------------------------------------------------ maps
  function decodeMaps(coded) {  // undo the delta coding of report.py's neuron_maps: along rows, then over snapshots
    const g = D.grid, R = g.resolution, units = sizes().slice(1).reduce((a, b) => a + b, 0), per = units * R * R;
    const out = new Uint8Array(coded.length);
    for (let kk = 0; kk < g.snapshots.length; kk++) {
      for (let row = 0; row < units * R; row++) {
        let acc = 0;
        for (let c = 0; c < R; c++) {
          const p = kk * per + row * R + c;
          acc = (acc + coded[p]) & 255;
          out[p] = kk ? (out[p - per] + acc) & 255 : acc;
        }
      }
    }
    return out;
  }
  function mapsAt(k) {  // the decoded maps of the kept snapshot nearest snapshot k
    const g = D.grid, kk = nearest(g.snapshots, k), per = sizes().slice(1).reduce((a, b) => a + b, 0) * g.resolution ** 2;
    return { kk, bytes: MAPS.subarray(kk * per, (kk + 1) * per) };
  }
  function unitIndex(l, j) { let u = 0; for (let m = 1; m < l; m++) u += sizes()[m]; return u + j; }
  function mapValues(k, l, j) {  // Float64Array of the unit's activations over the grid
    const { kk, bytes } = mapsAt(k), n = D.grid.resolution ** 2, u = unitIndex(l, j);
    const [lo, hi] = D.grid.ranges[kk][u], out = new Float64Array(n);
    for (let p = 0; p < n; p++) out[p] = lo + bytes[u * n + p] / 255 * (hi - lo);
    return out;
  }
  function colourOf(out, lo, hi) {  // value -> t in [-1, 1] around the activation's natural centre (meta.outputs)
    const c = out.centre;
    if (out.bounds) { const half = (out.bounds[1] - out.bounds[0]) / 2 || 1; return (v) => (v - c) / half; }
    const m = Math.max(Math.abs(lo - c), Math.abs(hi - c)) || 1;
    return (v) => (v - c) / m;
  }
  function paintUnit(canvas, k, l, j) {  // a unit's map, with a dotted line where it crosses its centre (no colour needed)
    const { kk } = mapsAt(k), [lo, hi] = D.grid.ranges[kk][unitIndex(l, j)], out = D.meta.outputs[l - 1];
    const values = mapValues(k, l, j), ctx = paint(canvas, values, colourOf(out, lo, hi));
    const centre = out.centre;
    if (lo < centre && centre < hi) {
      ctx.strokeStyle = "#222"; ctx.lineWidth = Math.max(1, canvas.width / 48); ctx.setLineDash([2, 2]);
      contour(ctx, values, centre, canvas.width, canvas.height); ctx.setLineDash([]);
    }
    return [lo, hi, kk];
  }
  function paint(canvas, values, toT) {
    const R = D.grid.resolution, off = document.createElement("canvas");
    off.width = off.height = R;
    const ctx = off.getContext("2d"), img = ctx.createImageData(R, R);
    for (let p = 0; p < R * R; p++) {
      const [r, g, b] = diverge(toT(values[p]));
      img.data.set([r, g, b, 255], 4 * p);
    }
    ctx.putImageData(img, 0, 0);
    // Grid point (r, c) is the sample at (c, r) * cell, as for the contour and the markers: each pixel of
    // the R x R image is centred on its grid point, so the picture overhangs the canvas by half a cell.
    const c = canvas.getContext("2d"), cw = canvas.width / (R - 1), ch = canvas.height / (R - 1);
    c.imageSmoothingEnabled = true;
    c.clearRect(0, 0, canvas.width, canvas.height);
    c.drawImage(off, -cw / 2, -ch / 2, canvas.width + cw, canvas.height + ch);
    return c;
  }

  // ------------------------------------------------------------------ decision boundary
  function contour(ctx, values, level, W, H) {  // marching squares at `level`, drawn as line segments
    const R = D.grid.resolution, sx = W / (R - 1), sy = H / (R - 1);
    ctx.beginPath();
    for (let r = 0; r < R - 1; r++) for (let c = 0; c < R - 1; c++) {
      const v = [values[r * R + c], values[r * R + c + 1], values[(r + 1) * R + c + 1], values[(r + 1) * R + c]];
      const corner = [[c, r], [c + 1, r], [c + 1, r + 1], [c, r + 1]], pts = [];
      for (let e = 0; e < 4; e++) {
        const a = v[e] - level, b = v[(e + 1) % 4] - level;
        if ((a < 0) !== (b < 0)) {
          const t = a / (a - b), p = corner[e], q = corner[(e + 1) % 4];
          pts.push([(p[0] + t * (q[0] - p[0])) * sx, (p[1] + t * (q[1] - p[1])) * sy]);
        }
      }
      for (let i = 0; i + 1 < pts.length; i += 2) { ctx.moveTo(...pts[i]); ctx.lineTo(...pts[i + 1]); }
    }
    ctx.stroke();
  }
  function drawBoundary() {
    const canvas = $("boundary"), k = state.snap, L = nLayers(), nOut = sizes()[L], out = D.meta.outputs[L - 1];
    const R = D.grid.resolution, W = canvas.width, H = canvas.height, [x0, x1, y0, y1] = D.grid.bounds;
    let values, level, caption;
    if (nOut === 1 || D.points.kind === "regression") {  // one output (or a regression: its first output)
      values = mapValues(k, L, 0);
      const [lo, hi] = D.grid.ranges[mapsAt(k).kk][unitIndex(L, 0)];
      // a bounded output (sigmoid, tanh) has a natural centre; an unbounded one: 0.5 for 0/1 targets, else its middle
      level = out.bounds ? out.centre : (D.points.kind === "binary" ? 0.5 : (lo + hi) / 2);
      const ctx = paint(canvas, values, out.bounds ? colourOf(out, lo, hi) : (v) => (v - level) / (Math.max(hi - level, level - lo) || 1));
      const above = values.filter((v) => v > level).length / values.length;
      hatchCells(ctx, values, W, H, (v) => v > level, "/");
      ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.setLineDash([6, 4]);
      contour(ctx, values, level, W, H); ctx.setLineDash([]);
      caption = `${nOut > 1 ? "output 1 (of " + nOut + ")" : "the output"} is above ${short(level)} (hatched, blue) on ${(100 * above).toFixed(1)}% of the plotted plane ` +
        `and below it (plain, orange) on the rest; the dashed line is where it equals ${short(level)}.`;
    } else {  // several outputs: colour by the predicted class, class borders drawn as lines
      const outs = []; for (let j = 0; j < nOut; j++) outs.push(mapValues(k, L, j));
      values = new Float64Array(R * R);
      const counts = new Array(nOut).fill(0);
      for (let p = 0; p < R * R; p++) { let best = 0; for (let j = 1; j < nOut; j++) if (outs[j][p] > outs[best][p]) best = j; values[p] = best; counts[best]++; }
      const ctx = paint(canvas, values, (v) => nOut === 2 ? 2 * v - 1 : -1 + 2 * v / (nOut - 1));
      for (let j = 1; j < nOut; j++) hatchCells(ctx, values, W, H, (v) => v === j, HATCHES[j % HATCHES.length] || "+");
      ctx.strokeStyle = "#111"; ctx.lineWidth = 2;
      for (let j = 0; j < nOut - 1; j++) contour(ctx, values, j + 0.5, W, H);
      const pattern = (j) => j === 0 ? "plain" : `hatched ${HATCHES[j % HATCHES.length] || "+"}`;
      caption = "predicted class by region: " + counts.map((c, j) => `class ${j} (${pattern(j)}) on ${(100 * c / (R * R)).toFixed(1)}%`).join(", ") +
        "; solid lines separate the classes.";
    }
    drawPoints(canvas.getContext("2d"), W, H, x0, x1, y0, y1);
    const text = `Epoch ${epochOf(k)}: ${caption} Markers are the samples (${legendText()}).`;
    $("boundary-caption").textContent = text;
    canvas.setAttribute("aria-label", "Decision boundary. " + text);
  }
  const HATCHES = ["", "/", "\\", "|", "-", "+"];  // class 0 plain, then one line pattern per class
  function hatch(ctx, kind) {
    const t = document.createElement("canvas"); t.width = t.height = 8;
    const c = t.getContext("2d"); c.strokeStyle = "rgba(0,0,0,0.28)"; c.lineWidth = 1;
    c.beginPath();
    if (kind === "/") { c.moveTo(0, 8); c.lineTo(8, 0); }
    if (kind === "\\") { c.moveTo(0, 0); c.lineTo(8, 8); }
    if (kind === "|" || kind === "+") { c.moveTo(4, 0); c.lineTo(4, 8); }
    if (kind === "-" || kind === "+") { c.moveTo(0, 4); c.lineTo(8, 4); }
    c.stroke();
    return ctx.createPattern(t, "repeat");
  }
  function hatchCells(ctx, values, W, H, test, kind) {  // fill the cell around each grid point that passes `test`
    const R = D.grid.resolution, cw = W / (R - 1), ch = H / (R - 1);
    ctx.fillStyle = hatch(ctx, kind);
    for (let p = 0; p < R * R; p++) if (test(values[p])) ctx.fillRect((p % R - 0.5) * cw, (Math.floor(p / R) - 0.5) * ch, cw, ch);
  }
  const MARKERS = ["circle", "cross", "triangle", "square", "diamond", "plus"];
  function legendText() {
    if (D.points.kind === "regression") return "circles; filled darker for larger targets";
    const classes = [...new Set(D.points.y)].sort((a, b) => a - b);
    return classes.map((c) => `class ${c}: ${MARKERS[c % MARKERS.length]}`).join(", ");
  }
  function drawPoints(ctx, W, H, x0, x1, y0, y1) {
    const ys = D.points.y, ymin = Math.min(...ys), ymax = Math.max(...ys);
    D.points.X.forEach((p, i) => {
      const x = (p[0] - x0) / (x1 - x0) * W, y = (y1 - p[1]) / (y1 - y0) * H, s = 4.5;
      const cls = D.points.kind === "regression" ? 0 : ys[i];
      ctx.lineWidth = 1.6; ctx.strokeStyle = "#000";
      ctx.fillStyle = D.points.kind === "regression" ? `rgb(${diverge((ys[i] - ymin) / ((ymax - ymin) || 1) * 2 - 1).join(",")})` : "#fff";
      ctx.beginPath();
      switch (MARKERS[cls % MARKERS.length]) {
        case "circle": ctx.arc(x, y, s, 0, 2 * Math.PI); ctx.fill(); break;
        case "cross": ctx.moveTo(x - s, y - s); ctx.lineTo(x + s, y + s); ctx.moveTo(x + s, y - s); ctx.lineTo(x - s, y + s); ctx.lineWidth = 2.4; break;
        case "triangle": ctx.moveTo(x, y - s); ctx.lineTo(x + s, y + s); ctx.lineTo(x - s, y + s); ctx.closePath(); ctx.fill(); break;
        case "square": ctx.rect(x - s, y - s, 2 * s, 2 * s); ctx.fill(); break;
        case "diamond": ctx.moveTo(x, y - s); ctx.lineTo(x + s, y); ctx.lineTo(x, y + s); ctx.lineTo(x - s, y); ctx.closePath(); ctx.fill(); break;
        default: ctx.moveTo(x - s, y); ctx.lineTo(x + s, y); ctx.moveTo(x, y - s); ctx.lineTo(x, y + s);
      }
      ctx.stroke();
    });
  }

  // ------------------------------------------------------------------ network diagram
  let layout = null;
  function buildNetwork() {
    const s = sizes(), maxUnits = Math.max(...s), box = 26, gapY = Math.max(34, box + 12);
    const width = 160 + 170 * (s.length - 1), height = Math.max(260, 70 + gapY * maxUnits);
    const root = $("network");
    root.setAttribute("viewBox", `0 0 ${width} ${height}`);
    root.innerHTML = "";
    const pos = s.map((n, l) => Array.from({ length: n }, (_, j) => [80 + 170 * l, 50 + (height - 70) * (j + 0.5) / n]));
    const edges = svg("g", { id: "edges" }), nodes = svg("g", { id: "nodes" });
    root.append(edges, nodes);
    const nEdges = s.slice(1).reduce((a, n, l) => a + (drawsWeights(l + 1) ? n * s[l] : 0), 0), showEdgeNumbers = nEdges <= 20;
    for (let l = 1; l < s.length; l++) {
      if (!drawsWeights(l)) {  // a layer of your own: no edges (its connections are its own); its formulas, above the gap
        const info = layerInfo(l), lines = [`${info.type}:`].concat(info.formulas || []), x = (pos[l - 1][0][0] + pos[l][0][0]) / 2;
        const g = svg("g", { class: "layer-link", id: `link${l}`, role: "img", "aria-label": `layer ${l}, ${lines.join(" ")}` });
        lines.forEach((line, n) => g.append(svg("text", { class: "link-text", x, y: 33 + 11 * n, "text-anchor": "middle" }, line)));
        edges.append(g);
        continue;
      }
      for (let i = 0; i < s[l - 1]; i++) for (let j = 0; j < s[l]; j++) {
        const [xa, ya] = pos[l - 1][i], [xb, yb] = pos[l][j], id = `e${l}_${i}_${j}`;
        // Every edge is reachable with Tab in small networks; in wide ones the weights table says the same.
        const g = svg("g", Object.assign({ "data-edge": id, role: "img" }, nEdges <= 40 ? { tabindex: "0" } : {}));
        g.append(svg("line", { id, class: "edge", x1: xa + box / 2, y1: ya, x2: xb - box / 2, y2: yb }),
          svg("line", { class: "hit", x1: xa + box / 2, y1: ya, x2: xb - box / 2, y2: yb }));
        const t = 0.25 + 0.5 * (i * s[l] + j + 0.5) / (s[l - 1] * s[l]);  // spread the labels along the edges
        if (showEdgeNumbers) g.append(svg("text", { class: "edge-value", id: `${id}-value`, x: xa + t * (xb - xa), y: ya + t * (yb - ya) - 3 }, ""));
        edges.append(g);
      }
    }
    s.forEach((n, l) => {
      const title = l === 0 ? "inputs" : (l === s.length - 1 ? `output (${D.meta.activations[l - 1]})` : `hidden ${l} (${D.meta.activations[l - 1]})`);
      nodes.append(svg("text", { class: "layer-title", x: pos[l][0][0] - 30, y: 20 }, title));
      for (let j = 0; j < n; j++) {
        const [x, y] = pos[l][j], id = `n${l}_${j}`;
        const g = svg("g", { id, class: "node", tabindex: "0", role: "img", "data-node": id });
        if (D.grid && l > 0) g.append(svg("image", { x: x - box / 2, y: y - box / 2, width: box, height: box, preserveAspectRatio: "none" }));
        g.append(svg("rect", { x: x - box / 2, y: y - box / 2, width: box, height: box, fill: l === 0 || !D.grid ? "#fff" : "none" }));
        if (l === 0) g.append(svg("text", { x: x - 9, y: y + 4 }, `x${j + 1}`));
        else if (drawsWeights(l)) g.append(svg("text", { class: "bias-value", id: `${id}-bias`, x: x + box / 2 + 3, y: y + 4 }, ""));
        else g.append(svg("text", { class: "param-value", id: `${id}-params`, x: x + box / 2 + 3, y: y + 4 }, ""));
        nodes.append(g);
      }
    });
    layout = { pos, box };
    root.addEventListener("mouseover", hover); root.addEventListener("focusin", hover);
    root.addEventListener("mouseout", unhover); root.addEventListener("focusout", unhover);
  }
  function params(k) { return D.snapshots.params[k]; }
  function drawNetwork() {
    const k = state.snap, P = params(k), s = sizes();
    let maxW = 1e-12;
    P.forEach((layer, li) => { if (drawsWeights(li + 1)) layer.W.forEach((row) => row.forEach((w) => { maxW = Math.max(maxW, Math.abs(w)); })); });
    for (let l = 1; l < s.length; l++) {
      if (!drawsWeights(l)) {
        const own = unitParams(l, P);
        for (let j = 0; j < s[l]; j++) {
          $(`n${l}_${j}-params`).textContent = own.map(([name, v]) => `${name} ${short(v[j])}`).join(" ");
          $(`n${l}_${j}`).setAttribute("aria-label", [`${unitName(l, j)} (${layerInfo(l).type})`]
            .concat(own.map(([name, v]) => `${name}^(${l})_${j + 1} = ${fmt(v[j])}`)).join(", "));
          paintNode(k, l, j);
        }
        continue;
      }
      for (let i = 0; i < s[l - 1]; i++) for (let j = 0; j < s[l]; j++) {
        const w = P[l - 1].W[i][j], line = $(`e${l}_${i}_${j}`);
        line.setAttribute("stroke", w >= 0 ? "var(--pos)" : "var(--neg)");
        line.setAttribute("stroke-width", (0.4 + 3.6 * Math.abs(w) / maxW).toFixed(2));
        line.classList.toggle("neg", w < 0);
        line.parentNode.setAttribute("aria-label", `weight w^(${l})_{${i + 1},${j + 1}} = ${fmt(w)}`);
        const label = $(`e${l}_${i}_${j}-value`);
        if (label) label.textContent = short(w);
      }
      for (let j = 0; j < s[l]; j++) {
        const b = P[l - 1].b[j];
        $(`n${l}_${j}-bias`).textContent = `b ${short(b)}`;
        $(`n${l}_${j}`).setAttribute("aria-label", `${unitName(l, j)}, bias b^(${l})_${j + 1} = ${fmt(b)}`);
        paintNode(k, l, j);
      }
    }
    const sizesText = s.join("-"), own = [];
    for (let l = 1; l < s.length; l++) if (!drawsWeights(l)) own.push(`layer ${l} (${layerInfo(l).type})`);
    $("network-caption").textContent = own.length === 0
      ? `The ${sizesText} network at epoch ${epochOf(k)}: biases are printed beside each neuron; ` +
        `the largest weight magnitude is ${fmt(maxW)}. The table below lists every weight and bias.`
      : `The ${sizesText} network at epoch ${epochOf(k)}. ${own.join(", ").replace(/^l/, "L")} ${own.length > 1 ? "are layers" : "is a layer"} ` +
        "of your own, drawn without edges (its formula is printed above the gap before its units); its parameters that hold one number per unit " +
        "are printed beside its units. " + (own.length < s.length - 1 ? `Elsewhere biases are printed beside each neuron; the largest weight magnitude is ${fmt(maxW)}. ` : "") +
        "The table below lists every parameter.";
    drawWeightTables(P);
  }
  function paintNode(k, l, j) {  // the unit's activation map inside its box
    if (!D.grid) return;
    const c = document.createElement("canvas"); c.width = c.height = 48;
    paintUnit(c, k, l, j);
    $(`n${l}_${j}`).querySelector("image").setAttribute("href", c.toDataURL());
  }
  function drawWeightTables(P) {
    const box = $("weights-tables"); box.innerHTML = "";
    P.forEach((layer, li) => {
      if (!drawsWeights(li + 1)) { box.append(ownTable(layer, li + 1)); return; }
      const l = li + 1, t = el("table", { "aria-label": `layer ${l} weights and biases` });
      const head = el("tr"); head.append(el("th", { class: "text" }, `layer ${l}`));
      layer.b.forEach((_, j) => head.append(el("th", {}, `unit ${j + 1}`)));
      t.append(head);
      layer.W.forEach((row, i) => {
        const tr = el("tr"); tr.append(el("th", { class: "text" }, `w from ${l === 1 ? "x" : "a^(" + (l - 1) + ")"}_${i + 1}`));
        row.forEach((w) => tr.append(el("td", {}, fmt(w)))); t.append(tr);
      });
      const tr = el("tr"); tr.append(el("th", { class: "text" }, "b")); layer.b.forEach((b) => tr.append(el("td", {}, fmt(b)))); t.append(tr);
      box.append(t);
    });
  }

  function ownTable(layer, l) {  // a layer of your own: each parameter by its name, a row per unit-sized run of numbers
    const type = layerInfo(l).type, n = sizes()[l], t = el("table", { "aria-label": `layer ${l} (${type}) parameters` });
    const head = el("tr"); head.append(el("th", { class: "text" }, `layer ${l} (${type})`));
    for (let j = 0; j < n; j++) head.append(el("th", {}, `unit ${j + 1}`));
    t.append(head);
    const row = (label, values) => {
      const tr = el("tr"); tr.append(el("th", { class: "text" }, label));
      values.forEach((v) => tr.append(el("td", {}, fmt(v)))); t.append(tr);
    };
    Object.entries(layer).forEach(([name, v]) => {
      if (!Array.isArray(v)) row(name, [v]);
      else if (v.length && Array.isArray(v[0])) v.forEach((r, i) => row(`${name}[${i + 1}]`, r.flat(Infinity)));
      else row(name, v);
    });
    return t;
  }

  // ------------------------------------------------------------------ tooltips
  function ledgerAt() {  // the ledger of the selected sample at the snapshot nearest the selected one
    const L = D.ledgers;
    if (!L) return { entry: null, epoch: null };
    const li = nearest(L.snapshots, state.snap);
    return { entry: L.traces[li][state.sample], epoch: epochOf(L.snapshots[li]) };
  }
  function hover(ev) {
    const target = ev.target.closest("[data-node], [data-edge]");
    if (!target) return;
    const { entry: found, epoch } = ledgerAt(), k = state.snap, lines = [];
    const entry = found || { neurons: {}, edges: {}, inputs: [] };
    const where = epoch === epochOf(k) ? `at epoch ${epoch}` : `at epoch ${epoch}, the nearest with a ledger`;
    const sample = found ? D.ledgers.samples[state.sample].index : "(none: no ledger)";
    if (target.dataset.node) {
      const [l, j] = target.dataset.node.slice(1).split("_").map(Number), v = entry.neurons[target.dataset.node] || {};
      lines.push(unitName(l, j) + (l > 0 ? ` (layer ${l}, ${D.meta.activations[l - 1]})` : " (input)"));
      if (l === 0) lines.push(`value x_${j + 1} = ${fmt(entry.inputs[j])} (sample ${sample})`);
      else if (!drawsWeights(l)) {  // a layer of your own: its per-unit parameters by name
        const own = unitParams(l, params(k)), g = entry.params || {};
        own.forEach(([name, v]) => lines.push(`${name} = ${fmt(v[j])} (epoch ${epochOf(k)})`));
        lines.push(`sample ${sample}, ${where}:`);
        lines.push(`value a = ${fmt(v.a)}` + (v.dA === undefined ? "" : `, dL/da = ${fmt(v.dA)}`));
        own.forEach(([name]) => {
          const p = g[`${l - 1}.${name}`];
          if (p) lines.push(`gradient dL/d${name} = ${fmt(p.grad[j])}, update ${name} -> ${fmt(p.new[j])}`);
        });
      } else {
        lines.push(`bias b = ${fmt(params(k)[l - 1].b[j])} (epoch ${epochOf(k)})`);
        lines.push(`sample ${sample}, ${where}:`);
        lines.push(`value z = ${fmt(v.z)}, a = ${fmt(v.a)}`);
        lines.push(`gradient delta = dL/dz = ${fmt(v.delta)}, dL/db = ${fmt(v.grad_b)}`);
        lines.push(`update b -> ${fmt(v.new_b)}`);
      }
    } else {
      const id = target.dataset.edge, [l, i, j] = id.slice(1).split("_").map(Number), v = entry.edges[id] || {};
      lines.push(`weight w^(${l})_{${i + 1},${j + 1}} from ${unitName(l - 1, i)} to ${unitName(l, j)}`);
      lines.push(`value w = ${fmt(params(k)[l - 1].W[i][j])} (epoch ${epochOf(k)})`);
      lines.push(`sample ${sample}, ${where}:`);
      lines.push(`gradient dL/dw = ${fmt(v.grad)}`);
      lines.push(`update w -> ${fmt(v.new)}`);
    }
    const tip = $("tooltip");
    tip.textContent = lines.join("\n");
    tip.hidden = false;
    const r = target.getBoundingClientRect();
    tip.style.left = Math.min(window.innerWidth - 370, r.right + 8) + "px";
    tip.style.top = Math.max(4, r.top - 10) + "px";
    target.setAttribute("aria-describedby", "tooltip");
  }
  function unhover() { $("tooltip").hidden = true; }

  // ------------------------------------------------------------------ neuron maps panel
  function drawNeurons() {
    const box = $("neurons");
    if (!D.grid) { box.textContent = "Activation maps need data with 2 input features."; return; }
    if (!box.childElementCount) {
      for (let l = 1; l <= nLayers(); l++) {
        const row = el("div", { class: "layer-row" });
        row.append(el("h3", {}, `${l === nLayers() ? "Output" : "Hidden"} layer ${l} (${D.meta.activations[l - 1]})`));
        for (let j = 0; j < sizes()[l]; j++) {
          const fig = el("figure", { class: "map" });
          fig.append(el("canvas", { id: `map${l}_${j}`, width: "64", height: "64", role: "img" }), el("figcaption", { id: `map${l}_${j}-cap` }));
          row.append(fig);
        }
        box.append(row);
      }
    }
    const k = state.snap;
    for (let l = 1; l <= nLayers(); l++) for (let j = 0; j < sizes()[l]; j++) {
      const c = $(`map${l}_${j}`), [lo, hi, kk] = paintUnit(c, k, l, j);
      const cap = $(`map${l}_${j}-cap`);
      cap.textContent = unitName(l, j);
      cap.append(document.createElement("br"), `${short(lo)} .. ${short(hi)}`);
      c.setAttribute("aria-label", `activation of ${unitName(l, j)} over the input plane at epoch ${epochOf(D.grid.snapshots[kk])}, from ${fmt(lo)} to ${fmt(hi)}`);
    }
  }

  // ------------------------------------------------------------------ curves
  function drawChart(root, keys, label, allowLog, legendBelow) {  // a line chart of curves; returns its epoch -> x mapping
    const C = D.curves, W = 520, H = 200, m = { l: 52, r: 10, t: 10, b: 30 };
    root.setAttribute("viewBox", `0 0 ${W} ${H}`);
    root.innerHTML = "";
    const series = keys.filter(([key]) => C[key]);
    const all = series.flatMap(([key]) => C[key]), lo = Math.min(...all), hi = Math.max(...all);
    const logScale = allowLog && lo > 0 && hi / lo > 20, f = logScale ? Math.log10 : (v) => v;
    const e0 = C.epoch[0], e1 = C.epoch[C.epoch.length - 1] || 1;
    const X = (e) => m.l + (e - e0) / ((e1 - e0) || 1) * (W - m.l - m.r);
    const Y = (v) => H - m.b - (f(v) - f(lo)) / ((f(hi) - f(lo)) || 1) * (H - m.t - m.b);
    root.append(svg("line", { x1: m.l, y1: H - m.b, x2: W - m.r, y2: H - m.b, stroke: "#999" }),
      svg("line", { x1: m.l, y1: m.t, x2: m.l, y2: H - m.b, stroke: "#999" }),
      svg("text", { x: m.l - 4, y: m.t + 8, "text-anchor": "end" }, short(hi)),
      svg("text", { x: m.l - 4, y: H - m.b, "text-anchor": "end" }, short(lo)),
      svg("text", { x: m.l, y: H - 10 }, `epoch ${e0}`), svg("text", { x: W - m.r, y: H - 10, "text-anchor": "end" }, `epoch ${e1}`),
      svg("text", { x: (W + m.l) / 2, y: H - 10, "text-anchor": "middle" }, logScale ? `${label} (log scale)` : label));
    series.forEach(([key, name, dash], n) => {
      const pts = C[key].map((v, i) => `${X(C.epoch[i]).toFixed(1)},${Y(v).toFixed(1)}`).join(" ");
      root.append(svg("polyline", { points: pts, fill: "none", stroke: n ? "var(--neg)" : "var(--pos)", "stroke-width": 2, "stroke-dasharray": dash }));
      const y = legendBelow ? H - m.b - 6 - 12 * (series.length - 1 - n) : m.t + 12 + 12 * n;
      root.append(svg("text", { x: W - m.r - 4, y, "text-anchor": "end" }, `${dash ? "- - -" : "----"} ${name}`));
    });
    root.append(svg("line", { class: "curve-marker", y1: m.t, y2: H - m.b, stroke: "#111", "stroke-dasharray": "2 2" }));
    return X;
  }
  function drawCurves() {
    const C = D.curves;
    if (!C.epoch || !C.epoch.length) {
      $("curves").hidden = $("accuracy").hidden = true;
      $("curves-caption").textContent = "No curves: this report was made from a saved model, not a recorded run.";
      return;
    }
    state.curveX = drawChart($("curves"), [["loss", "training loss", ""], ["val_loss", "validation loss", "6 4"]], "loss", true);
    if (C.accuracy) drawChart($("accuracy"), [["accuracy", "training accuracy", ""], ["val_accuracy", "validation accuracy", "6 4"]], "accuracy", false, true);
    else $("accuracy").hidden = true;
    const last = C.loss.length - 1, pct = (v) => `${(100 * v).toFixed(1)}%`;
    $("curves-caption").textContent = `Training loss went from ${fmt(C.loss[0])} at epoch ${C.epoch[0]} to ${fmt(C.loss[last])} at epoch ${C.epoch[last]}` +
      (C.val_loss ? `; validation loss from ${fmt(C.val_loss[0])} to ${fmt(C.val_loss[last])}` : "") +
      (C.accuracy ? `; training accuracy from ${pct(C.accuracy[0])} to ${pct(C.accuracy[last])}` : "") +
      (C.val_accuracy ? `; validation accuracy from ${pct(C.val_accuracy[0])} to ${pct(C.val_accuracy[last])}` : "") +
      ". Solid lines are training, dashed validation; the dotted line marks the selected epoch." +
      (D.breaks && D.breaks.length ? " Red marks: " + D.breaks.map((b) => b.sentence).join(" ") : "");
    drawBreaks();
  }
  function drawBreaks() {  // "when did it break?" (glassnet.find_break): each step found, a marked point on the loss curve
    const root = $("curves");
    (D.breaks || []).forEach((b) => {
      const x = state.curveX(b.at).toFixed(1), mark = svg("g", { class: "break-mark", "data-step": b.step, tabindex: 0 });
      mark.append(svg("line", { x1: x, x2: x, y1: 10, y2: 170, stroke: "var(--hl)", "stroke-width": 1.5 }),
        svg("circle", { cx: x, cy: 16, r: 5, fill: "var(--hl)" }),
        svg("text", { x: +x + 8, y: 20 }, `${b.condition}, step ${b.step}`), svg("title", {}, b.sentence));
      root.append(mark);
    });
  }
  function moveCurveMarker() {
    if (!state.curveX) return;
    const x = state.curveX(epochOf(state.snap)).toFixed(1);
    document.querySelectorAll(".curve-marker").forEach((marker) => { marker.setAttribute("x1", x); marker.setAttribute("x2", x); });
  }

  // ------------------------------------------------------------------ ledger
  const SECTIONS = [["forward", "Forward pass"], ["loss", "Loss"], ["backward", "Backward pass: deltas"],
    ["gradient", "Gradients"], ["update", "Update"], ["check", "Predict, then check"]];
  function drawLedger() {
    const { entry, epoch } = ledgerAt(), box = $("ledger");
    if (!entry) { $("ledger-info").textContent = "No step ledger in this report (see the notes at the top)."; return; }
    const s = D.ledgers.samples[state.sample], key = `${epoch}:${state.sample}`;
    if (key === state.ledgerKey) { refreshInfo(); return; }  // same ledger: keep the list and its highlight
    state.ledgerKey = key;
    function refreshInfo() {
      $("ledger-info").textContent = `One training step on sample ${s.index} (x = ${s.x.map(fmt).join(", ")}; target ${s.y.map(fmt).join(", ")}) ` +
        `from the parameters at epoch ${epoch}` + (epoch === epochOf(state.snap) ? "" : ` (the nearest snapshot with a ledger to epoch ${epochOf(state.snap)})`) +
        `. Loss ${fmt(entry.loss)}. Update with a fresh ${optimizerText()}. Source: ${entry.source}.`;
    }
    refreshInfo();
    box.innerHTML = "";
    box.dataset.epoch = epoch; box.dataset.sample = s.index;
    const known = new Set(SECTIONS.map(([key]) => key));
    const groups = SECTIONS.concat([["", "Other"]]);
    groups.forEach(([key, title]) => {
      const recs = entry.records.filter((r) => key ? r.section === key : !known.has(r.section));
      if (!recs.length) return;
      box.append(el("h3", {}, title));
      const ol = el("ol");
      recs.forEach((r) => {
        const li = el("li", { tabindex: "0", role: "button", "data-refs": r.refs.join(" ") });
        li.append(el("span", { class: "sym" }, r.symbol), document.createTextNode(` ${r.op} `));
        if (r.expr) li.append(el("span", { class: "formula" }, r.expr), document.createTextNode(" = "));
        li.append(el("span", { class: "val" }, fmt(r.value)));
        if (r.note) li.append(el("span", { class: "note" }, `  (${r.note})`));
        ol.append(li);
      });
      box.append(ol);
    });
    highlight([]);
  }
  function optimizerText() {
    const o = D.meta.optimizer;
    if (!o) return "SGD step";
    return `${o.name.toUpperCase()} step (lr ${o.lr})`;
  }
  function highlight(refs, li) {
    document.querySelectorAll("#network .hl").forEach((n) => n.classList.remove("hl"));
    document.querySelectorAll("#ledger li.selected").forEach((n) => n.classList.remove("selected"));
    refs.forEach((id) => { const n = $(id); if (n) n.classList.add("hl"); });
    $("network").classList.toggle("has-hl", refs.length > 0);
    if (li) li.classList.add("selected");
    state.selectedRefs = refs;
    if (refs.length) $("status").textContent = "Highlighted in the diagram: " + refs.map(describeRef).join(", ");
  }
  function describeRef(id) {
    const parts = id.slice(1).split("_").map(Number);
    return id[0] === "n" ? unitName(parts[0], parts[1]) : `w^(${parts[0]})_{${parts[1] + 1},${parts[2] + 1}}`;
  }
  function onLedgerActivate(ev) {
    if (ev.type === "keydown" && ev.key !== "Enter" && ev.key !== " ") return;
    const li = ev.target.closest("li[data-refs]");
    if (!li) return;
    ev.preventDefault();
    highlight(li.dataset.refs ? li.dataset.refs.split(" ") : [], li);
  }

  // ------------------------------------------------------------------ static sections
  function drawStatic() {
    const notes = $("notes");
    D.notes.forEach((n) => notes.append(el("li", {}, n)));
    if (D.ledgers && D.snapshots.epochs.length > 1) {  // jump to the snapshots that have a ledger
      const box = $("ledger-epochs");
      box.append("Ledgers at epochs: ");
      D.ledgers.snapshots.forEach((k) => {
        const b = el("button", { type: "button", class: "jump", "aria-label": `show epoch ${epochOf(k)}` }, String(epochOf(k)));
        b.addEventListener("click", () => setSnap(k));
        box.append(b, " ");
      });
    }
    const sel = $("sample");
    if (D.ledgers) D.ledgers.samples.forEach((s, i) => sel.append(el("option", { value: String(i) },
      `sample ${s.index}: x = (${s.x.map(short).join(", ")}), target ${s.y.map(short).join(", ")}`)));
    const gc = $("gradcheck"), G = D.gradcheck;
    gc.append(el("p", { class: G.ok ? "verdict-good" : "verdict-bad" },
      `${G.ok ? "Backpropagation agrees with finite differences" : "Some gradients disagree with finite differences"} ` +
      `for the final network, on ${G.samples} samples (${G.title}).`));
    const t0 = el("table", { "aria-label": "gradient check, one row per parameter tensor" }), head = el("tr");
    G.columns.forEach((c) => head.append(el("th", { class: "text" }, c.replace(/_/g, " "))));
    t0.append(head);
    G.rows.forEach((row, i) => {
      const tr = el("tr");
      row.forEach((v, c) => tr.append(el("td", { class: typeof v === "number" ? "" : "text" + (c === 1 ? (G.passed[i] ? " verdict-good" : " verdict-bad") : "") },
        typeof v === "number" ? fmt(v) : String(v ?? ""))));
      t0.append(tr);
    });
    const scroller = el("div", { class: "scroll-x" });
    scroller.append(t0);
    gc.append(scroller);
    G.notes.forEach((n) => gc.append(el("p", { class: "hint" }, n)));
    const wb = $("warnings");
    if (D.warnings.length) {
      const ul = el("ul");
      D.warnings.forEach((w) => { const li = el("li"); if (w.check) li.append(el("strong", {}, w.check + ": ")); li.append(document.createTextNode(w.message)); ul.append(li); });
      wb.append(ul);
    } else wb.append(el("p", {}, D.warnings_recorded ? "None: no health warning was raised during training."
      : "Not recorded: health warnings are collected while training (glassnet train ... --report)."));
    const M = D.meta, t = el("table");
    const rows = [["layer sizes", M.sizes.join("-")], ["activations", M.activations.join(", ")], ["loss", M.loss], ["L2", String(M.l2)],
      ["dtype", M.dtype], ["data", `${M.data || "given arrays"} (${M.n_samples} samples)`],
      ["optimizer", M.optimizer ? Object.entries(M.optimizer).map(([k, v]) => `${k} ${v}`).join(", ") : "not recorded"],
      ["epochs", String(M.epochs)], ["batch size", M.batch_size ? String(M.batch_size) : "not recorded"],
      ["stopped", M.stopped || "not recorded"], ["parameters", String(M.n_params ?? M.sizes.slice(1).reduce((a, n, l) => a + n * (M.sizes[l] + 1), 0))],
      ["generated", M.generated]];
    rows.forEach(([k, v]) => { const tr = el("tr"); tr.append(el("th", { class: "text" }, k), el("td", { class: "text" }, v)); t.append(tr); });
    $("architecture").append(t);
  }
  // ------------------------------------------------------------------ wiring
  function update() {
    const k = state.snap, slider = $("epoch");
    const text = `epoch ${epochOf(k)} of ${D.meta.epochs} (snapshot ${k + 1} of ${D.snapshots.epochs.length}), loss ${fmt(D.snapshots.loss[k])}`;
    $("epoch-label").textContent = text;
    slider.setAttribute("aria-valuetext", text);
    if (D.grid) drawBoundary();
    drawNetwork();
    drawNeurons();
    moveCurveMarker();
    drawLedger();
  }
  function setSnap(k) {
    state.snap = Math.max(0, Math.min(D.snapshots.epochs.length - 1, k));
    $("epoch").value = String(state.snap);
    update();
  }
  function togglePlay() {
    const btn = $("play");
    if (state.timer) { clearInterval(state.timer); state.timer = null; btn.textContent = "Play"; btn.setAttribute("aria-pressed", "false"); return; }
    if (state.snap >= D.snapshots.epochs.length - 1) setSnap(0);
    btn.textContent = "Pause"; btn.setAttribute("aria-pressed", "true");
    state.timer = setInterval(() => {
      if (state.snap >= D.snapshots.epochs.length - 1) { togglePlay(); return; }
      setSnap(state.snap + 1);
    }, 150);
  }
  async function main() {
    if (typeof DecompressionStream === "undefined") throw new Error("this browser lacks DecompressionStream; use a current browser");
    D = JSON.parse(new TextDecoder().decode(await inflate("gn-payload")));
    if (D.grid) MAPS = decodeMaps(await inflate("gn-maps"));
    const slider = $("epoch");
    slider.max = String(D.snapshots.epochs.length - 1);
    slider.value = String(D.snapshots.epochs.length - 1);
    state.snap = D.snapshots.epochs.length - 1;
    if (!D.grid) { $("boundary-fig").hidden = true; $("neurons-panel").hidden = true; }
    if (D.snapshots.epochs.length < 2) { slider.disabled = true; $("play").disabled = true; }
    drawStatic();
    buildNetwork();
    drawCurves();
    slider.addEventListener("input", () => setSnap(Number(slider.value)));
    $("play").addEventListener("click", togglePlay);
    $("sample").addEventListener("change", (ev) => { state.sample = Number(ev.target.value); drawLedger(); });
    $("ledger").addEventListener("click", onLedgerActivate);
    $("ledger").addEventListener("keydown", onLedgerActivate);
    update();
    $("status").textContent = `Showing epoch ${epochOf(state.snap)}. Move the slider to step through training.`;
    document.body.dataset.ready = "1";
  }
  main().catch((err) => {
    $("status").textContent = "The report could not be drawn: " + err.message;
    $("status").classList.add("warn");
    document.body.dataset.ready = "error";
    console.error(err);
  });
})();
