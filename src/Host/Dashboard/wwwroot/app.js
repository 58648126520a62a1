// ActorLab dashboard: the sweeps, a live runs table (server-sent events: run progress and changed rows only),
// one run's loss charts, the sweep's capacity plots and the sweep controls, all through the node's /api.
"use strict";
const $ = s => document.querySelector(s);
// rows: every run's data; trs: the <tr> of the rows on the page shown (a 100,000-run sweep keeps only one page in the
// DOM); order: the filtered, sorted rows the pages are cut from
const state = { role: "none", name: null, sweeps: [], rows: new Map(), trs: new Map(), sort: { key: "id", desc: false },
  order: [], page: 0, events: new Map(), source: null, run: null, runData: null, resortDue: false };

async function api(path, options) {
  const r = await fetch(path, options);
  let body = null;
  try { body = await r.json(); } catch (e) { body = { error: r.status + " " + r.statusText }; }
  return { ok: r.ok, status: r.status, body };
}

function canControl() { return state.role === "operator" || state.role === "none"; }
function fmt(v, digits) { return v === null || v === undefined ? "" : typeof v === "number" && digits !== undefined ? v.toFixed(digits) : String(v); }
function duration(s) {
  if (s === null || s === undefined) return "";
  if (s >= 3600) return Math.floor(s / 3600) + "h " + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m";
  if (s >= 60) return Math.floor(s / 60) + "m " + String(Math.floor(s % 60)).padStart(2, "0") + "s";
  return Math.ceil(s) + "s";
}

// ------------------------------------------------------------------ session

async function start() {
  const s = await api("/api/session");
  state.role = s.body.role; state.name = s.body.name;
  const status = await api("/api/status");
  if (status.status === 401) { showLogin(status.body.error); return; }
  if (!status.ok) { $("#main").hidden = false; $("#message").textContent = status.body.error; return; }
  $("#login").hidden = true; $("#main").hidden = false;
  $("#who").textContent = state.name ? state.name + " (" + state.role + ")" : "";
  if (state.name) { const out = document.createElement("button"); out.textContent = "sign out"; out.onclick = signOut; $("#who").appendChild(out); }
  document.body.dataset.role = state.role;
  renderSweeps(status.body.sweeps);
  await loadRuns();
  connect();
  route();
}

function showLogin(why) {
  $("#main").hidden = true; $("#login").hidden = false;
  $("#login-error").textContent = why && !why.includes("requires an operator token") ? why : "";
}

async function signIn() {
  const r = await api("/api/session", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: $("#token").value }) });
  if (!r.ok) { $("#login-error").textContent = r.body.error; return; }
  $("#token").value = "";
  start();
}

async function signOut() { await api("/api/session", { method: "DELETE" }); location.reload(); }

// ------------------------------------------------------------------ sweeps and controls

// rows are updated in place (a button under the pointer stays the same element while the feed updates the row)
function renderSweeps(sweeps) {
  state.sweeps = sweeps;
  const body = $("#sweeps tbody");
  const keep = new Set(sweeps.map(s => s.name));
  for (const tr of [...body.children]) if (!keep.has(tr.dataset.sweep)) tr.remove();
  for (const s of sweeps) {
    let tr = [...body.children].find(t => t.dataset.sweep === s.name);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.sweep = s.name;
      for (let i = 0; i < 8; i++) tr.appendChild(document.createElement("td"));
      const td = document.createElement("td");
      if (canControl()) for (const verb of ["pause", "resume", "stop", "cancel"]) td.appendChild(controlButton(verb, { sweep: s.name }));
      tr.appendChild(td);
      body.appendChild(tr);
    }
    tr.dataset.state = s.state;
    [s.name, s.state, s.runs, s.completed, s.running, s.queued + s.suspended, s.failed, duration(s.eta_seconds)]
      .forEach((v, i) => { if (tr.children[i].textContent !== fmt(v)) tr.children[i].textContent = fmt(v); });
  }
  document.querySelectorAll(".controls-col").forEach(th => th.hidden = !canControl());
}

function controlButton(verb, target) {
  const b = document.createElement("button");
  b.className = "control"; b.textContent = verb; b.dataset.verb = verb;
  b.onclick = async () => {
    if ((verb === "cancel" || verb === "stop") && !confirm(verb + " " + (target.sweep || target.run) + "?")) return;
    const r = await api("/api/control", { method: "POST", headers: { "Content-Type": "application/json", "X-ActorLab": "dashboard" },
      body: JSON.stringify(Object.assign({ verb }, target)) });
    $("#message").textContent = r.ok ? "" : r.body.error || r.body.message;
    $("#message").className = r.ok ? "dim" : "error";
    if (r.ok) $("#message").textContent = r.body.message;
  };
  return b;
}

