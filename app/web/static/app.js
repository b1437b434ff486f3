// carerounds console: every figure comes from the API with the signed-in user's token.
// Data is inserted with textContent only (never innerHTML), so records cannot inject markup.
"use strict";

const state = { token: sessionStorage.getItem("carerounds-token"), me: null, map: null,
  layers: {}, colours: {}, proposalLayer: null, chart: null };
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf"];

const $ = (sel) => document.querySelector(sel);
function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}
function status(text) { $("#status").textContent = text || ""; }
function money(x) { return x === null || x === undefined ? "" : Number(x).toFixed(2); }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, options.headers || {});
  if (options.body && !(options.body instanceof FormData)) headers["Content-Type"] = "application/json";
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { signOut(); throw new Error("Signed out: token not valid."); }
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const err = body?.error;
    throw new Error(err ? `${err.message}${err.where ? " (" + JSON.stringify(err.where) + ")" : ""}` : response.statusText);
  }
  return body;
}
async function allPages(path, key = "items", max = 5000) {
  const out = [];
  for (let offset = 0; offset < max; offset += 500) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api(`${path}${sep}limit=500&offset=${offset}`);
    out.push(...page[key]);
    if (out.length >= page.total || page[key].length === 0) break;
  }
  return out;
}
const can = (permission) => state.me && state.me.permissions.includes(permission);

// --- sign in -------------------------------------------------------------------------------
async function signIn(token) {
  state.token = token;
  state.me = await api("/api/me");
  sessionStorage.setItem("carerounds-token", token);
  $("#whoami").textContent = `${state.me.username} (${state.me.role.replace("_", " ")})`;
  $("#logout").hidden = false;
  $("#login-panel").hidden = true;
  $("#console").hidden = false;
  initMap();
  loadMap().catch((e) => status(e.message));
}
function signOut() {
  sessionStorage.removeItem("carerounds-token");
  state.token = null;
  location.reload();
}
$("#login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("#login-error").textContent = "";
  signIn($("#token").value.trim()).catch((e) => { $("#login-error").textContent = e.message; });
});
$("#logout").addEventListener("click", signOut);

// --- tabs ----------------------------------------------------------------------------------
document.querySelectorAll("nav [role=tab]").forEach((tab) => tab.addEventListener("click", () => {
  document.querySelectorAll("nav [role=tab]").forEach((t) => t.setAttribute("aria-selected", t === tab));
  document.querySelectorAll("[data-panel]").forEach((p) => { p.hidden = p.dataset.panel !== tab.dataset.tab; });
  if (tab.dataset.tab === "audit") loadAudit().catch((e) => status(e.message));
}));

// --- map -----------------------------------------------------------------------------------
function initMap() {
  if (state.map) return;
  state.map = L.map("map", { preferCanvas: true }).setView([52.4, 0.05], 9);
  const tiles = document.body.dataset.tileUrl;
  if (tiles) L.tileLayer(tiles, { maxZoom: 18, attribution: "© OpenStreetMap contributors" }).addTo(state.map);
  state.proposalLayer = L.layerGroup().addTo(state.map);
  state.map.on("click", (e) => {
    const form = $("#placement-form");
    form.lat.value = e.latlng.lat.toFixed(5);
    form.lon.value = e.latlng.lng.toFixed(5);
  });
}
function colourOf(providerId) {
  if (!state.colours[providerId]) {
    state.colours[providerId] = PALETTE[Object.keys(state.colours).length % PALETTE.length];
  }
  return state.colours[providerId];
}
async function loadMap() {
  status("Loading providers…");
  const legend = $("#provider-legend");
  legend.replaceChildren();
  if (!can("providers_read")) { status("Your role has no map."); return; }
  const providers = await allPages("/api/geo/providers");
  for (const p of providers) {
    const item = el("li", null, { "data-provider": p.provider_id });
    item.append(el("span", null, { class: "swatch", style: `background:${colourOf(p.provider_id)}` }),
      el("span", `${p.provider_id} — ${p.name} (${p.contract_type}, £${money(p.rate_gbp_per_hour)}/h)`));
    legend.append(item);
  }
  const bounds = [];
  if (can("service_users_read")) {
    status("Loading service users…");
    const features = await allPages("/api/geo/service-users", "features");
    const control = L.control.layers(null, {}, { collapsed: true }).addTo(state.map);
    for (const f of features) {
      const [lon, lat] = f.geometry.coordinates;
      const providerId = f.properties.provider_ids[0] || "none";
      if (!state.layers[providerId]) {
        state.layers[providerId] = L.layerGroup().addTo(state.map);
        control.addOverlay(state.layers[providerId], providerId);
      }
      L.circleMarker([lat, lon], { radius: 4, color: colourOf(providerId), weight: 1, fillOpacity: .8 })
        .bindPopup(`${f.properties.service_user_id} · ${f.properties.area} · ${f.properties.provider_ids.join(", ")}`)
        .addTo(state.layers[providerId]);
      bounds.push([lat, lon]);
    }
    document.getElementById("map").dataset.serviceUsers = String(features.length);
  }
  if (can("hotspots_read")) {
    const spots = await api("/api/geo/hotspots?limit=20");
    const list = $("#hotspots");
    list.replaceChildren();
    for (const s of spots.items) {
      list.append(el("li", `${s.area || ""} ${s.place}: ${s.people} people, ${s.providers} providers (${s.provider_ids.join(", ")})`));
      if (s.lat !== null) {
        L.circle([s.lat, s.lon], { radius: 300, color: "#b00020", fill: false, weight: 2 }).addTo(state.map);
        bounds.push([s.lat, s.lon]);
      }
    }
  }
  if (bounds.length) state.map.fitBounds(bounds, { padding: [20, 20] });
  status(`${providers.length} providers on the map.`);
}

