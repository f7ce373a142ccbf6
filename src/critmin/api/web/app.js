// critmin dashboard: a thin client of the JSON API. Figures are built by the server
// (plotly JSON); plotly.js and its map geometry are served by this app, never by a CDN.
"use strict";

const PLOT_CONFIG = { topojsonURL: "/static/geo/", responsive: true, displaylogo: false };
const $ = (id) => document.getElementById(id);
let commodities = [];

function csrfToken() {
  const hit = document.cookie.split("; ").find((c) => c.startsWith("critmin_csrf="));
  return hit ? decodeURIComponent(hit.split("=")[1]) : "";
}

async function api(method, url, body, contentType) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") options.headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) {
    options.headers["Content-Type"] = contentType || "application/json";
    options.body = contentType ? body : JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) {
    const err = new Error(data.error || response.statusText);
    err.status = response.status;
    throw err;
  }
  return data;
}

function say(id, text, kind) {
  const el = $(id);
  el.textContent = text || "";
  el.className = "message" + (kind ? " " + kind : "");
}

function plot(div, figure) {
  const layout = Object.assign({ autosize: true }, figure.layout);
  if (window.innerWidth < 640) {  // narrow window: small title, colour bar below the map
    layout.title = Object.assign({}, layout.title, { font: { size: 10 } });
    figure.data.forEach((trace) => {
      if (trace.colorbar) {
        trace.colorbar = Object.assign({}, trace.colorbar,
                                       { orientation: "h", y: -0.05, thickness: 12 });
      }
    });
  }
  return Plotly.react(div, figure.data, layout, PLOT_CONFIG);
}

// ---- navigation --------------------------------------------------------------------------

const loaders = {};

function show(view) {
  if (!loaders[view]) view = "map";
  document.querySelectorAll(".view").forEach((s) => { s.hidden = s.id !== view + "-view"; });
  document.querySelectorAll("nav a").forEach((a) => {
    a.classList.toggle("active", a.dataset.view === view);
  });
  loaders[view]();
}

window.addEventListener("hashchange", () => show(location.hash.slice(1)));

// ---- login -------------------------------------------------------------------------------

async function start() {
  try {
    const me = await api("GET", "/api/me");
    await enter(me);
  } catch (err) {
    if (err.status !== 401) say("login-message", err.message, "error");
    $("login-view").hidden = false;
  }
}

async function enter(me) {
  $("login-view").hidden = true;
  $("nav").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = `${me.email} · ${me.organisation.name} · ${me.role}`;
  commodities = (await api("GET", "/api/datasets/commodities"))
    .filter((c) => c.stages.length > 0);
  fillCommodities("map-commodity", "rare-earths");
  fillCommodities("chain-commodity", "copper");
  fillStages();
  $("risk-as-of").value = new Date().toISOString().slice(0, 10);
  show(location.hash.slice(1) || "map");
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say("login-message", "");
  try {
    const body = await api("POST", "/api/auth/login",
      { email: $("login-email").value, password: $("login-password").value });
    await enter(body.user);
  } catch (err) {
    say("login-message", err.message, "error");
  }
});

$("logout").addEventListener("click", async () => {
  await api("POST", "/api/auth/logout").catch(() => null);
  location.hash = "";
  location.reload();
});

// ---- map and chain -----------------------------------------------------------------------

function fillCommodities(id, preferred) {
  const select = $(id);
  select.replaceChildren(...commodities.map((c) => new Option(c.commodity, c.commodity)));
  select.value = commodities.some((c) => c.commodity === preferred)
    ? preferred : commodities[0].commodity;
}

function fillStages() {
  const entry = commodities.find((c) => c.commodity === $("map-commodity").value);
  $("map-stage").replaceChildren(...(entry ? entry.stages : []).map((s) => new Option(s, s)));
}

$("map-commodity").addEventListener("change", fillStages);

function query(params) {
  const q = new URLSearchParams();
  Object.entries(params).forEach(([k, v]) => { if (v !== "" && v !== undefined) q.set(k, v); });
  return q.toString();
}