async function loadPlots() {
  const box = $("#plots");
  box.textContent = "";
  for (const s of state.sweeps) {
    const r = await api("/api/plots?sweep=" + encodeURIComponent(s.name));
    if (!r.ok || !r.body.plots.length) continue;
    const h = document.createElement("h3"); h.textContent = "Capacity plots of " + s.name; box.appendChild(h);
    for (const f of r.body.plots.filter(p => p.startsWith("capacity") || p.startsWith("bits"))) {
      const img = document.createElement("img");
      img.src = "/api/plot?sweep=" + encodeURIComponent(s.name) + "&file=" + encodeURIComponent(f) + "&t=" + Date.now();
      img.title = f; img.alt = f; box.appendChild(img);
    }
  }
}

// ------------------------------------------------------------------ runs table

const columns = [
  r => r.id, r => r.state, r => r.node, r => r.step, r => r.max_steps, r => fmt(r.steps_per_second, 1), r => fmt(r.loss, 4),
  r => r.params, r => r.n_profiles, r => r.relations, r => r.layers, r => r.hops, r => duration(r.eta_seconds),
  r => fmt(r.capacity, 0), r => fmt(r.bits_per_param, 3),
];

async function loadRuns() {
  for (let offset = 0; ; ) {
    const r = await api("/api/runs?limit=1000&offset=" + offset);
    if (!r.ok) { $("#message").textContent = r.body.error; return; }
    for (const row of r.body.runs) upsert(row);
    offset += r.body.runs.length;
    if (!r.body.runs.length || offset >= r.body.total) break;
  }
  resort();
}

function upsert(row) {
  const old = state.rows.get(row.id);
  if (old && row.steps_per_second === null && old.state === row.state) { row.steps_per_second = old.steps_per_second; row.eta_seconds = old.eta_seconds; }
  state.rows.set(row.id, row);
  // a new row, or one whose place in the order or the filter may have moved: the pages are cut again (at most once a second)
  const key = state.sort.key;
  if (!old || old[key] !== row[key] || old.state !== row.state || old.node !== row.node) state.resortDue = true;
  const tr = state.trs.get(row.id);
  if (tr) paint(tr, row);
}

function newRow() {
  const tr = document.createElement("tr");
  for (let i = 0; i < columns.length; i++) tr.appendChild(document.createElement("td"));
  tr.firstChild.appendChild(document.createElement("a"));
  tr.onclick = e => { if (e.target.tagName !== "A") location.hash = "#/run/" + encodeURIComponent(tr.dataset.id); };
  return tr;
}

function paint(tr, row) {
  tr.dataset.id = row.id; tr.dataset.state = row.state; tr.dataset.step = row.step;
  tr.className = "state-" + row.state;
  const a = tr.firstChild.firstChild; a.textContent = row.id; a.href = "#/run/" + encodeURIComponent(row.id);
  for (let i = 1; i < columns.length; i++) { const v = fmt(columns[i](row)); if (tr.children[i].textContent !== v) tr.children[i].textContent = v; }
}

function visible(row, f, s) {
  if (s && row.state !== s) return false;
  if (!f) return true;
  return [row.id, row.node, row.hops, row.state].some(v => v && String(v).toLowerCase().includes(f));
}

function pageSize() { return Number($("#page-size").value); }

function resort() {
  state.resortDue = false;
  const { key, desc } = state.sort;
  const f = $("#filter").value.trim().toLowerCase(), s = $("#state-filter").value;
  state.order = [...state.rows.values()].filter(r => visible(r, f, s)).sort((a, b) => {
    const x = a[key], y = b[key];
    const c = x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : x < y ? -1 : 1;
    return desc ? -c : c;
  });
  document.querySelectorAll("#runs th").forEach(th => th.className = th.dataset.key === key ? "sorted" + (desc ? " desc" : "") : "");
  drawPage();
}

// only the page shown is in the DOM; its <tr>s are reused by run id, so a row being looked at keeps its element
function drawPage() {
  const size = pageSize(), pages = Math.max(1, Math.ceil(state.order.length / size));
  state.page = Math.min(Math.max(0, state.page), pages - 1);
  const from = state.page * size, shown = state.order.slice(from, from + size);
  const trs = new Map();
  for (const r of shown) { const tr = state.trs.get(r.id) || newRow(); paint(tr, r); trs.set(r.id, tr); }
  state.trs = trs;
  $("#runs tbody").replaceChildren(...trs.values());
  $("#run-count").textContent = state.order.length === state.rows.size ? state.rows.size + " runs" : state.order.length + " of " + state.rows.size + " runs";
  $("#page-info").textContent = state.order.length ? `rows ${from + 1}-${from + shown.length} of ${state.order.length}, page ${state.page + 1} of ${pages}` : "no rows";
  $("#prev").disabled = state.page === 0; $("#next").disabled = state.page >= pages - 1;
}

