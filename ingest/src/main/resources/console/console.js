// ReelFlow console: vanilla JS against the /v1 API of the same origin.
// Live progress uses fetch() with a streaming reader instead of EventSource, because EventSource
// cannot send the Authorization header that every /v1 route requires.
"use strict";

const KEY_STORAGE = "reelflow.apiKey";
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"]);
// Browsers allow about six HTTP/1.1 connections per origin; leave room for ordinary calls.
const MAX_STREAMS = 3;
const POLL_MS = 5000;
// A manifest or lineage read that failed, or a finished render's lineage without its final
// event yet, is read again with the next status update or poll, this many times at most.
const MAX_RETRIES = 5;

const state = {
  key: localStorage.getItem(KEY_STORAGE) || "",
  renders: new Map(), // id -> latest status JSON
  nextCursor: null,
  selected: null,
  streams: new Map(), // id or "batch:<id>" -> AbortController
  manifestFor: null,
  lineageFor: null, // "<id> <status> <stage>" the lineage panel was last read for
  retries: new Map(), // "manifest:<id>" or "lineage:<id>" -> reads repeated so far
  videoFor: null,
  pollTimer: null,
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || "HTTP " + status);
    this.status = status;
    this.problem = problem || {};
  }
}

async function problemOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = { title: res.statusText || "Request failed" };
  }
  return new ApiError(res.status, body);
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + state.key }, options.headers || {});
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (!res.ok) {
    throw await problemOf(res);
  }
  return res.status === 204 ? null : res.json();
}

async function apiText(path) {
  const res = await fetch(path, { headers: { Authorization: "Bearer " + state.key } });
  if (!res.ok) {
    throw await problemOf(res);
  }
  return res.text();
}

/**
 * JSON.parse that keeps integers beyond 2^53 exact, as their digits: seeds are now at most
 * 2^53 - 2, but renders accepted before that limit may carry 64-bit seeds, and a JavaScript
 * number would show another seed than the one the render used.
 */
function parseExact(text) {
  return JSON.parse(text, (key, value, context) => {
    if (typeof value !== "number" || !Number.isInteger(value) || Number.isSafeInteger(value)) {
      return value;
    }
    if (context && typeof context.source === "string") return context.source;
    // Browsers without JSON.parse source access: find the field's digits in the text.
    const m = /^\w+$/.test(key) && new RegExp('"' + key + '"\\s*:\\s*(-?\\d+)').exec(text);
    return m ? m[1] : value;
  });
}

// ------------------------------------------------------------------ errors

function showError(err, where) {
  const box = where || $("error");
  box.replaceChildren();
  const head = document.createElement("strong");
  if (err instanceof ApiError) {
    const p = err.problem;
    head.textContent = (p.status || err.status) + " " + (p.title || "Request failed");
    box.append(head);
    if (p.detail) {
      box.append(": " + p.detail);
    }
    if (Array.isArray(p.errors) && p.errors.length) {
      const ul = document.createElement("ul");
      for (const fe of p.errors.slice(0, 50)) {
        const li = document.createElement("li");
        const code = document.createElement("code");
        code.textContent = fe.field;
        li.append(code, " " + fe.message);
        ul.append(li);
      }
      if (p.errors.length > 50) {
        const li = document.createElement("li");
        li.textContent = "… and " + (p.errors.length - 50) + " more";
        ul.append(li);
      }
      box.append(ul);
    }
    if (err.status === 401) {
      setKeyState("the API key was refused");
    }
  } else {
    head.textContent = "Error";
    box.append(head, ": " + (err && err.message ? err.message : String(err)));
  }
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").replaceChildren();
}

// ------------------------------------------------------------------ API key

function setKeyState(text) {
  $("key-state").textContent = text;
}

async function useKey(key) {
  state.key = key;
  try {
    await loadRenders(true);
    localStorage.setItem(KEY_STORAGE, key);
    setKeyState("key accepted");
    clearError();
    startPolling();
  } catch (e) {
    showError(e);
  }
}

// ------------------------------------------------------------------ SSE over fetch

/** Reads an SSE stream; calls onStatus for each "status" event; resolves when the stream ends. */
async function readEvents(path, onStatus, signal) {
  const res = await fetch(path, {
    headers: { Authorization: "Bearer " + state.key, Accept: "text/event-stream" },
    signal,
  });
  if (!res.ok) {
    throw await problemOf(res);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer = (buffer + value).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // comment / keep-alive
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
      if (event === "status" && data.length) {
        onStatus(JSON.parse(data.join("\n")));
      }
    }
  }
}