// --- audit ---------------------------------------------------------------------------------
async function loadAudit() {
  if (!can("audit_aggregate")) { status("Your role cannot see audits."); return; }
  const select = $("#audit-run");
  if (!select.options.length) {
    const runs = await api("/api/audit/runs?limit=50");
    for (const r of runs.items) select.append(el("option", `#${r.id} ${r.month || "all months"} ${r.provider_id || ""}`, { value: r.id }));
    select.addEventListener("change", () => showRun(select.value).catch((e) => status(e.message)));
  }
  if (select.value) await showRun(select.value);
  else status("No audit runs yet.");
}
async function showRun(runId) {
  const rows = await allPages(`/api/audit/runs/${runId}/provider-months`);
  const body = $("#provider-months tbody");
  body.replaceChildren();
  for (const r of rows) {
    const tr = el("tr", null, { class: "clickable", "data-provider": r.provider_id });
    for (const v of [r.provider_id, r.month, r.visits, r.flagged_visits, money(r.billed_gbp), money(r.verified_gbp), money(r.variance_gbp)]) tr.append(el("td", v));
    tr.addEventListener("click", () => showFlags(runId, r.provider_id, r.month).catch((e) => status(e.message)));
    body.append(tr);
  }
  const byProvider = {};
  for (const r of rows) byProvider[r.provider_id] = (byProvider[r.provider_id] || 0) + (r.variance_gbp || 0);
  const labels = Object.keys(byProvider).sort((a, b) => byProvider[b] - byProvider[a]).slice(0, 15);
  if (state.chart) state.chart.destroy();
  state.chart = new Chart($("#variance-chart"), {
    type: "bar",
    data: { labels, datasets: [{ label: "Billed minus verified (£)", data: labels.map((l) => byProvider[l]), backgroundColor: "#005eb8" }] },
    options: { animation: false, plugins: { legend: { display: true } } },
  });
  status(`Audit run ${runId}: ${rows.length} provider-months.`);
}
async function showFlags(runId, providerId, month) {
  const panel = $("#flag-drilldown");
  if (!can("audit_identifiable")) { status("Your role sees totals only."); return; }
  const flags = await api(`/api/audit/runs/${runId}/flags?provider_id=${encodeURIComponent(providerId)}&month=${month}&limit=100`);
  $("#flag-provider").textContent = `${providerId} ${month} (${flags.total})`;
  const body = $("#flags tbody");
  body.replaceChildren();
  for (const f of flags.items) {
    const tr = el("tr");
    for (const v of [f.flag_kind, f.record_id, f.service_user_id, f.evidence, money(f.amount_gbp)]) tr.append(el("td", v));
    body.append(tr);
  }
  panel.hidden = false;
}