document.querySelectorAll("#runs th").forEach(th => th.onclick = () => {
  state.sort = { key: th.dataset.key, desc: state.sort.key === th.dataset.key ? !state.sort.desc : false };
  state.page = 0;
  resort();
});
$("#filter").oninput = () => { state.page = 0; resort(); };
$("#state-filter").onchange = () => { state.page = 0; resort(); };
$("#page-size").onchange = () => { state.page = 0; drawPage(); };
$("#prev").onclick = () => { state.page--; drawPage(); };
$("#next").onclick = () => { state.page++; drawPage(); };
setInterval(() => { if (state.resortDue) resort(); }, 1000);

// ------------------------------------------------------------------ live feed

function connect() {
  if (state.source) state.source.close();
  const es = new EventSource("/api/events");
  state.source = es;
  es.onopen = () => $("#live").textContent = "live";
  es.onerror = () => $("#live").textContent = "reconnecting...";
  es.addEventListener("status", e => { const s = JSON.parse(e.data); renderSweeps(s.sweeps); });
  es.addEventListener("runs", e => {
    const d = JSON.parse(e.data);
    for (const row of d.changed) upsert(row);
    for (const id of d.removed) { state.rows.delete(id); state.resortDue = true; }
  });
  es.addEventListener("progress", e => {
    const p = JSON.parse(e.data);
    const row = state.rows.get(p.id);
    if (row) {
      row.step = p.step; row.loss = p.loss;
      const tr = state.trs.get(p.id);
      if (tr) paint(tr, row);
      if (state.sort.key === "step" || state.sort.key === "loss") state.resortDue = true;
    }
    if (state.run === p.id && state.runData && p.loss !== null) { state.runData.train.push([p.step, p.loss]); drawRunCharts(); }
  });
  es.addEventListener("notice", e => {
    const n = JSON.parse(e.data);
    if (n.id) { const list = state.events.get(n.id) || []; list.push(n); if (list.length > 200) list.shift(); state.events.set(n.id, list); }
    if (state.run && n.id === state.run) { if (state.eventsTotal) state.eventsTotal++; renderEvents(); }
    if (n.kind === "job-done" && n.id && n.id.includes("measure")) loadPlots();
  });
  es.addEventListener("refused", e => { $("#message").textContent = JSON.parse(e.data).message; });
  es.addEventListener("unavailable", e => { $("#live").textContent = JSON.parse(e.data).message; });
}

// ------------------------------------------------------------------ one run