loaders.map = async () => {
  say("map-message", "loading…");
  try {
    const figure = await api("GET", "/api/figures/map?" + query({
      commodity: $("map-commodity").value, stage: $("map-stage").value,
      year: $("map-year").value }));
    await plot("map-plot", figure);
    say("map-message", `${figure.meta.countries} producing countries, ${figure.meta.year}`, "ok");
  } catch (err) {
    say("map-message", err.message, "error");
  }
};
$("map-form").addEventListener("submit", (e) => { e.preventDefault(); loaders.map(); });

loaders.chain = async () => {
  say("chain-message", "loading…");
  try {
    const figure = await api("GET", "/api/figures/sankey?" + query({
      commodity: $("chain-commodity").value, year: $("chain-year").value }));
    await plot("chain-plot", figure);
    say("chain-message", `stages: ${figure.meta.stages.join(" → ")}, ${figure.meta.year}`, "ok");
  } catch (err) {
    say("chain-message", err.message, "error");
  }
};
$("chain-form").addEventListener("submit", (e) => { e.preventDefault(); loaders.chain(); });

// ---- risk table --------------------------------------------------------------------------

const RISK_COLUMNS = [
  ["commodity", "commodity"], ["stage", "stage"], ["year", "year"],
  ["hhi", "HHI (0–10,000)", (v) => v === null ? "–" : Math.round(v * 10000).toLocaleString()],
  ["top1", "top producer"], ["top1_share", "top share", pct],
  ["country_share", "country share", pct], ["group_share", "group share", pct],
  ["n1_remaining", "left without top (N−1)", pct],
  ["sr_eu", "EU supply risk", (v) => v === null || v === undefined ? "–" : v.toFixed(2)],
];

function pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%"; }

function fillTable(table, columns, rows, onClick) {
  const head = document.createElement("tr");
  columns.forEach(([, title]) => {
    const th = document.createElement("th");
    th.textContent = title;
    head.append(th);
  });
  const body = rows.map((row) => {
    const tr = document.createElement("tr");
    columns.forEach(([key, , format]) => {
      const td = document.createElement("td");
      const value = row[key];
      td.textContent = format ? format(value, row) : (value ?? "–");
      if (typeof value === "number") td.className = "num";
      tr.append(td);
    });
    if (onClick) {
      tr.className = "clickable";
      tr.addEventListener("click", () => onClick(row));
    }
    return tr;
  });
  table.replaceChildren(head, ...body);
}

loaders.risk = async () => {
  say("risk-message", "loading…");
  try {
    const body = await api("GET", "/api/metrics/risk?" + query({
      country: $("risk-country").value, group: $("risk-group").value,
      as_of: $("risk-as-of").value, bottleneck: $("risk-bottleneck").checked,
      method: "all" }));
    const rows = body.rows.filter((r) => r.hhi !== null)
      .sort((a, b) => (b.hhi ?? 0) - (a.hhi ?? 0));
    fillTable($("risk-table"), RISK_COLUMNS, rows);
    say("risk-message", `${rows.length} markets, ranked by concentration (HHI); shares of ` +
        `${body.country} and of ${body.group} (members on ${$("risk-as-of").value})`, "ok");
  } catch (err) {
    say("risk-message", err.message, "error");
  }
};
$("risk-form").addEventListener("submit", (e) => { e.preventDefault(); loaders.risk(); });

// ---- scenario editor ---------------------------------------------------------------------

let openScenario = null;

loaders.editor = async () => {
  const [scenarios, overlays] = await Promise.all([
    api("GET", "/api/scenarios"), api("GET", "/api/overlays")]);
  const list = $("scenario-list");
  const chosen = openScenario ? openScenario.id : "";
  list.replaceChildren(new Option("— new scenario —", ""),
    ...scenarios.map((s) => new Option(`${s.name} (v${s.latest_version}` +
                                        `${s.owned ? "" : ", " + s.organisation})`, s.id)));
  list.value = chosen;
  $("overlay-list").replaceChildren(new Option("— none —", ""),
    ...overlays.map((o) => new Option(o.name, o.id)));
  if (!$("scenario-text").value) {
    const example = await api("GET", "/api/scenarios/example").catch(() => null);
    if (example) {
      $("scenario-text").value = example.yaml;
      $("scenario-name").value = example.name;
    }
  }
};

