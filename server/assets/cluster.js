// The Cluster Manager: clusters (authority beside execution), the node
// matrix of the selected cluster, force sync with justification, and the
// runtime audit log, kept live by the event stream.
"use strict";

const PAGE = 50;
const view = { clusters: new Map(), selected: null, offset: 0, matched: 0, target: null, source: null };
const $ = (id) => document.getElementById(id);

function showError(error) {
  $("banner").textContent = error ? `${error.code || "ERROR"}: ${error.message}` : "";
}

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

// ---- clusters ---------------------------------------------------------------

// Nodes whose last report runs the desired snapshot but is over 60 minutes
// old: in sync, yet no longer verified (the matrix marks their rows).
function silentInSync(c) {
  const bucket = (c.revisions || []).find((r) => c.desiredRevision !== 0 && r.revision === c.desiredRevision);
  return Math.max(0, (bucket ? bucket.nodes : 0) - c.inSync);
}

function clusterCard(c) {
  const desired = c.desiredSnapshot || "nothing published";
  const silent = silentInSync(c);
  const causes = (c.rootCauses || []).slice(0, 4).map((r) =>
    fg.el("li", {}, `${r.code} × ${fg.num(r.nodes)}`, r.exampleNode ? ` (e.g. ${r.exampleNode})` : ""));
  return fg.el("article", { class: `card cluster-card${view.selected === c.id ? " selected" : ""}`, "data-cluster": c.id },
    fg.el("div", { class: "card-head" },
      fg.el("span", { class: "name", onclick: () => select(c.id) }, c.id),
      fg.badge(c.environment, "env"),
      fg.el("span", { class: "meta" }, `owner ${c.ownerTeam || "—"}`),
      fg.el("span", { class: "meta" }, `auto-reconcile ${c.autoReconcile ? "on" : "off"}`),
      fg.el("span", { class: "spacer", style: "flex:1" }),
      fg.el("span", { class: "status-badge badge " + c.status, "data-testid": "status" }, c.status)),
    fg.el("div", { class: "split" },
      fg.el("div", { class: "fleet-state fleet-state--authority" },
        fg.el("h3", {}, "Authority (desired)"),
        fg.el("p", { class: "fleet-state__value" }, desired),
        fg.el("span", { class: "fleet-state__hash", title: c.desiredHash || "" }, c.desiredHash ? `blake3 ${c.desiredHash}` : ""),
        fg.el("div", { class: "actions" },
          fg.el("button", { type: "button", class: "danger", onclick: () => openJustify({ cluster: c.id }) }, "Force Global Snapshot"))),
      fg.el("div", { class: "fleet-state fleet-state--execution" },
        fg.el("h3", {}, "Execution (applied)"),
        fg.el("span", { class: "fleet-state__pill", "data-testid": "verified" }, `${fg.num(c.inSync)} / ${fg.num(c.total)} NODES VERIFIED`),
        silent ? fg.el("span", { class: "meta unverified-note", title: "their last report is in sync but over 60 minutes old" },
          ` + ${fg.num(silent)} in sync, unverified`) : null,
        fg.el("div", { class: "cohesion-row" },
          fg.el("span", { class: "cohesion-value", "data-testid": "cohesion" }, fg.cohesion(c)),
          fg.el("span", { class: "meta" }, "cohesion")),
        fg.el("div", { class: `bar ${fg.statusColour(c.status)}`, "data-testid": "bar" },
          fg.el("div", { style: `width:${c.cohesionBasisPoints / 100}%` })),
        fg.el("ul", { class: "causes" }, causes),
        fg.el("div", { class: "actions" },
          fg.el("button", { type: "button", onclick: () => select(c.id) }, "Node matrix"),
          fg.el("button", { type: "button", onclick: () => { loadAudit(); $("audit-title").scrollIntoView({ behavior: "smooth" }); } }, "Runtime Audit Logs")))));
}

function renderClusters() {
  const host = $("clusters");
  host.replaceChildren(...[...view.clusters.values()].map(clusterCard));
}