function route() {
  const m = location.hash.match(/^#\/run\/(.+)$/);
  $("#overview").hidden = !!m; $("#run-page").hidden = !m;
  state.run = m ? decodeURIComponent(m[1]) : null;
  if (m) loadRun(state.run); else loadPlots();
}
window.onhashchange = route;

async function loadRun(id) {
  const r = await api("/api/run?id=" + encodeURIComponent(id));
  if (!r.ok) { $("#run-title").textContent = r.body.error; return; }
  state.runData = r.body;
  const run = r.body.run;
  $("#run-title").textContent = run.id + " (" + run.state + ")";
  const cfg = $("#run-config"); cfg.textContent = "";
  for (const [k, v] of Object.entries(Object.assign({ node: run.node, step: run.step, checkpoint: run.checkpoint_step, loss: fmt(run.loss, 4), error: run.error }, r.body.config || {}))) {
    if (v === null || v === undefined || v === "") continue;
    const tr = document.createElement("tr"), a = document.createElement("th"), b = document.createElement("td");
    a.textContent = k; b.textContent = fmt(v); tr.append(a, b); cfg.appendChild(tr);
  }
  const ctl = $("#run-controls"); ctl.textContent = "";
  if (canControl()) { ctl.appendChild(controlButton("suspend", { run: run.id })); ctl.appendChild(controlButton("resume", { run: run.id })); }
  $("#run-checkpoints").textContent = r.body.checkpoints.map(c => c.step).join(", ") || "none yet";
  const plots = $("#run-plots"); plots.textContent = "";
  if (r.body.run_plots.length) {
    const h = document.createElement("h3"); h.textContent = "Generalisation and loss curve (from the sweep's measurement)"; plots.appendChild(h);
    const sweep = run.id.split("/")[0];
    for (const f of r.body.run_plots) {
      const img = document.createElement("img"); img.className = "plot"; img.alt = f;
      img.src = "/api/plot?sweep=" + encodeURIComponent(sweep) + "&file=" + encodeURIComponent(f);
      plots.appendChild(img);
    }
  }
  drawRunCharts();
  // the journal's history, then the live notices that came after its newest event
  const history = r.body.events || [];
  const newest = history.length ? history[history.length - 1].at : "";
  // a notice and its journal row differ in time by milliseconds: the same event is the same kind, step and fields
  const key = n => n.kind + "|" + n.step + "|" + n.text;
  const seen = new Set(history.map(key));
  const live = (state.events.get(id) || []).filter(n => n.at > newest && !seen.has(key(n)));
  state.events.set(id, history.concat(live));
  state.eventsTotal = r.body.events_total;
  state.eventsError = r.body.events_error;
  renderEvents();
}

function renderEvents() {
  const ul = $("#run-events"); ul.textContent = "";
  const list = state.events.get(state.run) || [];
  for (const n of list) {
    const li = document.createElement("li");
    li.textContent = n.at.substring(0, 19).replace("T", " ") + "  " + n.kind + (n.step !== null && n.step !== undefined ? " step " + n.step : "") + "  " + n.text;
    ul.appendChild(li);
  }
  if (!list.length) {
    const li = document.createElement("li"); li.className = "dim";
    li.textContent = state.eventsError ? "the journal's events could not be read: " + state.eventsError : "none in the journal yet";
    ul.appendChild(li);
  }
  $("#run-events-count").textContent = state.eventsTotal > list.length ? "(the newest " + list.length + " of " + state.eventsTotal + ")" : "";
}

let drawQueued = false;
function drawRunCharts() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    const d = state.runData;
    charts.train.draw([{ name: "train", points: d.train }]);
    charts.eval.draw(Object.entries(d.eval).map(([name, points]) => ({ name, points })));
  });
}

// ------------------------------------------------------------------ a small SVG line chart: drag to zoom, double-click to reset, log axes, hover values

const palette = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457", "#9e9d24"];