function follow(id) {
  if (state.streams.has(id)) return;
  const ctl = new AbortController();
  state.streams.set(id, ctl);
  updateLive();
  readEvents("/v1/renders/" + encodeURIComponent(id) + "/events", upsert, ctl.signal)
    .catch((e) => {
      if (e.name !== "AbortError") console.warn("stream of " + id + " ended:", e);
    })
    .finally(() => {
      state.streams.delete(id);
      updateLive();
      followSome();
    });
}

/** Keeps live streams on the selected render and the newest unfinished ones. */
function followSome() {
  const wanted = [];
  const sel = state.selected && state.renders.get(state.selected);
  if (sel && !TERMINAL.has(sel.status)) wanted.push(sel.id);
  for (const r of sorted()) {
    if (wanted.length >= MAX_STREAMS) break;
    if (!TERMINAL.has(r.status) && !wanted.includes(r.id)) wanted.push(r.id);
  }
  for (const [id, ctl] of state.streams) {
    if (!id.startsWith("batch:") && !wanted.includes(id)) ctl.abort();
  }
  wanted.forEach(follow);
}

function updateLive() {
  const n = state.streams.size;
  $("live").textContent = n ? "● live: " + n + " stream" + (n > 1 ? "s" : "") : "";
}

// ------------------------------------------------------------------ list

function sorted() {
  return [...state.renders.values()].sort((a, b) =>
    (b.createdAt || "").localeCompare(a.createdAt || "") || a.id.localeCompare(b.id)
  );
}

async function loadRenders(reset) {
  const q = new URLSearchParams({ limit: "50" });
  if (!reset && state.nextCursor) q.set("cursor", state.nextCursor);
  const page = await api("/v1/renders?" + q);
  for (const item of page.items) upsert(item, true);
  if (reset || !state.nextCursor || page.nextCursor === null) state.nextCursor = page.nextCursor;
  else state.nextCursor = page.nextCursor;
  $("more").hidden = !state.nextCursor;
  renderTable();
  followSome();
}

function upsert(r, quiet) {
  const old = state.renders.get(r.id);
  if (old && old.version != null && r.version != null && r.version < old.version) return;
  state.renders.set(r.id, r);
  if (!quiet) renderTable();
  if (state.selected === r.id) renderDetail();
}

function fraction(r) {
  return r.progress && typeof r.progress.fraction === "number" ? r.progress.fraction : 0;
}

function progressText(r) {
  const p = r.progress || {};
  if (p.step != null && p.totalSteps) {
    let t = (r.stage ? r.stage.toLowerCase() + " " : "") + "step " + p.step + " of " + p.totalSteps;
    if (p.etaMillis != null) t += ", about " + Math.ceil(p.etaMillis / 1000) + " s left";
    return t;
  }
  return r.status === "SUCCEEDED" ? "done" : "";
}

function queueText(r) {
  if (r.queuePosition == null) return "";
  return (r.queuePositionEstimated ? "≈" : "#") + r.queuePosition;
}

function renderTable() {
  const body = $("renders").tBodies[0];
  body.replaceChildren();
  for (const r of sorted()) {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id;
    tr.tabIndex = 0;
    tr.setAttribute("aria-selected", String(state.selected === r.id));
    const c1 = document.createElement("td");
    c1.className = "prompt";
    c1.title = r.prompt || "";
    const code = document.createElement("code");
    code.textContent = r.id;
    c1.append(code, document.createElement("br"), r.prompt || "");
    const c2 = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "badge " + r.status;
    badge.textContent = r.status;
    c2.append(badge);
    const c3 = document.createElement("td");
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = fraction(r);
    bar.setAttribute("aria-label", "progress of " + r.id);
    c3.append(bar);
    const c4 = document.createElement("td");
    c4.textContent = queueText(r);
    tr.append(c1, c2, c3, c4);
    tr.addEventListener("click", () => select(r.id));
    tr.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        select(r.id);
      }
    });
    body.append(tr);
  }
}

// ------------------------------------------------------------------ detail

function select(id) {
  state.selected = id;
  renderTable();
  renderDetail();
  followSome();
  $("detail").scrollIntoView({ behavior: "smooth", block: "start" });
}

