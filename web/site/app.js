// The playground's page: loads makemore.wasm (the runtime) and the shipped models, keeps the
// settings in the address bar, and redraws the names and the next-symbol chart on every change.
// Plain JavaScript, no build step. The module's exports are described in web/src/exports.rs.
"use strict";

const $ = (id) => document.getElementById(id);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SETTINGS = ["seed", "n", "temperature", "top_k", "prefix"];
const BENCH_NAMES = 20000;
// Larger than any model this page is for (the large preset is 59 KB): refused before it is
// read, so a wrong file cannot exhaust the tab's memory.
const MAX_FILE_BYTES = 64 * 1024 * 1024;

let wasm = null; // the module's exports
let shipped = []; // models/index.json: the models beside the page
let model = null; // the loaded model's description (from the file)
let updates = 0; // full redraws so far (tests wait on body[data-updates])

// --- the module's calling convention: input buffer in, a count out, text and f64s beside ---

function call(fn, bytes, ...args) {
  const ptr = wasm.input(bytes.length);
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  return wasm[fn](...args);
}

function outputText() {
  return decoder.decode(new Uint8Array(wasm.memory.buffer, wasm.output(), wasm.output_len()));
}

function outputValues(n) {
  return Array.from(new Float64Array(wasm.memory.buffer, wasm.values(), n));
}

// --- settings: the form <-> the address bar ---

function readUrl() {
  const q = new URLSearchParams(location.search);
  for (const key of SETTINGS) {
    if (q.has(key)) $(key).value = q.get(key);
  }
  return q.get("model");
}

function writeUrl() {
  const q = new URLSearchParams();
  const chosen = $("model").value;
  if (chosen && !chosen.startsWith("file:")) q.set("model", chosen);
  for (const key of SETTINGS) q.set(key, $(key).value);
  history.replaceState(null, "", "?" + q.toString());
}

class SettingsError extends Error {}

function integer(key, min, max) {
  const text = $(key).value.trim();
  if (!/^\d+$/.test(text) || BigInt(text) < BigInt(min) || BigInt(text) > BigInt(max)) {
    throw new SettingsError(`${key}: a whole number from ${min} to ${max}, not "${text}"`);
  }
  return BigInt(text);
}

function readSettings() {
  const seed = integer("seed", 0, "18446744073709551615");
  const n = Number(integer("n", 1, 10000));
  const topK = Number(integer("top_k", 0, 4294967295));
  // The runtime parses the temperature (exactly, as `trainer sample --temperature` does).
  const milli = call("temperature", encoder.encode($("temperature").value));
  if (milli < 0) throw new SettingsError(outputText());
  return { seed, n, milli, topK, prefix: $("prefix").value };
}

// --- models ---

function showError(box, message) {
  box.textContent = message;
  box.hidden = !message;
}

function describe(info) {
  const card = $("card");
  card.replaceChildren();
  const layers = info.layers.map((l) => (l.n_merge > 1 ? `${l.n_merge}×→${l.n_out}` : `${l.n_out}`)).join(", ");
  const rows = [
    ["model", `${info.kind}, ${info.quant === "int8" ? "int8 (integer model)" : "f32 (float reference)"}`],
    ["symbols", `${Array.from(info.vocab).length}: ${info.vocab}`],
    ["context", `${info.block_size} symbols`],
    ["layers", info.kind === "bigram" ? "one table" : `embedding ${info.n_embd}; ${layers}`],
    ["parameters", info.n_params.toLocaleString("en-US")],
    ["file", `${info.bytes.toLocaleString("en-US")} bytes`],
    ["RAM on a board", `${info.ram_bytes.toLocaleString("en-US")} bytes of scratch`],
  ];
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = v;
    card.append(dt, dd);
  }
  $("card-text").textContent = info.card || "(this file has no card)";
  $("card-text-box").hidden = false;
}

