/* convscope explorer: the page. Hand-written, no framework, no build step, nothing fetched from
 * elsewhere. Every number shown comes from the server's JSON API (/openapi.json); this file only
 * draws them: heatmaps on canvases, tables, and the sliding window. */
"use strict";

(() => {
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  };

  const state = {
    models: [], model: null, entry: null, detail: null,
    input: null, preview: null, inputLabel: "", source: null,
    forward: null, cell: null, cellResult: null, selectedChannel: 0, sliding: null,
    filters: null, playground: null, frame: 0, pgTimer: null, pgPlaying: true,
    requests: 0,
  };
  window.explorer = { state };          // for the tests and for the curious, from the console

  // ---------------------------------------------------------------- the API

  async function api(path, options = {}) {
    busy(+1);
    try {
      const response = await fetch(path, options);
      let body = null;
      try { body = await response.json(); } catch (_) { body = null; }
      if (!response.ok) throw new Error((body && body.detail) || `${response.status} ${response.statusText}`);
      return body;
    } finally {
      busy(-1);
    }
  }
  const postJSON = (path, payload) => api(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
  });

  function busy(delta) {
    state.requests += delta;
    $("#status").textContent = state.requests > 0 ? "computing\u2026" : "";
    document.body.dataset.busy = state.requests > 0 ? "1" : "0";
  }

  let errorTimer = null;
  function showError(error) {
    const box = $("#error");
    box.textContent = error instanceof Error ? error.message : String(error);
    box.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { box.hidden = true; }, 9000);
  }
  const guarded = (fn) => async (...args) => {
    try { return await fn(...args); } catch (error) { showError(error); return undefined; }
  };

  // ---------------------------------------------------------------- numbers and colours

  const MINUS = "\u2212";
  function fmt(value, digits = 4) {
    if (value === null || value === undefined || Number.isNaN(value)) return "?";
    if (value === 0) return "0";
    const abs = Math.abs(value);
    let text;
    if (abs >= 1e5 || abs < 1e-4) text = value.toExponential(digits - 1);
    else text = Number(value.toPrecision(digits)).toString();
    return text.replace("-", MINUS);
  }

  // RdBu reversed (matplotlib's RdBu_r, the colour map of convscope.viz): blue < 0, white 0, red > 0.
  const STOPS = [[5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
    [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31]];
  function diverging(value, limit) {
    const t = limit > 0 ? Math.max(-1, Math.min(1, value / limit)) : 0;
    const position = (t + 1) * 5;
    const i = Math.min(9, Math.floor(position));
    const f = position - i;
    const a = STOPS[i], b = STOPS[i + 1];
    return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
  }
  const css = (rgb) => `rgb(${rgb.map(Math.round).join(",")})`;
  const inkOn = (value, limit) => (limit > 0 && Math.abs(value / limit) > 0.55 ? "#fff" : "#1d2430");

  function paint(canvas, rows, colour) {
    const h = rows.length, w = h ? rows[0].length : 0;
    canvas.width = Math.max(1, w);
    canvas.height = Math.max(1, h);
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(canvas.width, canvas.height);
    let k = 0;
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const rgb = colour(rows[r][c]);
        image.data[k++] = rgb[0]; image.data[k++] = rgb[1]; image.data[k++] = rgb[2]; image.data[k++] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
  }
  const paintSigned = (canvas, rows, limit) => paint(canvas, rows, (v) => diverging(v, limit));
  function paintGrey(canvas, rows, low, high) {
    const span = high > low ? high - low : 1;
    paint(canvas, rows, (v) => { const g = 255 * (v - low) / span; return [g, g, g]; });
  }
  function extent(values) {
    let low = Infinity, high = -Infinity;
    const walk = (v) => { if (Array.isArray(v)) v.forEach(walk); else { low = Math.min(low, v); high = Math.max(high, v); } };
    walk(values);
    return [low, high];
  }
  function paintInput(canvas, input) {
    const [low, high] = extent(input);
    if (input.length === 3) {
      const span = high > low ? high - low : 1;
      const rows = input[0].map((row, r) => row.map((_, c) => [0, 1, 2].map((k) => 255 * (input[k][r][c] - low) / span)));
      paint(canvas, rows, (rgb) => rgb);
    } else {
      paintGrey(canvas, input[0], low, high);
    }
  }

  function legend(limit) {
    const canvas = el("canvas");
    const steps = [];
    for (let i = 0; i < 90; i++) steps.push(-limit + (2 * limit * i) / 89);
    paintSigned(canvas, [steps], limit);
    return el("span", { class: "legend", title: "one colour scale per layer, centred on 0" },
      fmt(-limit, 2), canvas, fmt(limit, 2));
  }

  function placeBox(box, rows, cols, height, width) {
    box.style.top = `${(100 * rows[0]) / height}%`;
    box.style.height = `${(100 * (rows[1] - rows[0])) / height}%`;
    box.style.left = `${(100 * cols[0]) / width}%`;
    box.style.width = `${(100 * (cols[1] - cols[0])) / width}%`;
    box.hidden = false;
  }

  // ---------------------------------------------------------------- models

  async function loadModels() {
    const listing = await api("/api/models");
    state.models = listing.models;
    const select = $("#model");
    select.replaceChildren(...state.models.map((m) => el("option", { value: m.key, text: m.label })));
    await chooseModel(state.models[0].key, { first: true });
  }

  async function chooseModel(key, { first = false } = {}) {
    stopSliding();
    state.model = key;
    state.entry = state.models.find((m) => m.key === key);
    $("#model").value = key;
    $("#model-note").textContent = `input ${state.entry.input_shape.join("\u00d7")}` +
      (state.entry.trained ? "" : " \u00b7 random weights: its predictions mean nothing");
    state.detail = await api(`/api/models/${encodeURIComponent(key)}`);
    fillLearnedLayers();
    if (first || !state.source) await loadSample(defaultSample());
    else if (state.source.kind === "sample") await loadSample(state.source.id);
    else await uploadBlob(state.source.blob, state.source.centre);
    if (!$("[data-view=learned]").hidden) await loadLearned();
  }

  function defaultSample() {
    return state.entry.dataset === "fashion-mnist" ? "fashion-0" : "digit-7";
  }

  // ---------------------------------------------------------------- inputs

  async function loadSamples() {
    const { samples } = await api("/api/samples");
    const groups = new Map();
    for (const s of samples) {
      if (!groups.has(s.group)) groups.set(s.group, []);
      groups.get(s.group).push(s);
    }
    const root = $("#samples");
    root.replaceChildren();
    for (const [group, items] of groups) {
      const grid = el("div", { class: "sample-grid" });
      for (const s of items) {
        grid.append(el("button", {
          class: "sample", type: "button", title: s.label, dataset: { sample: s.id },
          onclick: guarded(() => loadSample(s.id)),
        }, el("img", { src: s.thumbnail, alt: s.label }), shortLabel(s)));
      }
      root.append(el("div", { class: "sample-group" }, el("h4", { text: group }), grid));
    }
  }
  function shortLabel(sample) {
    const label = sample.label.replace(/ \(test image \d+\)$/, "").replace(/^digit /, "");
    return label.length > 8 ? `${label.slice(0, 7)}\u2026` : label;
  }

  async function loadSample(id) {
    const query = new URLSearchParams({ model: state.model, invert: $("#invert").value });
    const result = await api(`/api/samples/${encodeURIComponent(id)}?${query}`);
    state.source = { kind: "sample", id };
    $$(".sample").forEach((b) => b.classList.toggle("active", b.dataset.sample === id));
    await setInput(result);
  }

  async function uploadBlob(blob, centre) {
    const form = new FormData();
    form.append("file", blob, blob.name || (centre ? "drawing.png" : "upload.png"));
    form.append("model", state.model);
    form.append("invert", $("#invert").value);
    form.append("centre", centre ? "true" : "false");
    const result = await api("/api/input", { method: "POST", body: form });
    state.source = { kind: "blob", blob, centre };
    $$(".sample").forEach((b) => b.classList.remove("active"));
    await setInput(result);
  }

  async function setInput(result) {
    state.input = result.input;
    state.preview = result.preview;
    state.inputLabel = result.label || result.source;
    paintInput($("#input-canvas"), state.input);
    $("#input-label").textContent = state.inputLabel;
    $("#input-notes").replaceChildren(...result.notes.map((n) => el("li", { text: n })));
    state.cell = null;
    await runForward();
    if (!$("[data-view=filters]").hidden) await applyFilter();
  }

  function setupDrawing() {
    const canvas = $("#draw");
    const ctx = canvas.getContext("2d");
    const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height); };
    clear();
    let drawing = false, last = null;
    const at = (e) => {
      const rect = canvas.getBoundingClientRect();
      return [(e.clientX - rect.left) * canvas.width / rect.width, (e.clientY - rect.top) * canvas.height / rect.height];
    };
    canvas.addEventListener("pointerdown", (e) => { drawing = true; last = at(e); canvas.setPointerCapture(e.pointerId); stroke(e); });
    canvas.addEventListener("pointermove", (e) => { if (drawing) stroke(e); });
    canvas.addEventListener("pointerup", () => { drawing = false; });
    function stroke(e) {
      const point = at(e);
      ctx.strokeStyle = "#fff"; ctx.lineWidth = 15; ctx.lineCap = "round"; ctx.lineJoin = "round";
      ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(point[0], point[1]); ctx.stroke();
      last = point;
    }
    $("#draw-clear").addEventListener("click", clear);
    $("#draw-use").addEventListener("click", () => canvas.toBlob(guarded((blob) => uploadBlob(blob, true)), "image/png"));
  }

  // ---------------------------------------------------------------- (a) the network overview

  async function runForward() {
    stopSliding();
    const fw = await postJSON("/api/forward", { model: state.model, input: state.input });
    state.forward = fw;
    renderLayers(fw);
    renderProbabilities(fw.output);
    $("#cell").hidden = true;
    $("#cell-empty").hidden = false;
  }

  function layerData(name) {
    return state.forward ? state.forward.layers.find((l) => l.name === name) : undefined;
  }

  function renderLayers(fw) {
    const root = $("#layers");
    root.replaceChildren(inputBlock(fw));
    for (const layer of fw.layers) root.append(layerBlock(layer));
    if (fw.layers_total > fw.layers.length) {
      root.append(el("p", { class: "more", text: `showing the first ${fw.layers.length} of ${fw.layers_total} layers (max_layers)` }));
    }
  }

  function inputBlock(fw) {
    const canvas = el("canvas", { class: "pixelated" });
    paintInput(canvas, state.input);
    return el("div", { class: "layer input-layer", dataset: { layer: "input" } },
      el("div", { class: "layer-head" },
        el("span", { class: "layer-title", text: "input " }),
        el("span", { class: "muted", text: `${fw.input.shape.join("\u00d7")}, values ${fmt(fw.input.min)} to ${fmt(fw.input.max)} (grey scale)` })),
      el("div", { class: "maps" }, el("div", { class: "map" }, canvas)));
  }

  function layerBlock(layer) {
    const shape = layer.shape.join("\u00d7");
    const block = el("div", { class: "layer", dataset: { layer: layer.name } },
      el("div", { class: "layer-head" },
        el("span", { class: "layer-title" }, `${layer.name} \u00b7 ${layer.type} `, el("span", { class: "op", text: layer.op || "" })),
        el("span", { class: "muted", text: shape }),
        legend(layer.limit)));
    if (layer.kind === "maps") {
      if (layer.shape[1] <= 14) block.classList.add("small-maps");
      const maps = el("div", { class: "maps" });
      layer.values.forEach((channel, c) => {
        const canvas = el("canvas", { class: "pixelated", title: `${layer.name} channel ${c}` });
        paintSigned(canvas, channel, layer.limit);
        canvas.addEventListener("click", (e) => {
          const [row, col] = cellAt(e, canvas, layer.shape[1], layer.shape[2]);
          guarded(selectCell)(layer.name, c, row, col);
        });
        maps.append(el("div", { class: "map", dataset: { channel: String(c) } }, canvas, el("span", { text: `ch ${c}` })));
      });
      block.append(maps);
      if (layer.shown < layer.shape[0]) block.append(el("div", { class: "more", text: `channels 0\u2013${layer.shown - 1} of ${layer.shape[0]} (max_channels)` }));
    } else {
      const canvas = el("canvas", { class: "pixelated", title: `${layer.name}: ${layer.shape[0]} values` });
      paintSigned(canvas, [layer.values], layer.limit);
      canvas.addEventListener("click", (e) => {
        const [, unit] = cellAt(e, canvas, 1, layer.shown);
        guarded(selectCell)(layer.name, unit, 0, 0);
      });
      block.append(el("div", { class: "vector", dataset: { channel: "vector" } }, canvas));
      if (layer.shown < layer.shape[0]) block.append(el("div", { class: "more", text: `units 0\u2013${layer.shown - 1} of ${layer.shape[0]} (max_units)` }));
    }
    return block;
  }

  function cellAt(event, canvas, height, width) {
    const rect = canvas.getBoundingClientRect();
    const col = Math.min(width - 1, Math.max(0, Math.floor(((event.clientX - rect.left) / rect.width) * width)));
    const row = Math.min(height - 1, Math.max(0, Math.floor(((event.clientY - rect.top) / rect.height) * height)));
    return [row, col];
  }

  function markCell(layerName, channel, row, col) {
    $$(".mark").forEach((m) => m.remove());
    const layer = layerData(layerName);
    const block = $(`.layer[data-layer="${CSS.escape(layerName)}"]`);
    if (!layer || !block) return;
    if (layer.kind === "maps") {
      const map = $(`.map[data-channel="${channel}"]`, block);
      if (!map) return;
      const canvas = $("canvas", map);
      const mark = el("div", { class: "mark" });
      const [h, w] = [layer.shape[1], layer.shape[2]];
      mark.style.left = `${canvas.offsetLeft + (canvas.offsetWidth * col) / w}px`;
      mark.style.top = `${canvas.offsetTop + (canvas.offsetHeight * row) / h}px`;
      mark.style.width = `${Math.max(4, canvas.offsetWidth / w)}px`;
      mark.style.height = `${Math.max(4, canvas.offsetHeight / h)}px`;
      map.append(mark);
    } else {
      const holder = $(".vector", block);
      if (!holder || channel >= layer.shown) return;
      const mark = el("div", { class: "mark" });
      mark.style.left = `${(100 * channel) / layer.shown}%`;
      mark.style.width = `max(4px, ${100 / layer.shown}%)`;
      holder.append(mark);
    }
  }

  function renderProbabilities(output) {
    const best = output.probabilities[output.prediction];
    $("#prediction").replaceChildren(
      el("span", { class: "strong", text: `${output.classes[output.prediction]}` }),
      ` with probability ${(100 * best).toFixed(1)} %`,
      output.trained ? "" : el("div", { class: "small bad", text: "random weights: this prediction means nothing" }));
    $("#probabilities").replaceChildren(...output.probabilities.map((p, i) => el("div", {
      class: `prob${i === output.prediction ? " top" : ""}`, dataset: { class: String(i), value: String(p) },
    }, el("span", { class: "name", text: output.classes[i], title: output.classes[i] }),
    el("span", { class: "bar" }, barFill(p)), el("span", { class: "p", text: `${(100 * p).toFixed(1)}%` }))));
  }
  function barFill(p) {
    const fill = el("div");
    fill.style.width = `${Math.max(0.5, 100 * p)}%`;
    return fill;
  }

  // ---------------------------------------------------------------- (b) one cell explained

  async function selectCell(layer, channel, row, col) {
    markCell(layer, channel, row, col);
    const result = await postJSON("/api/cell", { model: state.model, input: state.input, layer, channel, row, col });
    state.cell = { layer, channel, row, col };
    if (!state.cellResult || state.cellResult.layer !== layer) state.selectedChannel = 0;
    state.cellResult = result;
    renderCell(result);
  }

  function renderCell(res) {
    $("#cell-empty").hidden = true;
    $("#cell").hidden = false;
    const spatial = res.receptive_field !== undefined;
    const where = spatial ? `channel ${res.channel}, cell (row ${res.row}, col ${res.col})` : `unit ${res.channel}`;
    $("#cell-head").replaceChildren(
      el("div", {}, el("strong", { text: `Layer ${res.layer} (${res.type})` }), `, ${where}`),
      el("div", {}, "value ", el("span", { class: "value", id: "cell-value", dataset: { value: String(res.value) }, text: fmt(res.value, 6) }),
        el("span", { class: "muted", text: res.op ? `  computed by the op ${res.op}` : "" })));
    $("#cell-play").hidden = !spatial;
    renderReceptive(res);
    renderSource(res);
    const body = $("#cell-body");
    body.replaceChildren();
    const renderers = { conv: renderConv, pool: renderPool, elementwise: renderElementwise, batch_norm: renderBatchNorm, linear: renderLinear };
    (renderers[res.kind] || renderOther)(res, body);
    const next = sourceCell(res);
    const button = $("#cell-source");
    button.hidden = !next;
    if (next) {
      button.textContent = `Where did the input come from? Layer ${next[0]} \u2192`;
      button.onclick = guarded(() => { stopSliding(); return selectCell(...next); });
    }
  }

  function renderReceptive(res) {
    const figure = $("#rf-canvas").closest("figure");
    const rf = res.receptive_field;
    figure.hidden = !rf;
    if (!rf) return;
    const [, height, width] = state.entry.input_shape;
    paintInput($("#rf-canvas"), state.input);
    placeBox($("#rf-box"), rf.inside_rows, rf.inside_cols, height, width);
    placeBox($("#rf-full"), rf.rows, rf.cols, height, width);
    const size = rf.receptive_field ? rf.receptive_field.join("\u00d7") : "?";
    $("#rf-caption").textContent = rf.global ? "every output sees the whole input" :
      `receptive field on the input: ${size} px, rows ${rf.rows[0]}\u2013${rf.rows[1] - 1}, cols ${rf.cols[0]}\u2013${rf.cols[1] - 1}` +
      ` (jump ${rf.jump.join("\u00d7")}, start ${rf.start.join(", ")}; dashed: the part on the padding)`;
  }

  function sourceChannel(res) {
    if (res.kind === "conv") return res.terms[Math.min(state.selectedChannel, res.terms.length - 1)].channel;
    if (res.kind === "pool") return res.channel_in;
    return res.channel;
  }

  function sourceValues(res, channel) {
    if (res.source === "input") return state.input[channel];
    const layer = layerData(res.source);
    if (!layer || layer.kind !== "maps" || channel >= layer.shown) return null;
    return layer.values[channel];
  }

  function renderSource(res) {
    const figure = $("#src-figure");
    const spatialWindow = res.window && res.source_shape && res.source_shape.length === 3;
    figure.hidden = !spatialWindow;
    if (!spatialWindow) return;
    const channel = sourceChannel(res);
    const values = sourceValues(res, channel);
    const canvas = $("#src-canvas");
    const name = res.source === "input" ? "the input" : `layer ${res.source}`;
    if (!values) {
      canvas.width = canvas.height = 1;
      $("#src-box").hidden = true;
      $("#src-caption").textContent = `${name} channel ${channel} is not in the overview (max_channels)`;
      return;
    }
    if (res.source === "input") {
      const [low, high] = extent(values);
      paintGrey(canvas, values, low, high);
    } else {
      paintSigned(canvas, values, layerData(res.source).limit);
    }
    const [, height, width] = res.source_shape;
    const rows = [Math.max(0, res.window.rows[0]), Math.min(height, res.window.rows[res.window.rows.length - 1] + 1)];
    const cols = [Math.max(0, res.window.cols[0]), Math.min(width, res.window.cols[res.window.cols.length - 1] + 1)];
    placeBox($("#src-box"), rows, cols, height, width);
    $("#src-caption").textContent = `the window on ${name}, channel ${channel}: rows ${res.window.rows[0]}\u2013` +
      `${res.window.rows[res.window.rows.length - 1]}, cols ${res.window.cols[0]}\u2013${res.window.cols[res.window.cols.length - 1]}` +
      (res.stride ? `; stride ${res.stride.join("\u00d7")}` : "");
  }

  function termsTable(terms, inside) {
    const limit = Math.max(1e-12, ...terms.weights.flat().map(Math.abs));
    const table = el("table", { class: "terms", id: "terms" });
    terms.weights.forEach((row, r) => {
      const tr = el("tr");
      row.forEach((w, c) => {
        const td = el("td", { title: `weight ${w}\ninput ${terms.inputs[r][c]}\nproduct ${terms.products[r][c]}` },
          el("span", { class: "w", text: fmt(w, 3) }), el("span", { class: "x", text: ` \u00d7 ${inside[r][c] ? fmt(terms.inputs[r][c], 3) : "pad"}` }),
          el("br"), `= ${fmt(terms.products[r][c], 3)}`);
        if (!inside[r][c]) td.classList.add("pad");
        else { td.style.background = css(diverging(w, limit)); td.style.color = inkOn(w, limit); }
        tr.append(td);
      });
      table.append(tr);
    });
    return table;
  }

  function writtenSum(products, result) {
    const parts = products.flat().map((p) => `(${fmt(p, 3)})`);
    return `${parts.join(" + ")} = ${fmt(result, 6)}`;
  }

  function totalLine(label, total, value) {
    const close = Math.abs(total - value) <= 1e-4 * Math.max(1, Math.abs(value));
    return el("div", { class: "total" }, label,
      el("span", { class: "num", id: "cell-total", dataset: { value: String(total) }, text: fmt(total, 6) }),
      " ", el("span", { class: close ? "ok" : "bad", text: close ? `\u2713 the feature map's value ${fmt(value, 6)}` : `\u2717 differs from ${fmt(value, 6)}` }));
  }

  function renderConv(res, body) {
    const n = res.terms.length;
    const chosen = Math.min(state.selectedChannel, n - 1);
    const t = res.terms[chosen];
    body.append(el("p", { class: "small" },
      `A ${res.kernel.join("\u00d7")} kernel over ${n} input channel${n > 1 ? "s" : ""}` +
      `${res.groups > 1 ? ` (groups ${res.groups})` : ""}, stride ${res.stride.join("\u00d7")}, padding ${res.padding.join("\u00d7")}` +
      `${res.dilation.some((d) => d > 1) ? `, dilation ${res.dilation.join("\u00d7")}` : ""}: ` +
      "weight \u00d7 input under it, summed over the window and the channels, + bias."));
    if (n > 1) {
      const tabs = el("div", { class: "channel-tabs" });
      res.terms.forEach((term, i) => tabs.append(el("button", {
        type: "button", class: i === chosen ? "active" : "", text: `in ${term.channel}: ${fmt(term.sum, 3)}`,
        onclick: () => { state.selectedChannel = i; renderCell(res); },
      })));
      body.append(el("div", { class: "terms-caption", text: "input channel (its partial sum):" }), tabs);
    }
    body.append(el("div", { class: "terms-caption", text: `input channel ${t.channel}: weight \u00d7 input = product` }),
      termsTable(t, res.window.inside));
    body.append(el("div", { class: "sum", id: "cell-sum", text: `\u03a3 channel ${t.channel} = ${writtenSum(t.products, t.sum)}` }));
    const sums = res.terms.map((term) => term.sum);
    const channelsTotal = sums.reduce((a, b) => a + b, 0);
    if (n > 1) {
      body.append(el("div", { class: "sum small", text: `\u03a3 over the ${n} channels = ${sums.map((s) => `(${fmt(s, 4)})`).join(" + ")} = ${fmt(channelsTotal, 6)}` }));
    }
    body.append(totalLine(`${fmt(channelsTotal, 6)} + bias ${fmt(res.bias, 4)} = `, res.total, res.value));
  }

  function renderPool(res, body) {
    const inside = res.window.inside;
    const values = res.values;
    let best = null;
    if (res.rule === "max") {
      values.forEach((row, r) => row.forEach((v, c) => {
        if (inside[r][c] && (best === null || v > values[best[0]][best[1]])) best = [r, c];
      }));
    }
    const table = el("table", { class: "terms", id: "terms" });
    const limit = Math.max(1e-12, ...values.flat().map(Math.abs));
    values.forEach((row, r) => {
      const tr = el("tr");
      row.forEach((v, c) => {
        const td = el("td", { text: inside[r][c] ? fmt(v, 4) : "pad" });
        if (!inside[r][c]) td.classList.add("pad");
        else { td.style.background = css(diverging(v, limit)); td.style.color = inkOn(v, limit); }
        if (best && best[0] === r && best[1] === c) td.style.outline = "2px solid #111";
        tr.append(td);
      });
      table.append(tr);
    });
    const listed = values.flat().filter((_, i) => inside.flat()[i]).map((v) => fmt(v, 4)).join(", ");
    body.append(el("p", { class: "small", text: `A ${res.kernel.join("\u00d7")} ${res.rule} pool, stride ${res.stride.join("\u00d7")}: ` +
      `the ${res.rule === "max" ? "largest" : "mean"} of the window.` }), table,
    el("div", { class: "sum", id: "cell-sum", text: res.rule === "max" ? `max(${listed}) = ${fmt(res.total, 6)}` : `(${listed}) / ${res.divisor} = ${fmt(res.total, 6)}` }),
    totalLine("result ", res.total, res.value));
  }

  const ACTIVATIONS = { relu: "max(0, x)", sigmoid: "1 / (1 + e^\u2212x)", tanh: "tanh(x)", leaky_relu: "x if x > 0 else slope \u00d7 x" };
  function renderElementwise(res, body) {
    const rule = ACTIVATIONS[res.op] || `${res.op}(x)`;
    const from = res.source === "input" ? "the input" : `layer ${res.source}`;
    body.append(el("p", { class: "small", text: `${res.op} works on each value alone: ${rule}, with x the same cell of ${from}.` }),
      el("div", { class: "sum", id: "cell-sum", text: `${res.op}(${fmt(res.input, 6)}) = ${fmt(res.value, 6)}` }),
      totalLine("result ", res.value, res.value));
  }

  function renderBatchNorm(res, body) {
    const text = `(x \u2212 mean) / \u221a(var + eps) \u00d7 weight + bias = (${fmt(res.input, 5)} \u2212 ${fmt(res.mean, 5)}) / ` +
      `\u221a(${fmt(res.var, 5)} + ${fmt(res.eps, 2)}) \u00d7 ${fmt(res.weight, 5)} + ${fmt(res.bias, 5)}`;
    body.append(el("p", { class: "small", text: "Batch norm in eval mode: the training set's running mean and variance of this channel." }),
      el("div", { class: "sum", id: "cell-sum", text: `${text} = ${fmt(res.total, 6)}` }), totalLine("result ", res.total, res.value));
  }

  function renderLinear(res, body) {
    const table = el("table", { class: "terms", id: "terms" });
    table.append(el("tr", {}, ...["input", "weight", "\u00d7 input", "= product"].map((h) => el("td", { class: "muted", text: h }))));
    const limit = Math.max(1e-12, ...res.terms.map((t) => Math.abs(t.product)));
    for (const t of res.terms) {
      const tr = el("tr", {}, el("td", { text: `#${t.index}` }), el("td", { text: fmt(t.weight, 4) }), el("td", { text: fmt(t.input, 4) }),
        el("td", { text: fmt(t.product, 4) }));
      tr.lastChild.style.background = css(diverging(t.product, limit));
      tr.lastChild.style.color = inkOn(t.product, limit);
      table.append(tr);
    }
    const shown = res.terms.reduce((a, t) => a + t.product, 0);
    body.append(el("p", { class: "small", text: `A dot product of ${res.inputs_count} inputs with this unit's weights; the ${res.terms.length} largest terms:` }),
      table,
      el("div", { class: "sum", id: "cell-sum", text: `${writtenSum(res.terms.map((t) => t.product), shown)}; the other ${res.rest_count} terms add ${fmt(res.rest, 5)}` }),
      totalLine(`${fmt(shown + res.rest, 6)} + bias ${fmt(res.bias, 4)} = `, res.total, res.value));
  }

  function renderOther(res, body) {
    body.append(el("p", { class: "small muted", text: `The op ${res.op || "(none recorded)"} is not written out here; the value is the layer's output.` }));
  }

  function sourceCell(res) {
    if (!res.source || res.source === "input" || !layerData(res.source)) return null;
    if (res.kind === "elementwise" || res.kind === "batch_norm") return [res.source, res.channel, res.row, res.col];
    if (res.kind === "pool" && res.rule === "max") {
      let best = null;
      res.values.forEach((row, r) => row.forEach((v, c) => {
        if (res.window.inside[r][c] && (best === null || v > res.values[best[0]][best[1]])) best = [r, c];
      }));
      return best && [res.source, res.channel_in, res.window.rows[best[0]], res.window.cols[best[1]]];
    }
    return null;
  }

  // sliding: the same channel's next cell, row by row, one request per step
  function stopSliding() {
    if (state.sliding) clearTimeout(state.sliding);
    state.sliding = null;
    $("#cell-play").textContent = "\u25b6 Slide the window";
  }
  function toggleSliding() {
    if (state.sliding) { stopSliding(); return; }
    const step = guarded(async () => {
      const { layer, channel, row, col } = state.cell;
      const data = layerData(layer);
      if (!data || data.kind !== "maps") { stopSliding(); return; }
      const [h, w] = [data.shape[1], data.shape[2]];
      const next = col + 1 < w ? [row, col + 1] : [(row + 1) % h, 0];
      await selectCell(layer, channel, next[0], next[1]);
      if (state.sliding) state.sliding = setTimeout(step, 650);
    });
    state.sliding = setTimeout(step, 10);
    $("#cell-play").textContent = "\u275a\u275a Stop";
  }

  // ---------------------------------------------------------------- (c) convolution arithmetic

  const pgField = (id) => $(`#pg-${id}`);
  function pgRequest() {
    const int = (id) => parseInt(pgField(id).value, 10);
    return {
      input_size: int("input"), kernel_size: int("kernel"), stride: int("stride"), padding: int("padding"),
      dilation: int("dilation"), transposed: pgField("transposed").checked,
      output_padding: pgField("transposed").checked ? int("output-padding") : 0,
    };
  }

  let pgDebounce = null;
  function pgChanged() {
    pgField("output-padding").disabled = !pgField("transposed").checked;
    clearTimeout(pgDebounce);
    pgDebounce = setTimeout(() => updatePlayground(), 80);
  }

  async function updatePlayground() {
    const request = pgRequest();
    const formula = $("#pg-formula");
    if (Object.values(request).some((v) => typeof v === "number" && Number.isNaN(v))) {
      formula.className = "formula invalid";
      formula.textContent = "every field needs a whole number";
      return;
    }
    let plan;
    try {
      plan = await postJSON("/api/playground", request);
    } catch (error) {
      formula.className = "formula invalid";
      formula.textContent = error.message;
      state.playground = null;
      drawPlayground();
      return;
    }
    state.playground = plan;
    state.frame = 0;
    formula.className = "formula";
    const same = plan.formula.height === plan.formula.width;
    formula.replaceChildren(...(same ? [el("div", { text: plan.formula.height })] :
      [el("div", { text: `height: ${plan.formula.height}` }), el("div", { text: `width: ${plan.formula.width}` })]),
    el("div", { class: "small", id: "pg-output", text: `output ${plan.output_size.join("\u00d7")}` }));
    $("#pg-header").replaceChildren(...plan.header.slice(1).map((h) => el("div", { text: h })));
    const cli = ["convscope shape", `--input ${request.input_size}`, `--kernel ${request.kernel_size}`];
    if (request.stride !== 1) cli.push(`--stride ${request.stride}`);
    if (request.padding) cli.push(`--padding ${request.padding}`);
    if (request.dilation !== 1) cli.push(`--dilation ${request.dilation}`);
    if (request.transposed) cli.push("--transposed");
    if (request.output_padding) cli.push(`--output-padding ${request.output_padding}`);
    $("#pg-cli").replaceChildren("the same from the command line: ", el("code", { text: cli.join(" ") }));
    restartPlayground();
  }

  const PG = { input: "rgb(38,139,210)", inputTap: "rgb(24,99,140)", zero: "#fff", zeroTap: "rgb(174,186,188)",
    done: "rgb(42,161,152)", todo: "rgb(226,242,241)", highlight: "rgb(203,75,22)", grid: "rgb(0,43,54)", dash: "rgb(140,155,158)" };

  function drawPlayground() {
    const canvas = $("#pg-canvas");
    const ctx = canvas.getContext("2d");
    const plan = state.playground;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!plan) return;
    const rows = plan.grid.rows, cols = plan.grid.cols;
    const [oh, ow] = plan.output_size;
    const gh = rows.source.length, gw = cols.source.length;
    const cell = Math.max(8, Math.min(40, Math.floor(Math.min(460 / (gw + ow + 2), 300 / Math.max(gh, oh)))));
    const top = 30, left = 14, gap = 2 * cell + 20;
    const outLeft = left + gw * cell + gap;
    canvas.height = Math.max(140, top + Math.max(gh, oh) * cell + 16);
    canvas.width = Math.max(420, outLeft + ow * cell + 20);
    const frame = plan.frames[Math.min(state.frame, plan.frames.length - 1)];
    const tapRows = new Set(frame.rows), tapCols = new Set(frame.cols);
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillStyle = "#1d2430";
    ctx.fillText(plan.input_label, left, 18);
    ctx.fillText(plan.output_label, outLeft, 18);
    for (let r = 0; r < gh; r++) {
      for (let c = 0; c < gw; c++) {
        const isInput = rows.source[r] !== null && cols.source[c] !== null;
        const tap = tapRows.has(r) && tapCols.has(c);
        const x = left + c * cell, y = top + r * cell;
        ctx.fillStyle = isInput ? (tap ? PG.inputTap : PG.input) : (tap ? PG.zeroTap : PG.zero);
        ctx.fillRect(x, y, cell, cell);
        ctx.setLineDash(isInput ? [] : [3, 3]);
        ctx.strokeStyle = isInput ? PG.grid : PG.dash;
        ctx.lineWidth = 1;
        ctx.strokeRect(x + 0.5, y + 0.5, cell - 1, cell - 1);
      }
    }
    ctx.setLineDash([]);
    // the window's outline: from the first to the last tap
    const r0 = frame.rows[0], r1 = frame.rows[frame.rows.length - 1], c0 = frame.cols[0], c1 = frame.cols[frame.cols.length - 1];
    ctx.strokeStyle = PG.highlight;
    ctx.lineWidth = 3;
    ctx.strokeRect(left + c0 * cell, top + r0 * cell, (c1 - c0 + 1) * cell, (r1 - r0 + 1) * cell);
    const done = state.frame;
    for (let r = 0; r < oh; r++) {
      for (let c = 0; c < ow; c++) {
        const index = r * ow + c;
        const x = outLeft + c * cell, y = top + r * cell;
        ctx.fillStyle = index <= done ? PG.done : PG.todo;
        ctx.fillRect(x, y, cell, cell);
        ctx.lineWidth = 1;
        ctx.strokeStyle = PG.grid;
        ctx.strokeRect(x + 0.5, y + 0.5, cell - 1, cell - 1);
      }
    }
    ctx.strokeStyle = PG.highlight;
    ctx.lineWidth = 3;
    ctx.strokeRect(outLeft + frame.cell[1] * cell, top + frame.cell[0] * cell, cell, cell);
    // an arrow from the window to its output cell
    ctx.strokeStyle = PG.dash;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(left + (c1 + 1) * cell + 4, top + ((r0 + r1 + 1) / 2) * cell);
    ctx.lineTo(outLeft + frame.cell[1] * cell - 4, top + (frame.cell[0] + 0.5) * cell);
    ctx.stroke();
    $("#pg-step").textContent = `step ${state.frame + 1} of ${plan.frames.length}`;
    $("#pg-caption").replaceChildren(el("div", { text: frame.caption }), el("div", { class: "muted", text: frame.detail }));
  }

  function restartPlayground() {
    clearInterval(state.pgTimer);
    drawPlayground();
    if (state.pgPlaying) state.pgTimer = setInterval(() => stepPlayground(1), 800);
  }
  function stepPlayground(delta) {
    const plan = state.playground;
    if (!plan) return;
    state.frame = (state.frame + delta + plan.frames.length) % plan.frames.length;
    drawPlayground();
  }

  async function setupPlayground() {
    for (const id of ["input", "kernel", "stride", "padding", "dilation", "transposed", "output-padding"]) {
      pgField(id).addEventListener("input", () => { $("#pg-case").value = ""; pgChanged(); });
    }
    $("#pg-prev").addEventListener("click", () => { state.pgPlaying = false; syncPlay(); stepPlayground(-1); });
    $("#pg-next").addEventListener("click", () => { state.pgPlaying = false; syncPlay(); stepPlayground(1); });
    $("#pg-play").addEventListener("click", () => { state.pgPlaying = !state.pgPlaying; syncPlay(); });
    $("#pg-form").addEventListener("submit", (e) => e.preventDefault());
    const { cases } = await api("/api/playground/cases");
    const select = $("#pg-case");
    for (const c of cases) select.append(el("option", { value: c.name, text: c.title }));
    select.addEventListener("change", () => {
      const chosen = cases.find((c) => c.name === select.value);
      if (!chosen) return;
      const a = chosen.arguments;
      pgField("input").value = a.input_size; pgField("kernel").value = a.kernel_size;
      pgField("stride").value = a.stride ?? 1; pgField("padding").value = a.padding ?? 0;
      pgField("dilation").value = a.dilation ?? 1; pgField("transposed").checked = !!a.transposed;
      pgField("output-padding").value = a.output_padding ?? 0;
      pgChanged();
    });
    await updatePlayground();
  }
  function syncPlay() {
    $("#pg-play").innerHTML = state.pgPlaying ? "&#10074;&#10074; pause" : "&#9654; play";
    restartPlayground();
  }

  // ---------------------------------------------------------------- (d) filters

  async function setupFilters() {
    if (state.filters) return;
    const { filters } = await api("/api/filters");
    state.filters = filters;
    const select = $("#flt-name");
    select.replaceChildren(...filters.map((f) => el("option", { value: f.name, text: f.name, title: f.description })),
      el("option", { value: "custom", text: "custom (type it below)" }));
    select.value = "sobel_x";
    select.addEventListener("change", () => { fillMatrix(); applyFilterSoon(); });
    $("#flt-params").addEventListener("input", applyFilterSoon);
    $("#flt-boundary").addEventListener("change", applyFilterSoon);
    $("#flt-matrix").addEventListener("input", () => { $("#flt-name").value = "custom"; $("#flt-params-label").hidden = true; applyFilterSoon(); });
    fillMatrix();
  }
  function fillMatrix() {
    const name = $("#flt-name").value;
    const known = state.filters.find((f) => f.name === name);
    $("#flt-params-label").hidden = !known;
    if (known) {
      $("#flt-matrix").value = known.kernel.map((row) => row.map((v) => Number(v.toPrecision(4))).join(" ")).join("\n");
      $("#flt-params").value = "";
    }
  }
  function parseMatrix(text) {
    const rows = text.trim().split(/\n|;/).map((line) => line.trim()).filter(Boolean)
      .map((line) => line.replace(/[[\],]/g, " ").trim().split(/\s+/).filter(Boolean).map(Number));
    if (!rows.length || rows.some((r) => r.some((v) => !Number.isFinite(v)))) throw new Error("the matrix expects rows of numbers, e.g. 1 0 -1");
    return rows;
  }
  function parseParams(text) {
    const params = {};
    for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
      const [key, value] = part.split("=").map((s) => s.trim());
      const number = Number(value);
      if (!key || value === undefined || !Number.isFinite(number)) throw new Error(`arguments expect key=number, e.g. sigma=2, but got ${JSON.stringify(part)}`);
      params[key] = number;
    }
    return params;
  }
  let filterDebounce = null;
  function applyFilterSoon() {
    clearTimeout(filterDebounce);
    filterDebounce = setTimeout(guarded(applyFilter), 150);
  }
  async function applyFilter() {
    if (!state.preview || !state.filters) return;
    const name = $("#flt-name").value;
    const payload = { image: state.preview, boundary: $("#flt-boundary").value };
    if (name === "custom") payload.kernel = parseMatrix($("#flt-matrix").value);
    else { payload.kernel = name; payload.params = parseParams($("#flt-params").value); }
    const result = await postJSON("/api/filter", payload);
    if (name !== "custom" && Object.keys(payload.params).length) {
      $("#flt-matrix").value = result.kernel.map((row) => row.map((v) => Number(v.toPrecision(4))).join(" ")).join("\n");
    }
    renderKernel($("#flt-kernel"), result.kernel);
    paintGrey($("#flt-before"), state.preview, 0, 1);
    paintGrey($("#flt-after"), result.display, 0, 255);
    $("#flt-after-caption").textContent = `filtered: values ${fmt(result.result.min)} to ${fmt(result.result.max)}, shown as '${result.method}' (${result.why})`;
    $("#flt-describe").textContent = result.description;
  }
  function renderKernel(root, kernel) {
    const limit = Math.max(1e-12, ...kernel.flat().map(Math.abs));
    if (kernel.length > 9 || kernel[0].length > 9) {
      const canvas = el("canvas", { class: "pixelated big-kernel" });
      paintSigned(canvas, kernel, limit);
      root.replaceChildren(canvas, el("div", { class: "small muted", text: `${kernel.length}\u00d7${kernel[0].length} kernel` }));
      return;
    }
    const table = el("table");
    for (const row of kernel) {
      const tr = el("tr");
      for (const v of row) {
        const td = el("td", { text: fmt(v, 3) });
        td.style.background = css(diverging(v, limit));
        td.style.color = inkOn(v, limit);
        tr.append(td);
      }
      table.append(tr);
    }
    root.replaceChildren(table);
  }

  // ---------------------------------------------------------------- (f) learned filters

  function fillLearnedLayers() {
    const select = $("#lf-layer");
    const layers = state.detail.conv_layers;
    select.replaceChildren(...layers.map((name) => {
      const row = state.detail.layers.find((r) => r.name === name);
      return el("option", { value: name, text: row ? `${name} (${row.type}, ${row.geometry})` : name });
    }));
  }
  async function loadLearned() {
    const layer = $("#lf-layer").value;
    const grid = $("#lf-grid");
    if (!layer) { grid.replaceChildren(el("p", { class: "muted", text: "this model has no convolution layer" })); return; }
    const query = new URLSearchParams({ layer });
    const data = await api(`/api/models/${encodeURIComponent(state.model)}/filters?${query}`);
    $("#lf-note").textContent = `weight ${data.weight_shape.join("\u00d7")}; showing ${data.shown} of ${data.total} filters`;
    grid.replaceChildren(...data.filters.map((f) => learnedCard(f, data.scale)));
  }
  function learnedCard(f, scale) {
    const learned = el("canvas", { class: "pixelated" });
    paintSigned(learned, f.learned, scale);
    const pair = el("div", { class: "lf-pair" }, el("div", {}, learned, el("div", { class: "lbl", text: `learned (in ${f.channel})` })));
    if (f.classic) {
      const classic = el("canvas", { class: "pixelated" });
      paintSigned(classic, f.classic, Math.max(1e-12, ...f.classic.flat().map(Math.abs)));
      pair.append(el("div", {}, classic, el("div", { class: "lbl", text: "classic" })));
    }
    return el("div", {
      class: "lf-card", title: f.description || "", onclick: guarded(async () => {
        await showTab("filters");
        $("#flt-name").value = "custom";
        $("#flt-params-label").hidden = true;
        $("#flt-matrix").value = f.learned.map((row) => row.map((v) => Number(v.toPrecision(4))).join(" ")).join("\n");
        await applyFilter();
      }),
    }, pair, el("div", { class: "name", text: `filter ${f.filter}: ${f.nearest || "no classic match"}` }),
    el("div", { class: "sim", text: f.nearest ? `similarity ${f.similarity.toFixed(2)}` : "" }));
  }

  // ---------------------------------------------------------------- tabs and start

  async function showTab(name) {
    $$(".tab").forEach((t) => t.classList.toggle("active", t.dataset.tab === name));
    $$(".view").forEach((v) => { v.hidden = v.dataset.view !== name; });
    if (name === "filters") { await setupFilters(); await applyFilter(); }
    if (name === "learned") await loadLearned();
    if (name === "arithmetic") drawPlayground();
  }

  function setupTabs() {
    $$(".tab").forEach((t) => t.addEventListener("click", guarded(() => showTab(t.dataset.tab))));
    $$(".seg-btn").forEach((b) => b.addEventListener("click", () => {
      $$(".seg-btn").forEach((x) => x.classList.toggle("active", x === b));
      $$(".input-tab").forEach((p) => { p.hidden = p.dataset.inputPane !== b.dataset.inputTab; });
    }));
    $("#model").addEventListener("change", guarded((e) => chooseModel(e.target.value)));
    $("#lf-layer").addEventListener("change", guarded(loadLearned));
    $("#upload-file").addEventListener("change", guarded(async (e) => {
      const file = e.target.files[0];
      if (file) await uploadBlob(file, false);
    }));
    $("#invert").addEventListener("change", guarded(() => (state.source && state.source.kind === "sample"
      ? loadSample(state.source.id) : state.source ? uploadBlob(state.source.blob, state.source.centre) : null)));
    $("#cell-play").addEventListener("click", toggleSliding);
  }

  async function start() {
    setupTabs();
    setupDrawing();
    await loadSamples();
    await loadModels();
    await setupPlayground();
    document.body.dataset.ready = "1";
  }

  document.addEventListener("DOMContentLoaded", guarded(start));
})();