function renderDetail() {
  const r = state.renders.get(state.selected);
  if (!r) return;
  $("detail").hidden = false;
  $("detail").dataset.id = r.id;
  $("detail-id").textContent = r.id;
  $("detail-prompt").textContent = r.prompt || "";
  const badge = $("detail-status");
  badge.className = "badge " + r.status;
  badge.textContent = r.status;
  $("detail-stage").textContent = r.stage ? "stage " + r.stage : "";
  $("detail-queue").textContent = r.queuePosition != null ? "queue position " + queueText(r) : "";
  $("detail-progress").value = fraction(r);
  $("detail-progress-text").textContent = progressText(r);
  const err = $("detail-error");
  if (r.error) {
    err.textContent = r.error.code + ": " + r.error.message + (r.error.retryable ? " (retryable)" : "");
    err.hidden = false;
  } else {
    err.hidden = true;
  }
  $("cancel").hidden = TERMINAL.has(r.status);
  const outputs = r.outputs || {};
  const video = $("video");
  if (outputs.video && state.videoFor !== r.id) {
    state.videoFor = r.id;
    if (outputs.poster) video.poster = outputs.poster;
    else video.removeAttribute("poster");
    video.src = outputs.video;
    video.hidden = false;
    $("no-video").hidden = true;
  } else if (!outputs.video && state.videoFor !== r.id) {
    video.removeAttribute("src");
    video.hidden = true;
    $("no-video").hidden = false;
  }
  if (outputs.manifest && state.manifestFor !== r.id) {
    state.manifestFor = r.id;
    showManifest(r.id);
  } else if (!outputs.manifest && state.manifestFor !== r.id) {
    $("manifest").innerHTML = '<p class="muted">Not available yet.</p>';
  }
  // Lineage grows with the render: read it again when the state or stage changes.
  const lineageKey = r.id + " " + r.status + " " + (r.stage || "");
  if (state.lineageFor !== lineageKey) {
    if (!$("lineage").dataset.id || $("lineage").dataset.id !== r.id) {
      $("lineage").replaceChildren(muted("Loading…"));
    }
    state.lineageFor = lineageKey;
    showLineage(r.id, TERMINAL.has(r.status));
  }
}

const MANIFEST_FIELDS = [
  "requestId", "prompt", "seed", "resolution", "upscale", "aspectRatio", "frames", "fps", "steps",
  "guidance", "modelId", "weightsId", "engine", "emulated", "backend", "device", "createdAt",
  "lineageRunId",
];

function manifestValue(v) {
  if (v && typeof v === "object") {
    if (v.width && v.height) return (v.tier ? v.tier + " " : "") + v.width + "×" + v.height;
    return JSON.stringify(v);
  }
  return String(v);
}

/** A two-column table (field, value) of the given rows. */
function fieldTable(rows, caption) {
  const table = document.createElement("table");
  table.className = "kv";
  const cap = document.createElement("caption");
  cap.className = "visually-hidden";
  cap.textContent = caption;
  const body = document.createElement("tbody");
  for (const [k, v] of rows) {
    const tr = document.createElement("tr");
    tr.dataset.field = k;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = k;
    const td = document.createElement("td");
    td.textContent = v;
    tr.append(th, td);
    body.append(tr);
  }
  table.append(cap, body);
  return table;
}

/** True while another read of this panel for this render is allowed. */
function again(panel, id) {
  const k = panel + ":" + id;
  const n = (state.retries.get(k) || 0) + 1;
  state.retries.set(k, n);
  return n <= MAX_RETRIES;
}

function muted(text) {
  const p = document.createElement("p");
  p.className = "muted";
  p.textContent = text;
  return p;
}

async function showManifest(id) {
  const box = $("manifest");
  let manifest;
  let text;
  try {
    text = await apiText("/v1/renders/" + encodeURIComponent(id) + "/manifest");
    manifest = parseExact(text);
  } catch (e) {
    if (state.selected !== id) return;
    if (again("manifest", id)) state.manifestFor = null;
    box.replaceChildren(muted("Manifest not available: " + e.message));
    return;
  }
  if (state.selected !== id) return;
  const rows = [];
  for (const k of MANIFEST_FIELDS) {
    if (manifest[k] === undefined || manifest[k] === null || manifest[k] === "") continue;
    let v = manifestValue(manifest[k]);
    if (k === "weightsId" && manifest[k] === "random-init") {
      v += " (seeded random weights, no checkpoint loaded)";
    }
    rows.push([k, v]);
  }
  for (const s of manifest.stages || []) {
    rows.push([
      "stage " + s.stage,
      (s.durationMillis / 1000).toFixed(1) + " s on " + s.workerId + ", attempt " + s.attempt +
        (s.engine ? ", engine " + s.engine : "") + (s.backend ? ", " + s.backend : ""),
    ]);
  }
  for (const o of manifest.outputs || []) {
    rows.push(["output " + o.name, o.key + " (" + size(o.sizeBytes) + ", sha256 " +
      String(o.sha256).slice(0, 12) + "…)"]);
  }
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = "manifest.json";
  const pre = document.createElement("pre");
  pre.textContent = text; // as stored (already indented), exact digits included
  details.append(summary, pre);
  box.replaceChildren(fieldTable(rows, "manifest of " + id), details);
}