async function loadClusters() {
  const data = await fg.api("/api/v1/clusters");
  view.clusters = new Map(data.clusters.map((c) => [c.id, c]));
  if (!view.selected || !view.clusters.has(view.selected)) view.selected = data.clusters.length ? data.clusters[0].id : null;
  renderClusters();
}

function select(id) {
  view.selected = id;
  view.offset = 0;
  renderClusters();
  loadNodes();
  $("matrix-title").scrollIntoView({ behavior: "smooth" });
}

// ---- node matrix ------------------------------------------------------------

// A row whose last report is in sync but no longer counts (over 60 minutes
// old) is marked UNVERIFIED, so the rows add up with "N / M NODES VERIFIED".
function nodeRow(n) {
  const cause = n.lastSyncError ? `${n.lastSyncError.code}: ${n.lastSyncError.detail}` : (n.reconcileReason || "—");
  const m = n.metrics || {};
  const unverified = n.configStatus === "IN_SYNC" && !n.verified;
  const freshness = n.health === "stale" || n.health === "dormant" ? fg.badge(n.health) : null;
  return fg.el("tr", { "data-node": n.id, "data-verified": String(n.verified), class: unverified ? "unverified" : null },
    fg.el("td", { class: "mono" }, n.id),
    fg.el("td", {}, fg.badge(n.processHealth)),
    fg.el("td", {}, fg.badge(n.configStatus === "IN_SYNC" ? "IN SYNC" : "DIVERGENT", n.configStatus),
      unverified ? fg.el("span", { class: "badge UNVERIFIED", title: "in sync by a report over 60 minutes old: it no longer counts as verified" }, "UNVERIFIED") : null),
    fg.el("td", { class: "cause" }, cause),
    fg.el("td", { class: "num" }, fg.pct(m.cpu || 0)),
    fg.el("td", { class: "num" }, fg.pct(m.memory || 0)),
    fg.el("td", { class: "num" }, fg.num(Math.round(m.tps || 0))),
    fg.el("td", { class: "num" }, fg.pct(m.heap || 0)),
    fg.el("td", { class: "meta", "data-testid": "age" }, fg.age(n.heartbeatAgeMs), freshness ? " " : null, freshness),
    fg.el("td", {}, fg.el("button", { type: "button", class: "sm", onclick: () => openJustify({ node: n.id }) }, "Force Sync")));
}

async function loadNodes() {
  if (!view.selected) return;
  const params = new URLSearchParams({ offset: view.offset, limit: PAGE });
  const config = $("filter-config").value;
  const q = $("filter-q").value.trim();
  if (config === "UNVERIFIED") { params.set("config", "IN_SYNC"); params.set("verified", "false"); }
  else if (config) params.set("config", config);
  if (q) params.set("q", q);
  const page = await fg.api(`/api/v1/clusters/${encodeURIComponent(view.selected)}/nodes?${params}`);
  view.matched = page.matched;
  $("matrix-title").textContent = `Runtime matrix — ${view.selected}`;
  const body = $("matrix").tBodies[0];
  body.replaceChildren(...(page.nodes.length ? page.nodes.map(nodeRow)
    : [fg.el("tr", {}, fg.el("td", { colspan: 10, class: "empty" }, "no node matches"))]));
  const last = Math.min(view.offset + page.nodes.length, page.matched);
  $("pager-text").textContent = page.matched ? `${fg.num(view.offset + 1)}–${fg.num(last)} of ${fg.num(page.matched)}` : "0 nodes";
  $("prev").disabled = view.offset === 0;
  $("next").disabled = view.offset + PAGE >= page.matched;
}

// ---- justification and force sync -------------------------------------------

function openJustify(target) {
  view.target = target;
  const [kind, id] = Object.entries(target)[0];
  $("justify-title").textContent = kind === "node" ? "Force sync node" : "Force global snapshot";
  $("justify-target").textContent = `${kind} ${id}`;
  $("justify-reason").value = "";
  $("justify-error").textContent = "";
  $("justify-modal").hidden = false;
  $("justify-reason").focus();
}

function closeJustify() {
  $("justify-modal").hidden = true;
  view.target = null;
}