// --- placement -----------------------------------------------------------------------------
const CALL_WINDOWS = [["07:00", "09:30"], ["12:00", "13:30"], ["16:30", "18:00"], ["20:00", "22:00"]];
$("#placement-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const n = Math.max(1, Math.min(4, Number(form.calls.value)));
  const request = {
    area: form.area.value, day: form.day.value, lat: Number(form.lat.value), lon: Number(form.lon.value),
    calls: CALL_WINDOWS.slice(0, n).map(([s, e]) => ({ window_start: s, window_end: e,
      duration_min: Number(form.duration_min.value), carers_required: form.double_up.checked ? 2 : 1 })),
  };
  const list = $("#proposals");
  list.replaceChildren();
  state.proposalLayer.clearLayers();
  status("Finding proposals…");
  try {
    const result = await api("/api/brokerage/placements", { method: "POST", body: JSON.stringify(request) });
    L.marker([request.lat, request.lon]).bindPopup("New package").addTo(state.proposalLayer);
    for (const p of result.proposals) {
      const carers = [...new Set(p.calls.flatMap((c) => c.carer_ids))].join(", ");
      list.append(el("li", `${p.provider_id}: +${p.added_travel_min.toFixed(1)} min travel, ${p.lateness_min.toFixed(0)} min late — carers ${carers}`, { class: "proposal" }));
      if (p.carer_lat !== null && p.carer_lon !== null) {
        L.circleMarker([p.carer_lat, p.carer_lon], { radius: 8, color: colourOf(p.provider_id), weight: 3 })
          .bindPopup(`#${p.rank} ${p.provider_id}`).addTo(state.proposalLayer);
        L.polyline([[p.carer_lat, p.carer_lon], [request.lat, request.lon]], { color: colourOf(p.provider_id), dashArray: "4" }).addTo(state.proposalLayer);
      }
    }
    for (const reason of result.unplaced_reasons) list.append(el("li", reason, { class: "error" }));
    state.map.setView([request.lat, request.lon], 13);
    status(`${result.proposals.length} proposals in ${result.elapsed_ms.toFixed(0)} ms.`);
  } catch (e) { status(e.message); }
});

// --- re-allocation -------------------------------------------------------------------------
$("#reallocation-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const request = { area: form.area.value, day: form.day.value, time_limit_s: Number(form.time_limit_s.value) };
  try {
    let job = await api("/api/brokerage/reallocations", { method: "POST", body: JSON.stringify(request) });
    while (["queued", "running"].includes(job.status)) {
      $("#job-status").textContent = `Job ${job.id}: ${job.status} ${Math.round(job.progress * 100)}% ${job.progress_message || ""}`;
      await new Promise((r) => setTimeout(r, 1000));
      job = await api(`/api/jobs/${job.id}`);
    }
    $("#job-status").textContent = `Job ${job.id}: ${job.status} ${job.error || ""}`;
    if (job.status === "succeeded") await showReallocation(job.id);
  } catch (e) { status(e.message); }
});
async function showReallocation(jobId) {
  const result = await api(`/api/brokerage/reallocations/${jobId}?limit=500`);
  const impact = $("#impact");
  impact.replaceChildren();
  const labels = { hours_freed_per_week: "Hours freed per week", savings_gbp_per_year: "Savings £ per year",
    travel_saved_min: "Travel saved (min)", miles_saved: "Miles saved", visits_moved: "Visits moved",
    people_changing_provider: "People changing provider", waiting_packages_absorbed: "Waiting packages absorbed" };
  for (const [k, label] of Object.entries(labels)) {
    if (result.impact && result.impact[k] !== undefined) impact.append(el("dt", label), el("dd", Number(result.impact[k]).toFixed(1), { "data-figure": k }));
  }
  const body = $("#moves tbody");
  body.replaceChildren();
  for (const m of result.moves) {
    const tr = el("tr");
    for (const v of [m.service_user_id, `${m.from_provider_id} / ${m.from_carer_id}`, `${m.to_provider_id} / ${m.to_carer_id}`, m.start]) tr.append(el("td", v));
    body.append(tr);
  }
}

if (state.token) signIn(state.token).catch(() => signOut());