function size(bytes) {
  if (typeof bytes !== "number") return "?";
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KiB";
  return (bytes / 1024 / 1024).toFixed(1) + " MiB";
}

/** A few words about one facet of an output dataset; its name alone where it is not known. */
function facetText(name, f) {
  if (!f || typeof f !== "object") return name;
  if (name === "version" && f.datasetVersion) return "version " + String(f.datasetVersion).slice(0, 12) + "…";
  if (name === "outputStatistics" && f.size != null) return "size " + size(f.size);
  if (name === "reelflow_artifact") {
    const bits = [f.name || f.role, f.contentType, f.width && f.height ? f.width + "×" + f.height : f.resolution,
      f.weightsId, f.emulated ? "emulated" : null];
    return "artifact " + bits.filter((b) => b).join(", ");
  }
  return name;
}

const FINAL_EVENTS = new Set(["COMPLETE", "FAIL", "ABORT"]);

async function showLineage(id, finished) {
  const box = $("lineage");
  let events;
  try {
    events = await api("/v1/renders/" + encodeURIComponent(id) + "/lineage");
  } catch (e) {
    if (state.selected !== id) return;
    if (again("lineage", id)) state.lineageFor = null;
    box.dataset.id = id;
    box.replaceChildren(muted("Lineage not available: " + e.message));
    return;
  }
  if (state.selected !== id) return;
  box.dataset.id = id;
  // The final event may be committed a moment after the final status.
  if (finished && !events.some((e) => FINAL_EVENTS.has(e.eventType)) && again("lineage", id)) {
    state.lineageFor = null;
  }
  if (!events.length) {
    box.replaceChildren(muted("No lineage events yet."));
    return;
  }
  const list = document.createElement("ol");
  list.className = "events";
  for (const e of events) {
    const li = document.createElement("li");
    li.dataset.eventType = e.eventType;
    const type = document.createElement("strong");
    type.textContent = e.eventType;
    const job = e.job ? e.job.namespace + "/" + e.job.name : "?";
    const run = document.createElement("code");
    run.textContent = e.run ? e.run.runId : "?";
    li.append(type, " " + (e.eventTime || "") + " · job " + job + " · run ", run);
    const facets = (e.run && e.run.facets) || {};
    if (facets.reelflow_stage) {
      const st = facets.reelflow_stage;
      li.append(" · stage " + st.stage + ", attempt " + st.attempt + (st.workerId ? " on " + st.workerId : ""));
    }
    if (facets.errorMessage) li.append(" · " + facets.errorMessage.message);
    const outputs = e.outputs || [];
    if (outputs.length) {
      const ul = document.createElement("ul");
      for (const o of outputs) {
        const item = document.createElement("li");
        const name = document.createElement("code");
        name.textContent = o.name;
        const all = Object.assign({}, o.facets || {}, o.outputFacets || {});
        const text = Object.entries(all).map(([k, v]) => facetText(k, v)).join("; ");
        item.append(name, text ? " — " + text : "");
        ul.append(item);
      }
      li.append(ul);
    }
    list.append(li);
  }
  box.replaceChildren(list);
}

// ------------------------------------------------------------------ submit

const MAX_IMAGE_BYTES = 10 * 1024 * 1024; // ingest.image.max-bytes by default

/** The chosen first frame as a data: URI, or null; the API checks type and size again. */
function imageDataUri() {
  const file = $("image").files[0];
  if (!file) return Promise.resolve(null);
  if (!/^image\/(png|jpeg|webp)$/.test(file.type)) {
    return Promise.reject(new Error("The first frame must be a PNG, JPEG or WebP image"));
  }
  if (file.size > MAX_IMAGE_BYTES) {
    return Promise.reject(new Error("The first frame is larger than 10 MiB"));
  }
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(new Error("The first frame could not be read"));
    r.readAsDataURL(file);
  });
}