async function confirmJustify() {
  const reason = $("justify-reason").value;
  if (!reason.trim()) {
    $("justify-error").textContent = "A justification is required: overrides are recorded in the audit log.";
    return;
  }
  const button = $("justify-confirm");
  button.disabled = true;
  try {
    const record = await fg.api("/api/v1/force-sync", { method: "POST", body: { target: view.target, reason } });
    closeJustify();
    toast(`Override recorded as audit record #${record.seq}`);
    await Promise.all([loadAudit(), loadClusters(), loadNodes()]);
  } catch (e) {
    $("justify-error").textContent = `${e.code}: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

// ---- audit log --------------------------------------------------------------

async function loadAudit() {
  const body = $("audit-log").tBodies[0];
  try {
    const params = new URLSearchParams({ limit: 20 });
    const action = $("audit-filter").value;
    if (action) params.set("action", action);
    const data = await fg.api(`/api/v1/audit?${params}`);
    $("audit-size").textContent = `${fg.num(data.size)} records in the log`;
    body.replaceChildren(...(data.records.length ? data.records.map((r) => fg.el("tr", { "data-seq": r.seq },
      fg.el("td", { class: "mono" }, r.seq),
      fg.el("td", { class: "meta" }, new Date(r.timeMs).toISOString().replace("T", " ").slice(0, 19)),
      fg.el("td", {}, r.actor),
      fg.el("td", {}, r.role),
      fg.el("td", { class: "mono" }, r.action),
      fg.el("td", { class: "mono" }, r.target),
      fg.el("td", { class: "cause" }, r.justification || "—")))
      : [fg.el("tr", {}, fg.el("td", { colspan: 7, class: "empty" }, "no records yet"))]));
  } catch (e) {
    body.replaceChildren(fg.el("tr", {}, fg.el("td", { colspan: 7, class: "empty" }, `${e.code}: ${e.message}`)));
  }
}

// ---- live updates -----------------------------------------------------------

let nodesDirty = false;
function connectEvents() {
  if (view.source) view.source.close();
  view.source = fg.events({
    cluster: (e) => { view.clusters.set(e.cluster.id, e.cluster); renderClusters(); },
    node: (e) => { if (e.cluster === view.selected) nodesDirty = true; },
    nodes: (e) => { if (e.cluster === view.selected) nodesDirty = true; },
    // A new audit record (an override, a publish, a reconciliation wave): show it.
    audit: () => { loadAudit().catch(showError); },
    // The stream missed events: reload what the page shows.
    lagged: () => { reload(); },
  }, $("live"));
}

async function reload() {
  showError(null);
  try {
    await loadClusters();
    await Promise.all([loadNodes(), loadAudit()]);
    connectEvents();
  } catch (e) {
    showError(e);
  }
}

$("prev").addEventListener("click", () => { view.offset = Math.max(0, view.offset - PAGE); loadNodes().catch(showError); });
$("next").addEventListener("click", () => { view.offset += PAGE; loadNodes().catch(showError); });
$("filter-config").addEventListener("change", () => { view.offset = 0; loadNodes().catch(showError); });
$("filter-q").addEventListener("input", () => { view.offset = 0; loadNodes().catch(showError); });
$("audit-filter").addEventListener("change", () => loadAudit());
$("justify-cancel").addEventListener("click", closeJustify);
$("justify-confirm").addEventListener("click", confirmJustify);
document.querySelectorAll(".examples a").forEach((a) => a.addEventListener("click", () => { $("justify-reason").value = a.textContent; }));
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("justify-modal").hidden) closeJustify(); });
// The matrix refreshes at most every two seconds while its cluster changes.
setInterval(() => { if (nodesDirty && $("justify-modal").hidden) { nodesDirty = false; loadNodes().catch(showError); } }, 2000);

// The audit log is re-read every five seconds (auto-reconcile episodes and
// other operators' overrides arrive without a page action).
setInterval(() => { if (!document.hidden) loadAudit(); }, 5000);

fg.initTokenPicker(reload).then(reload);