$("scenario-list").addEventListener("change", async () => {
  const id = $("scenario-list").value;
  if (!id) { openScenario = null; return; }
  openScenario = await api("GET", `/api/scenarios/${id}`);
  $("scenario-name").value = openScenario.name;
  $("scenario-text").value = openScenario.latest.body;
  say("editor-message", `version ${openScenario.latest_version} of ${openScenario.organisation}`);
});

async function validate() {
  const result = await api("POST", "/api/scenarios/validate", $("scenario-text").value,
                           "application/yaml");
  say("editor-message", `valid (scenario hash ${result.scenario_hash})`, "ok");
  return result;
}

async function save() {
  const name = $("scenario-name").value.trim();
  const text = $("scenario-text").value;
  if (openScenario && openScenario.owned) {
    const version = await api("POST", `/api/scenarios/${openScenario.id}/versions`, text,
                              "application/yaml");
    say("editor-message", `saved as version ${version.version}`, "ok");
    openScenario.latest_version = version.version;
    return openScenario;
  }
  const created = await api("POST", "/api/scenarios?" + query({ name }), text,
                            "application/yaml");
  openScenario = Object.assign(created, { owned: true });
  say("editor-message", `saved ${created.name} (version 1)`, "ok");
  return created;
}

function guarded(button, action) {
  $(button).addEventListener("click", async () => {
    $(button).disabled = true;
    try {
      await action();
    } catch (err) {
      say("editor-message", err.message, "error");
    } finally {
      $(button).disabled = false;
    }
  });
}

guarded("validate", validate);
guarded("save", save);
guarded("run", async () => {
  const scenario = await save();
  const run = await api("POST", "/api/runs", {
    scenario_id: scenario.id, overlay_id: $("overlay-list").value || null });
  location.hash = "runs";
  watch(run.id);
});

// ---- runs and results --------------------------------------------------------------------

const RUN_COLUMNS = [
  ["scenario", "scenario", (s) => `${s.name} v${s.version}`],
  ["status", "status"], ["created_at", "started", (v) => v.replace("T", " ").slice(0, 19)],
  ["error", "message", (v) => v || ""],
];
let watching = null;

loaders.runs = async () => {
  const runs = await api("GET", "/api/runs");
  fillTable($("runs-table"), RUN_COLUMNS, runs, (run) => watch(run.id));
  $("runs-table").querySelectorAll("tr").forEach((tr, i) => {
    if (i > 0) tr.children[1].className = "status-" + runs[i - 1].status;
  });
};

async function watch(id) {
  watching = id;
  $("run-figures").replaceChildren();
  for (;;) {
    if (watching !== id) return;
    const run = await api("GET", `/api/runs/${id}`);
    say("runs-message", `run ${run.scenario.name} v${run.scenario.version}: ${run.status}` +
        (run.error ? ` — ${run.error}` : ""), run.status === "failed" ? "error" : "ok");
    if (!["queued", "running"].includes(run.status)) {
      await loaders.runs();
      if (run.status === "succeeded") await showResults(id);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

async function showResults(id) {
  const body = await api("GET", `/api/runs/${id}/figures`);
  const holder = $("run-figures");
  holder.replaceChildren();
  for (const [i, figure] of body.figures.entries()) {
    const div = document.createElement("div");
    div.className = "plot small";
    div.id = `run-figure-${i}`;
    div.dataset.name = figure.meta.name;
    holder.append(div);
    await plot(div, figure);
  }
}

// ---- menu --------------------------------------------------------------------------------

loaders.menu = async () => {
  const body = await api("GET", "/api/menu");
  $("menu-message").textContent = body.message;
};

start();