// Loads model bytes into the module: true if they are a model. A bad file shows the
// decoder's message and leaves the model loaded before in place.
function loadBytes(bytes, label) {
  const ok = call("load", new Uint8Array(bytes)) > 0;
  if (!ok) {
    showError($("error"), `${label}: ${outputText()}`);
    return false;
  }
  showError($("error"), "");
  model = JSON.parse(outputText());
  describe(model);
  return true;
}

async function loadShipped(id) {
  const entry = shipped.find((m) => m.id === id);
  if (!entry) {
    showError($("error"), `no shipped model is called "${id}"; choose one of: ${shipped.map((m) => m.id).join(", ")}`);
    return false;
  }
  const response = await fetch("models/" + entry.file);
  if (!response.ok) {
    showError($("error"), `models/${entry.file}: ${response.status} ${response.statusText}`);
    return false;
  }
  return loadBytes(await response.arrayBuffer(), entry.file);
}

async function loadFile(file) {
  if (file.size > MAX_FILE_BYTES) {
    showError($("error"), `${file.name}: ${file.size.toLocaleString("en-US")} bytes is too large for a model file (at most ${MAX_FILE_BYTES.toLocaleString("en-US")}); drop a .mkmr that trainer wrote`);
    update();
    return;
  }
  let bytes;
  try {
    bytes = await file.arrayBuffer();
  } catch (e) {
    showError($("error"), `${file.name}: cannot be read (${e.message})`);
    update();
    return;
  }
  if (!loadBytes(bytes, file.name)) {
    // Keep the select on the model still loaded.
    update();
    return;
  }
  const select = $("model");
  select.querySelectorAll("option[value^='file:']").forEach((o) => o.remove());
  const option = new Option(`your file: ${file.name}`, "file:" + file.name);
  select.add(option);
  select.value = option.value;
  update();
}

// --- drawing ---

function renderNames(names, logps, prefix) {
  const list = $("names");
  list.replaceChildren();
  list.style.gridTemplateRows = `repeat(${Math.ceil(names.length / 2)}, auto)`;
  names.forEach((name, i) => {
    const li = document.createElement("li");
    li.dataset.name = name;
    li.dataset.logp = String(logps[i]);
    const span = document.createElement("span");
    span.className = "name";
    const head = document.createElement("b");
    head.textContent = name.slice(0, prefix.length);
    span.append(head, name.slice(prefix.length));
    if (name.length === 0) span.textContent = "(empty)";
    const logp = document.createElement("span");
    logp.className = "logp";
    logp.textContent = logps[i].toFixed(2).replace("-", "−");
    li.append(span, logp);
    list.append(li);
  });
}

function percent(p) {
  if (p === 0) return "0";
  if (p < 0.001) return "<0.1%";
  return (100 * p).toFixed(1) + "%";
}

function renderChart(probs) {
  const chart = $("chart");
  chart.replaceChildren();
  const symbols = Array.from(model.vocab);
  const top = Math.max(...probs);
  probs.forEach((p, i) => {
    const sym = document.createElement("span");
    sym.className = "sym";
    sym.textContent = symbols[i];
    const track = document.createElement("div");
    track.className = "track";
    const bar = document.createElement("div");
    bar.className = p === top ? "bar top" : "bar";
    bar.dataset.symbol = symbols[i];
    bar.dataset.p = String(p);
    bar.style.width = `${top > 0 ? (100 * p) / top : 0}%`;
    bar.title = `${symbols[i]}: p = ${p}`;
    track.append(bar);
    const pct = document.createElement("span");
    pct.className = p === 0 ? "pct zero" : "pct";
    pct.textContent = percent(p);
    chart.append(sym, track, pct);
  });
}