function ticks(lo, hi, log) {
  if (!(hi > lo)) return [lo];
  if (log) {
    const out = [];
    for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++)
      for (const m of [1, 2, 5]) { const v = m * Math.pow(10, k); if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v); }
    if (out.length >= 2) return out.length > 8 ? out.filter(v => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9) : out;
    // a narrow log range holds fewer than two of them: linear ticks read better there
  }
  const raw = (hi - lo) / 4, p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * p).find(st => st >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function Chart(el) {
  const ns = "http://www.w3.org/2000/svg";
  const W = 820, H = 300, L = 60, R = 150, T = 20, B = 30;
  const svg = document.createElementNS(ns, "svg"); svg.setAttribute("viewBox", `0 0 ${W} ${H}`); el.appendChild(svg);
  const tip = document.createElement("div"); tip.className = "tip"; tip.hidden = true; el.appendChild(tip);
  const tools = document.createElement("div"); tools.className = "tools"; el.appendChild(tools);
  const opts = { logX: false, logY: true, zoom: null };
  let series = [], sx = null, sy = null;
  for (const [k, label] of [["logX", "log x"], ["logY", "log y"]]) {
    const l = document.createElement("label"), c = document.createElement("input");
    c.type = "checkbox"; c.checked = opts[k]; c.dataset.axis = k; c.onchange = () => { opts[k] = c.checked; draw(series); };
    l.append(c, " " + label + " "); tools.appendChild(l);
  }
  function scale(lo, hi, a, b, log) {
    const f = log ? Math.log10 : (v => v);
    const l = f(lo), h = f(hi) === f(lo) ? f(lo) + 1 : f(hi);
    const s = v => a + (f(v) - l) / (h - l) * (b - a);
    s.inv = p => { const v = l + (p - a) / (b - a) * (h - l); return log ? Math.pow(10, v) : v; };
    return s;
  }
  function draw(list) {
    series = list;
    svg.textContent = "";
    const pts = list.flatMap(s => s.points).filter(p => (!opts.logX || p[0] > 0) && (!opts.logY || p[1] > 0));
    el.dataset.points = pts.length;
    if (!pts.length) { const t = document.createElementNS(ns, "text"); t.setAttribute("x", W / 2 - 40); t.setAttribute("y", H / 2); t.textContent = "no points yet"; svg.appendChild(t); return; }
    let [x0, x1] = opts.zoom || [Math.min(...pts.map(p => p[0])), Math.max(...pts.map(p => p[0]))];
    const inX = pts.filter(p => p[0] >= x0 && p[0] <= x1);
    const ys = (inX.length ? inX : pts).map(p => p[1]);
    sx = scale(x0, x1, L, W - R, opts.logX); sy = scale(Math.min(...ys), Math.max(...ys), H - B, T, opts.logY);
    const axis = (x1_, y1_, x2_, y2_) => { const l = document.createElementNS(ns, "line"); l.setAttribute("x1", x1_); l.setAttribute("y1", y1_); l.setAttribute("x2", x2_); l.setAttribute("y2", y2_); l.setAttribute("stroke", "#888"); svg.appendChild(l); };
    axis(L, H - B, W - R, H - B); axis(L, T, L, H - B);
    const label = (x, y, text, anchor) => { const t = document.createElementNS(ns, "text"); t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("font-size", "11"); t.setAttribute("text-anchor", anchor || "middle"); t.textContent = text; svg.appendChild(t); };
    // round ticks: 1, 2, 5 x 10^k on log axes, steps of 1, 2 or 5 x 10^k on linear ones
    const [ylo, yhi] = [sy.inv(H - B), sy.inv(T)];
    for (const v of ticks(x0, x1, opts.logX)) { const px = sx(v); axis(px, H - B, px, H - B + 3); label(px, H - B + 14, fmtTick(v)); }
    for (const v of ticks(ylo, yhi, opts.logY)) { const py = sy(v); axis(L - 3, py, L, py); label(L - 4, py + 4, fmtTick(v), "end"); }
    label((L + W - R) / 2, H - 2, "step");
    list.forEach((s, i) => {
      const p = s.points.filter(q => q[0] >= x0 && q[0] <= x1 && (!opts.logX || q[0] > 0) && (!opts.logY || q[1] > 0));
      const path = document.createElementNS(ns, "path");
      path.setAttribute("d", p.map((q, j) => (j ? "L" : "M") + sx(q[0]).toFixed(1) + "," + sy(q[1]).toFixed(1)).join(""));
      path.setAttribute("fill", "none"); path.setAttribute("stroke", palette[i % palette.length]); path.setAttribute("stroke-width", "1.5");
      path.dataset.series = s.name; path.dataset.points = p.length;
      svg.appendChild(path);
      label(W - R + 8, T + 14 * i + 10, s.name, "start");
      const sw = document.createElementNS(ns, "rect"); sw.setAttribute("x", W - R - 2); sw.setAttribute("y", T + 14 * i + 3); sw.setAttribute("width", 8); sw.setAttribute("height", 8); sw.setAttribute("fill", palette[i % palette.length]); svg.appendChild(sw);
    });
  }
  const toSvgX = e => (e.clientX - svg.getBoundingClientRect().left) * W / svg.getBoundingClientRect().width;
  let dragFrom = null;
  svg.onmousedown = e => { dragFrom = toSvgX(e); };
  svg.onmouseup = e => {
    const to = toSvgX(e);
    if (dragFrom !== null && sx && Math.abs(to - dragFrom) > 5) { const a = sx.inv(Math.min(dragFrom, to)), b = sx.inv(Math.max(dragFrom, to)); opts.zoom = [a, b]; draw(series); }
    dragFrom = null;
  };
  svg.ondblclick = () => { opts.zoom = null; draw(series); };
  svg.onmousemove = e => {
    if (!sx) return;
    const step = sx.inv(toSvgX(e)), lines = [];
    for (const s of series) {
      let best = null;
      for (const p of s.points) if (best === null || Math.abs(p[0] - step) < Math.abs(best[0] - step)) best = p;
      if (best) lines.push(s.name + ": step " + best[0] + ", loss " + best[1].toFixed(4));
    }
    tip.hidden = !lines.length; tip.textContent = lines.join("\n"); tip.style.whiteSpace = "pre";
    tip.style.left = (e.offsetX + 12) + "px"; tip.style.top = (e.offsetY + 12) + "px";
  };
  svg.onmouseleave = () => tip.hidden = true;
  return { draw };
}

function fmtTick(v) { return String(+v.toPrecision(6)); }
function fmtNum(v) { return Math.abs(v) >= 1000 ? Math.round(v).toString() : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(3); }

const charts = { train: Chart($("#train-chart")), eval: Chart($("#eval-chart")) };
$("#login-button").onclick = signIn;
$("#token").onkeydown = e => { if (e.key === "Enter") signIn(); };
start();