async function renderBody() {
  const body = {
    prompt: $("prompt").value,
    resolution: $("resolution").value,
    aspectRatio: $("aspect").value,
    upscale: $("upscale").value,
  };
  if ($("frames").value !== "") body.frames = Number($("frames").value);
  if ($("steps").value !== "") body.steps = Number($("steps").value);
  const image = await imageDataUri();
  if (image) {
    body.mode = "i2v";
    body.imageUrl = image;
  }
  return body;
}

async function submitRender(ev) {
  ev.preventDefault();
  const button = $("submit-render");
  button.disabled = true;
  try {
    const accepted = await api("/v1/renders", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(await renderBody()),
    });
    clearError();
    const first = await api(accepted.statusUrl).catch(() => ({
      id: accepted.id, status: accepted.status, prompt: $("prompt").value,
      createdAt: new Date().toISOString(), progress: {},
    }));
    upsert(first);
    select(accepted.id);
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
}

async function submitBatch(ev) {
  ev.preventDefault();
  const file = $("batch-file").files[0];
  if (!file) return;
  const csv = /\.csv$/i.test(file.name) || file.type === "text/csv";
  try {
    const accepted = await api("/v1/batches", {
      method: "POST",
      headers: { "Content-Type": csv ? "text/csv" : "application/x-ndjson" },
      body: file,
    });
    clearError();
    watchBatch(accepted.batchId, accepted.count);
    await loadRenders(true);
  } catch (e) {
    showError(e);
  }
}

function watchBatch(batchId, count) {
  const box = $("batch");
  box.replaceChildren();
  const title = document.createElement("p");
  title.innerHTML = "Batch <code></code>: <span></span>";
  title.querySelector("code").textContent = batchId;
  const bar = document.createElement("progress");
  bar.max = count;
  bar.value = 0;
  bar.setAttribute("aria-label", "batch " + batchId + " finished renders");
  box.append(title, bar);
  const seen = new Map();
  const show = () => {
    const counts = {};
    for (const s of seen.values()) counts[s] = (counts[s] || 0) + 1;
    const done = [...seen.values()].filter((s) => TERMINAL.has(s)).length;
    bar.value = done;
    title.querySelector("span").textContent =
      done + " of " + count + " finished · " +
      Object.entries(counts).map(([k, v]) => k.toLowerCase() + " " + v).join(", ");
  };
  show();
  const key = "batch:" + batchId;
  const ctl = new AbortController();
  state.streams.set(key, ctl);
  updateLive();
  readEvents(
    "/v1/events?batchId=" + encodeURIComponent(batchId),
    (r) => {
      seen.set(r.id, r.status);
      show();
      upsert(r);
    },
    ctl.signal
  )
    .catch((e) => {
      if (e.name !== "AbortError") showError(e);
    })
    .finally(() => {
      state.streams.delete(key);
      updateLive();
    });
}

async function cancelSelected() {
  if (!state.selected) return;
  try {
    upsert(await api("/v1/renders/" + encodeURIComponent(state.selected), { method: "DELETE" }));
  } catch (e) {
    showError(e);
  }
}

function startPolling() {
  clearInterval(state.pollTimer);
  // Streams carry progress; the poll catches new renders (other clients, schedules) and queue
  // positions of renders that have no stream open.
  state.pollTimer = setInterval(() => {
    if (document.visibilityState === "visible") loadRenders(true).catch(() => {});
  }, POLL_MS);
}

// ------------------------------------------------------------------ start

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    useKey($("api-key").value.trim());
  });
  $("forget-key").addEventListener("click", () => {
    localStorage.removeItem(KEY_STORAGE);
    state.key = "";
    $("api-key").value = "";
    setKeyState("key forgotten");
    clearInterval(state.pollTimer);
    for (const ctl of state.streams.values()) ctl.abort();
  });
  $("render-form").addEventListener("submit", submitRender);
  $("batch-form").addEventListener("submit", submitBatch);
  $("refresh").addEventListener("click", () => loadRenders(true).catch(showError));
  $("more").addEventListener("click", () => loadRenders(false).catch(showError));
  $("cancel").addEventListener("click", cancelSelected);
  if (state.key) {
    $("api-key").value = state.key;
    useKey(state.key);
  } else {
    setKeyState("enter the API key to start");
  }
});