function update() {
  writeUrl();
  showError($("settings-error"), "");
  try {
    if (!model) return;
    const s = readSettings();
    const prefix = encoder.encode(s.prefix);
    $("chart-text").textContent = s.prefix;
    const n = call("generate", prefix, s.seed, 0n, s.n, s.milli, s.topK);
    if (n < 0) {
      showError($("settings-error"), outputText());
      $("names").replaceChildren();
    } else {
      renderNames(outputText().split("\n"), outputValues(n), s.prefix);
    }
    const v = call("distribution", prefix, s.milli, s.topK);
    if (v < 0) {
      showError($("settings-error"), outputText());
      $("chart").replaceChildren();
    } else {
      renderChart(outputValues(v));
    }
  } catch (e) {
    // A settings error says what to fix; anything else is a bug of the page or the module.
    const message = e instanceof SettingsError ? e.message : `the runtime stopped (${e.message}); reload the page`;
    showError($("settings-error"), message);
  } finally {
    document.body.dataset.updates = String(++updates);
  }
}

// Times the batched path: names 0..BENCH_NAMES of the seed, best of three runs.
function bench() {
  const button = $("bench");
  try {
    const s = readSettings();
    button.disabled = true;
    call("bench", new Uint8Array(0), s.seed, 1000, s.milli, s.topK); // warm-up
    let best = Infinity;
    let symbols = 0;
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      if (call("bench", new Uint8Array(0), s.seed, BENCH_NAMES, s.milli, s.topK) < 0) throw new SettingsError(outputText());
      best = Math.min(best, performance.now() - t0);
      symbols = outputValues(1)[0];
    }
    const rate = Math.round((BENCH_NAMES * 1000) / best);
    const path = model.quant === "int8" ? "integer model, batched" : "float reference, one name at a time";
    const speed = $("speed");
    speed.dataset.namesPerSecond = String(rate);
    speed.dataset.symbolsPerSecond = String(Math.round((symbols * 1000) / best));
    speed.textContent = `${rate.toLocaleString("en-US")} names/s (${path}; ${BENCH_NAMES.toLocaleString("en-US")} names in ${best.toFixed(0)} ms)`;
  } catch (e) {
    const message = e instanceof SettingsError ? e.message : `the runtime stopped (${e.message}); reload the page`;
    showError($("settings-error"), message);
  } finally {
    button.disabled = false;
  }
}

// --- start ---

async function instantiate() {
  try {
    return await WebAssembly.instantiateStreaming(fetch("makemore.wasm"), {});
  } catch (e) {
    // A server that does not send application/wasm: compile from the bytes instead.
    const bytes = await (await fetch("makemore.wasm")).arrayBuffer();
    return WebAssembly.instantiate(bytes, {});
  }
}

async function start() {
  const [module, index] = await Promise.all([instantiate(), fetch("models/index.json").then((r) => r.json())]);
  wasm = module.instance.exports;
  shipped = index.models;
  for (const m of shipped) $("model").add(new Option(m.label, m.id));
  const wanted = readUrl() || index.selected;
  $("model").value = wanted;
  await loadShipped(wanted);
  if (!model && wanted !== index.selected) {
    // The link's model is not here: say so, and show the default one.
    const why = $("error").textContent;
    $("model").value = index.selected;
    if (await loadShipped(index.selected)) showError($("error"), `${why}; showing "${index.selected}" instead`);
  }
  $("about-wasm").textContent = `The runtime: makemore.wasm, ${wasm.memory.buffer.byteLength / 65536} pages of memory.`;
  update();

  $("model").addEventListener("change", async () => {
    if ($("model").value.startsWith("file:")) return;
    await loadShipped($("model").value);
    update();
  });
  for (const key of SETTINGS) $(key).addEventListener("input", update);
  $("settings").addEventListener("submit", (e) => e.preventDefault());
  $("bench").addEventListener("click", () => setTimeout(bench, 0));
  $("file").addEventListener("change", () => {
    if ($("file").files.length) loadFile($("file").files[0]);
    $("file").value = "";
  });
  const drop = $("drop");
  for (const kind of ["dragenter", "dragover"]) {
    drop.addEventListener(kind, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) loadFile(e.dataTransfer.files[0]);
  });
  document.body.dataset.ready = "true";
}

start().catch((e) => {
  showError($("error"), `the playground could not start: ${e.message}`);
  document.body.dataset.ready = "failed";
});
