// ReelFlow console: vanilla JS against the /v1 API of the same origin.
// Live progress uses fetch() with a streaming reader instead of EventSource, because EventSource
// cannot send the Authorization header that every /v1 route requires.
"use strict";

const KEY_STORAGE = "reelflow.apiKey";
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"]);
// Browsers allow about six HTTP/1.1 connections per origin; leave room for ordinary calls.
const MAX_STREAMS = 3;
const POLL_MS = 5000;

const state = {
  key: localStorage.getItem(KEY_STORAGE) || "",
  renders: new Map(), // id -> latest status JSON
  nextCursor: null,
  selected: null,
  streams: new Map(), // id or "batch:<id>" -> AbortController
  manifestFor: null,
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
    showManifest(outputs.manifest);
  } else if (!outputs.manifest && state.manifestFor !== r.id) {
    $("manifest").innerHTML = '<p class="muted">Not available yet.</p>';
    $("lineage").textContent = "Not available yet.";
  }
}

const MANIFEST_FIELDS = [
  "requestId", "prompt", "seed", "resolution", "aspectRatio", "width", "height", "frames", "fps",
  "steps", "guidance", "modelId", "weightsId", "engine", "emulated", "backend", "device",
  "createdAt",
];

function manifestValue(v) {
  if (v && typeof v === "object") {
    if (v.width && v.height) return (v.tier ? v.tier + " " : "") + v.width + "×" + v.height;
    return JSON.stringify(v);
  }
  return String(v);
}

async function showManifest(url) {
  const box = $("manifest");
  box.replaceChildren();
  let manifest;
  try {
    const res = await fetch(url); // presigned: no Authorization header to the object store
    if (!res.ok) throw new Error("HTTP " + res.status);
    manifest = await res.json();
  } catch (e) {
    // The object store answered without CORS headers (or not at all): show the presigned
    // document itself, which a frame may display even though this page cannot read it.
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent =
      "The object store does not allow this page to read the manifest (" + e.message +
      "; it sends no CORS headers), so the document is shown as served.";
    const frame = document.createElement("iframe");
    frame.id = "manifest-frame";
    frame.title = "manifest.json";
    frame.src = url;
    const link = document.createElement("a");
    link.href = url;
    link.textContent = "Open manifest.json";
    box.append(note, frame, link);
    $("lineage").textContent =
      "The API has no lineage endpoint; the lineage run id is the manifest's lineageRunId " +
      "(shown above). OpenLineage events are on the render.lineage topic.";
    return;
  }
  const dl = document.createElement("dl");
  for (const k of MANIFEST_FIELDS) {
    if (manifest[k] === undefined || manifest[k] === null) continue;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = manifestValue(manifest[k]);
    if (k === "weightsId" && manifest[k] === "random-init") {
      dd.textContent += " (seeded random weights, no checkpoint loaded)";
    }
    dl.append(dt, dd);
  }
  if (Array.isArray(manifest.stages)) {
    for (const s of manifest.stages) {
      const dt = document.createElement("dt");
      dt.textContent = "stage " + s.stage;
      const dd = document.createElement("dd");
      dd.textContent =
        (s.durationMillis / 1000).toFixed(1) + " s on " + s.workerId + ", attempt " + s.attempt +
        (s.engine ? ", engine " + s.engine : "") + (s.backend ? ", " + s.backend : "");
      dl.append(dt, dd);
    }
  }
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = "manifest.json";
  const pre = document.createElement("pre");
  pre.textContent = JSON.stringify(manifest, null, 2);
  details.append(summary, pre);
  box.append(dl, details);
  $("lineage").textContent = manifest.lineageRunId
    ? "OpenLineage run id " + manifest.lineageRunId +
      " (from the manifest; the API has no lineage endpoint, the events are on the render.lineage topic)."
    : "The manifest names no lineage run.";
}

// ------------------------------------------------------------------ submit

function renderBody() {
  const body = {
    prompt: $("prompt").value,
    resolution: $("resolution").value,
    aspectRatio: $("aspect").value,
    upscale: $("upscale").value,
  };
  if ($("frames").value !== "") body.frames = Number($("frames").value);
  if ($("steps").value !== "") body.steps = Number($("steps").value);
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
      body: JSON.stringify(renderBody()),
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
