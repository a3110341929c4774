// The Cluster Manager: clusters (authority beside execution, and the
// cluster's rollout: its waves, bake, failures and pause / resume / abort /
// promote), the node matrix of the selected cluster (sortable by any
// column; a node id opens its page, /nodes/{id}), force sync and global
// overwrite with justification (offered by role), and the runtime audit
// log with filters and paging, kept live by the event stream.
"use strict";

const PAGE = 50;
const AUDIT_PAGE = 20;
const ROLES = ["viewer", "operator", "admin"];
const view = {
  clusters: new Map(), rollouts: new Map(), selected: null, offset: 0, matched: 0, pending: null, source: null,
  who: null, auditPages: [], auditNext: null, sort: null, order: "asc",
};
const $ = (id) => document.getElementById(id);

// Whether the token's role is at least `role`.
function can(role) { return view.who !== null && ROLES.indexOf(view.who.role) >= ROLES.indexOf(role); }

// A control that needs `role`: disabled, saying why, for a token below it.
function roleButton(label, role, attrs, onclick) {
  const allowed = can(role);
  return fg.el("button", { type: "button", ...attrs, disabled: !allowed || attrs.disabled,
    title: allowed ? attrs.title : `needs the ${role} role; this token is ${view.who ? view.who.role : "unknown"}`,
    onclick }, label);
}

// A force control, behind the justification modal.
function forceButton(label, target, role, cls) {
  return roleButton(label, role, { class: cls, "data-force": Object.keys(target)[0] }, () => openJustify(target));
}

function showError(error) {
  $("banner").textContent = error ? `${error.code || "ERROR"}: ${error.message}` : "";
}

const toast = (text) => fg.toast($("toast"), text);

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
    fg.el("li", {},
      fg.el("a", { href: "#", class: "link", "data-cause": r.code, onclick: (e) => { e.preventDefault(); select(c.id, r.code); } },
        `${r.code} × ${fg.num(r.nodes)}`),
      r.exampleNode ? " (e.g. " : "",
      r.exampleNode ? fg.el("a", { href: nodePage(r.exampleNode), class: "link" }, r.exampleNode) : null,
      r.exampleNode ? ")" : ""));
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
          forceButton("Force Global Snapshot", { cluster: c.id }, "operator", "danger"))),
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
          fg.el("button", { type: "button", onclick: () => auditOf(c.id) }, "Runtime Audit Logs")))),
    view.rollouts.has(c.id) ? rolloutStrip(view.rollouts.get(c.id)) : null);
}

// ---- rollouts ---------------------------------------------------------------

// What an operator may do to a rollout in each state, as the engine allows it.
const ROLLOUT_ACTIONS = [
  ["pause", "Pause", ["progressing", "baking"]],
  ["resume", "Resume", ["paused", "halted"]],
  ["abort", "Abort", ["progressing", "baking", "paused", "halted"]],
  ["promote", "Promote", ["progressing", "baking", "paused"]],
];

// Whether a rollout still decides what nodes run (some action applies to it).
const isActive = (r) => ROLLOUT_ACTIONS.some(([, , states]) => states.includes(r.state));

// The colour of a rollout's state badge.
const ROLLOUT_BADGE = {
  progressing: "SYNCING", baking: "SYNCING", paused: "paused", halted: "DIVERGENT",
  rolled_back: "DIVERGENT", aborted: "paused", complete: "HEALTHY",
};

// Seconds left of the bake, from the server's bakeEndsMs.
function bakeLeft(r) {
  return `bake ends in ${fg.num(Math.max(0, Math.ceil((r.bakeEndsMs - Date.now()) / 1000)))} s`;
}

// A cluster's rollout: its state, the snapshots, the bake countdown, the
// failures against the budget, the halt reason, a bar per wave (nodes on
// the target of the wave's nodes) and the operator's actions.
function rolloutStrip(r) {
  const waves = r.perWave.map((w, i) => {
    const started = w.startedMs !== null && w.startedMs !== undefined;
    const share = w.nodes ? (100 * w.onTarget) / w.nodes : 0;
    const colour = w.failures > 0 ? "red" : w.onTarget === w.nodes ? "green" : "yellow";
    return fg.el("div", { class: `wave${started ? " started" : ""}`, "data-wave": i, "data-started": String(started) },
      fg.el("div", { class: "wave-label" }, fg.el("span", {}, `wave ${i + 1}`), fg.el("span", { class: "meta" }, `${w.percent}%`)),
      fg.el("div", { class: `bar ${started ? colour : ""}` }, fg.el("div", { style: `width:${share}%` })),
      fg.el("div", { class: "meta", "data-testid": "wave-count" },
        started ? `${fg.num(w.onTarget)} / ${fg.num(w.nodes)} on target` : `${fg.num(w.nodes)} nodes, not started`,
        w.failures ? fg.el("span", { class: "differs" }, ` · ${fg.num(w.failures)} failed`) : null));
  });
  const baking = r.state === "baking" && r.bakeEndsMs !== null && r.bakeEndsMs !== undefined;
  const over = r.failures > r.failureBudget;
  // The failures that count are those of an active rollout; once it ended,
  // its nodes report afresh and the reason keeps the figures of the halt.
  const active = isActive(r);
  return fg.el("section", { class: "rollout", "data-testid": "rollout", "data-state": r.state },
    fg.el("div", { class: "rollout-head" },
      fg.el("h3", {}, "Rollout"),
      fg.el("span", { class: `badge ${ROLLOUT_BADGE[r.state] || "never"}`, "data-testid": "rollout-state" }, r.state.replace("_", " ")),
      fg.el("span", { class: "mono", title: `from ${r.previousSnapshot} to ${r.targetSnapshot}` }, `${r.previousSnapshot} → ${r.targetSnapshot}`),
      baking ? fg.el("span", { class: "meta", "data-testid": "rollout-bake", "data-bake-ends": r.bakeEndsMs }, bakeLeft(r)) : null,
      active ? fg.el("span", { class: `meta${over ? " differs" : ""}`, "data-testid": "rollout-failures",
        title: `failures allowed: ${r.maxFailurePct}% of the ${fg.num(r.nodesStarted)} nodes of started waves` },
      `${fg.num(r.failures)} / ${fg.num(r.failureBudget)} failures allowed`) : null,
      fg.el("span", { class: "meta" }, `${fg.num(r.onTarget)} / ${fg.num(r.nodesStarted)} started on target`),
      fg.el("span", { class: "spacer", style: "flex:1" }),
      ...ROLLOUT_ACTIONS.map(([action, label, states]) => roleButton(label, "operator",
        { class: `sm${action === "abort" ? " danger" : ""}`, "data-rollout-action": action, disabled: !states.includes(r.state),
          title: states.includes(r.state) ? null : `not while the rollout is ${r.state.replace("_", " ")}` },
        () => rolloutAction(r.cluster, action, label)))),
    fg.el("div", { class: "waves" }, waves),
    r.reason ? fg.el("div", { class: "rollout-reason", "data-testid": "rollout-reason" }, r.reason) : null);
}

// Shows `r` (a RolloutJson) as its cluster's rollout.
function showRollout(r) {
  view.rollouts.set(r.cluster, r);
  renderClusters();
}

// Reads a cluster's rollout; a 404 (never had one) hides its strip.
async function loadRollout(id) {
  try {
    view.rollouts.set(id, await fg.api(`/api/v1/clusters/${encodeURIComponent(id)}/rollout`));
  } catch (e) {
    if (e.status !== 404) throw e;
    view.rollouts.delete(id);
  }
}

async function loadRollouts(ids) {
  await Promise.all([...ids].map(loadRollout));
  renderClusters();
}

// Pause, resume, abort or promote a cluster's rollout, with a justification.
function rolloutAction(cluster, action, label) {
  justify(`${label} rollout`, `cluster ${cluster}`, async (reason) => {
    const r = await fg.api(`/api/v1/clusters/${encodeURIComponent(cluster)}/rollout/${action}`, { method: "POST", body: { reason } });
    showRollout(r);
    return `Rollout of ${cluster}: ${action} recorded, now ${r.state.replace("_", " ")}`;
  });
}

function renderClusters() {
  const host = $("clusters");
  host.replaceChildren(...[...view.clusters.values()].map(clusterCard));
}

async function loadClusters() {
  const data = await fg.api("/api/v1/clusters");
  view.clusters = new Map(data.clusters.map((c) => [c.id, c]));
  const asked = new URLSearchParams(location.search).get("cluster");
  if (asked && view.clusters.has(asked) && view.selected === null) view.selected = asked;
  if (!view.selected || !view.clusters.has(view.selected)) view.selected = data.clusters.length ? data.clusters[0].id : null;
  const clusterOptions = (select) => {
    const chosen = select.value;
    select.replaceChildren(fg.el("option", { value: "" }, "all"), ...data.clusters.map((c) => fg.el("option", { value: c.id }, c.id)));
    select.value = view.clusters.has(chosen) ? chosen : "";
  };
  clusterOptions($("audit-cluster"));
  for (const id of view.rollouts.keys()) if (!view.clusters.has(id)) view.rollouts.delete(id);
  await loadRollouts(view.clusters.keys());
  renderCauses();
}

// The root-cause filter offers the selected cluster's codes.
function renderCauses() {
  const select = $("filter-error");
  const chosen = select.value;
  const c = view.clusters.get(view.selected);
  const codes = c ? c.rootCauses.map((r) => r.code) : [];
  if (chosen && !codes.includes(chosen)) codes.push(chosen);
  select.replaceChildren(fg.el("option", { value: "" }, "any"), ...codes.map((code) => fg.el("option", { value: code }, code)));
  select.value = chosen;
}

// Selects a cluster's matrix, narrowed to one root cause when given.
function select(id, cause) {
  view.selected = id;
  view.offset = 0;
  history.replaceState(null, "", `/cluster?cluster=${encodeURIComponent(id)}`);
  renderClusters();
  renderCauses();
  $("filter-error").value = cause || "";
  loadNodes().catch(showError);
  $("matrix-title").scrollIntoView({ behavior: "smooth" });
}

// ---- node matrix ------------------------------------------------------------

// A node's page.
const nodePage = (id) => `/nodes/${encodeURIComponent(id)}`;

// Sorts the matrix by a column (a second click reverses it); the server
// sorts the whole cluster, so every page follows the order.
function sortBy(key) {
  view.order = view.sort === key && view.order === "asc" ? "desc" : "asc";
  view.sort = key;
  view.offset = 0;
  for (const th of $("matrix").tHead.rows[0].cells) {
    const sorted = th.dataset.sort === view.sort;
    th.setAttribute("aria-sort", sorted ? (view.order === "asc" ? "ascending" : "descending") : "none");
    const button = th.querySelector("button.sort");
    if (button) button.dataset.arrow = sorted ? (view.order === "asc" ? " ▲" : " ▼") : "";
  }
  loadNodes().catch(showError);
}

// A row whose last report is in sync but no longer counts (over 60 minutes
// old) is marked UNVERIFIED, so the rows add up with "N / M NODES VERIFIED".
// A node's heap: percent, and an arrow for the change since the heartbeat before.
function heap(n) {
  const t = n.heapTrend || 0;
  const arrow = t > 0.5 ? "↑" : t < -0.5 ? "↓" : "→";
  return fg.el("span", { title: `heap ${t >= 0 ? "+" : ""}${t.toFixed(1)} points since the heartbeat before` },
    fg.pct(n.metrics.heap), " ", fg.el("span", { class: `trend ${arrow === "↑" ? "up" : arrow === "↓" ? "down" : ""}` }, arrow));
}

// The applied hash (short, in full on hover), with the authority's beside it when they differ.
function appliedHash(n) {
  if (!n.appliedHash) return "—";
  const differs = n.desiredHash && n.desiredHash !== n.appliedHash;
  return fg.el("span", { title: `applied ${n.appliedHash}${differs ? `\ndesired ${n.desiredHash}` : ""}` },
    n.appliedHash.slice(0, 8), differs ? fg.el("span", { class: "differs" }, ` ≠ ${n.desiredHash.slice(0, 8)}`) : null);
}

// A row whose last report is in sync but no longer counts (over 60 minutes
// old) is marked UNVERIFIED, so the rows add up with "N / M NODES VERIFIED";
// a runtime below the workspace's minimum version is marked UPGRADE
// REQUIRED; a node that never reported shows "—" for what it never said.
function nodeRow(n) {
  const cause = n.lastSyncError ? `${n.lastSyncError.code}: ${n.lastSyncError.detail}` : (n.reconcileReason || "—");
  const reported = n.lastHeartbeatMs !== null && n.lastHeartbeatMs !== undefined;
  const m = n.metrics;
  const metric = (text) => fg.el("td", { class: "num" }, reported ? text : "—");
  const unverified = n.configStatus === "IN_SYNC" && !n.verified;
  const upgrade = n.drift === "upgrade_required";
  const freshness = n.health === "stale" || n.health === "dormant" ? fg.badge(n.health) : null;
  return fg.el("tr", { "data-node": n.id, "data-verified": String(n.verified), "data-drift": n.drift, class: unverified ? "unverified" : null },
    fg.el("td", { class: "mono" }, fg.el("a", { href: nodePage(n.id), class: "link", title: n.id }, n.id)),
    fg.el("td", { class: `mono${upgrade ? " below" : ""}`, "data-testid": "version" }, n.runtimeVersion || "—"),
    fg.el("td", {}, fg.badge(n.processHealth)),
    fg.el("td", { class: "config" }, reported ? fg.badge(n.configStatus === "IN_SYNC" ? "IN SYNC" : "DIVERGENT", n.configStatus) : fg.badge("never"),
      unverified ? fg.el("span", { class: "badge UNVERIFIED", title: "in sync by a report over 60 minutes old: it no longer counts as verified" }, "UNVERIFIED") : null,
      upgrade ? fg.el("span", { class: "badge upgrade_required", "data-testid": "upgrade", title: "runtime below the workspace's minimum version" }, "UPGRADE REQUIRED") : null),
    fg.el("td", { class: "mono hash", "data-testid": "hash" }, appliedHash(n)),
    fg.el("td", { class: "cause", title: cause }, cause),
    metric(fg.pct(m.cpu)),
    metric(fg.pct(m.memory)),
    metric(fg.num(Math.round(m.tps))),
    fg.el("td", { class: "num", "data-testid": "heap" }, reported ? heap(n) : "—"),
    metric(fg.num(m.hotSwapErrors)),
    fg.el("td", { class: "meta", "data-testid": "age" }, reported ? fg.age(n.heartbeatAgeMs) : "—", freshness ? " " : null, freshness),
    fg.el("td", {}, forceButton("Force Sync", { node: n.id }, "operator", "sm")));
}

async function loadNodes() {
  if (!view.selected) return;
  const params = new URLSearchParams({ offset: view.offset, limit: PAGE });
  const config = $("filter-config").value;
  const q = $("filter-q").value.trim();
  if (config === "UNVERIFIED") { params.set("config", "IN_SYNC"); params.set("verified", "false"); }
  else if (config) params.set("config", config);
  if (q) params.set("q", q);
  const cause = $("filter-error").value;
  if (cause) params.set("error", cause);
  if (view.sort) { params.set("sort", view.sort); params.set("order", view.order); }
  const page = await fg.api(`/api/v1/clusters/${encodeURIComponent(view.selected)}/nodes?${params}`);
  view.matched = page.matched;
  $("matrix-title").textContent = `Runtime matrix — ${view.selected}`;
  const body = $("matrix").tBodies[0];
  body.replaceChildren(...(page.nodes.length ? page.nodes.map(nodeRow)
    : [fg.el("tr", {}, fg.el("td", { colspan: 13, class: "empty" }, "no node matches"))]));
  const last = Math.min(view.offset + page.nodes.length, page.matched);
  $("pager-text").textContent = page.matched ? `${fg.num(view.offset + 1)}–${fg.num(last)} of ${fg.num(page.matched)}` : "0 nodes";
  $("prev").disabled = view.offset === 0;
  $("next").disabled = view.offset + PAGE >= page.matched;
}

// ---- justification, force sync and rollout actions --------------------------

// Opens the justification modal for `title` on `subject`; on confirm,
// `send(reason)` acts and returns what the toast says.
function justify(title, subject, send) {
  view.pending = send;
  $("justify-title").textContent = title;
  $("justify-target").textContent = subject;
  $("justify-reason").value = "";
  $("justify-error").textContent = "";
  $("justify-modal").hidden = false;
  $("justify-reason").focus();
}

// A force sync of a node, a cluster, a workspace or the fleet.
function openJustify(target) {
  const [kind, id] = Object.entries(target)[0];
  justify({ node: "Force sync node", cluster: "Force global snapshot" }[kind] || "Global Fleet Overwrite",
    kind === "fleet" ? "the whole fleet" : `${kind} ${id}`, async (reason) => {
      const record = await fg.api("/api/v1/force-sync", { method: "POST", body: { target, reason } });
      return `Override recorded as audit record #${record.seq}`;
    });
}

function closeJustify() {
  $("justify-modal").hidden = true;
  view.pending = null;
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
    const message = await view.pending(reason);
    closeJustify();
    toast(message);
    await Promise.all([loadAudit(), loadClusters(), loadNodes()]);
  } catch (e) {
    $("justify-error").textContent = `${e.code}: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

// ---- audit log --------------------------------------------------------------

// Opens the audit log narrowed to one cluster's records.
function auditOf(cluster) {
  $("audit-cluster").value = cluster;
  $("audit-filter").value = "";
  view.auditPages = [];
  loadAudit();
  $("audit-title").scrollIntoView({ behavior: "smooth" });
}

function auditParams() {
  const params = new URLSearchParams({ limit: AUDIT_PAGE });
  const fields = { action: $("audit-filter").value, cluster: $("audit-cluster").value, actor: $("audit-actor").value.trim() };
  for (const [k, v] of Object.entries(fields)) if (v) params.set(k, v);
  for (const k of ["from", "to"]) {
    const v = $(`audit-${k}`).value;
    if (v) params.set(k, String(new Date(v).getTime() + (k === "to" ? 59_999 : 0)));
  }
  const before = view.auditPages[view.auditPages.length - 1];
  if (before !== undefined) params.set("before", before);
  return params;
}

// Overrides by a person (a rollout's pause, resume, abort or promote too)
// stand out from the engine's own records.
function auditRow(r) {
  const human = ["force_sync_node", "force_sync_cluster", "global_overwrite"].includes(r.action)
    || (r.action === "rollout" && r.actor !== "fleetgov");
  return fg.el("tr", { "data-seq": r.seq, class: human ? "human" : "system" },
    fg.el("td", { class: "mono" }, r.seq),
    fg.el("td", { class: "meta" }, fg.when(r.timeMs)),
    fg.el("td", {}, human ? fg.badge("override", "DIVERGENT") : null, human ? " " : null, r.actor),
    fg.el("td", {}, r.role),
    fg.el("td", { class: "mono" }, r.action),
    fg.el("td", { class: "mono" }, r.target),
    fg.el("td", { class: "cause" }, r.justification || "—"));
}

// Only the newest read of the audit log is shown: an older one (the
// filters changed while it was under way) is dropped when it answers late.
let auditReads = 0;
async function loadAudit() {
  const body = $("audit-log").tBodies[0];
  const read = ++auditReads;
  try {
    const data = await fg.api(`/api/v1/audit?${auditParams()}`);
    if (read !== auditReads) return;
    view.auditNext = data.nextBefore === null || data.nextBefore === undefined ? null : data.nextBefore;
    const page = view.auditPages.length + 1;
    $("audit-size").textContent = `page ${page}${data.size === undefined ? "" : ` · ${fg.num(data.size)} records in the log`}`;
    $("audit-newer").disabled = view.auditPages.length === 0;
    $("audit-older").disabled = view.auditNext === null || data.records.length < AUDIT_PAGE;
    body.replaceChildren(...(data.records.length ? data.records.map(auditRow)
      : [fg.el("tr", {}, fg.el("td", { colspan: 7, class: "empty" }, "no record matches"))]));
  } catch (e) {
    if (read !== auditReads) return;
    body.replaceChildren(fg.el("tr", {}, fg.el("td", { colspan: 7, class: "empty" }, `${e.code}: ${e.message}`)));
  }
}

function auditFilterChanged() { view.auditPages = []; loadAudit(); }

// ---- who is asking ----------------------------------------------------------

async function loadWho() {
  view.who = await fg.api("/api/v1/whoami");
  $("whoami").textContent = `signed in as ${view.who.actor} (${view.who.role})`;
  $("overwrite-controls").hidden = !can("admin");
  if (can("admin")) {
    const workspaces = (await fg.api("/api/v1/workspaces")).workspaces.map((w) => w.id);
    const every = view.who.workspaces.includes("*");
    $("overwrite-scope").replaceChildren(
      ...(every ? [fg.el("option", { value: "fleet" }, "the whole fleet")] : []),
      ...workspaces.map((w) => fg.el("option", { value: `workspace:${w}` }, `workspace ${w}`)));
  }
}

function openOverwrite() {
  const scope = $("overwrite-scope").value;
  openJustify(scope === "fleet" ? { fleet: true } : { workspace: scope.slice("workspace:".length) });
}

// ---- live updates -----------------------------------------------------------

let nodesDirty = false;
const rolloutsDirty = new Set();
function connectEvents() {
  if (view.source) view.source.close();
  view.source = fg.events({
    // A cluster's figures changed: its rollout may have too (re-read at most every two seconds).
    cluster: (e) => { view.clusters.set(e.cluster.id, e.cluster); rolloutsDirty.add(e.cluster.id); renderClusters(); },
    // A rollout changed (a publish with a plan, a wave, a halt, an operator's action).
    rollout: (r) => { if (view.clusters.has(r.cluster)) showRollout(r); },
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
    await loadWho();
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
$("filter-error").addEventListener("change", () => { view.offset = 0; loadNodes().catch(showError); });
for (const id of ["audit-filter", "audit-cluster", "audit-from", "audit-to"]) $(id).addEventListener("change", auditFilterChanged);
$("audit-actor").addEventListener("input", auditFilterChanged);
$("audit-older").addEventListener("click", () => { if (view.auditNext !== null) { view.auditPages.push(view.auditNext); loadAudit(); } });
$("audit-newer").addEventListener("click", () => { view.auditPages.pop(); loadAudit(); });
$("overwrite").addEventListener("click", openOverwrite);
for (const th of $("matrix").tHead.rows[0].cells) {
  if (!th.dataset.sort) continue;
  const button = fg.el("button", { type: "button", class: "sort", title: `sort by ${th.textContent.toLowerCase()}` }, th.textContent);
  button.addEventListener("click", () => sortBy(th.dataset.sort));
  th.setAttribute("aria-sort", "none");
  th.replaceChildren(button);
}
$("justify-cancel").addEventListener("click", closeJustify);
$("justify-confirm").addEventListener("click", confirmJustify);
document.querySelectorAll(".examples a").forEach((a) => a.addEventListener("click", () => { $("justify-reason").value = a.textContent; }));
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("justify-modal").hidden) closeJustify(); });
// The matrix refreshes at most every two seconds while its cluster changes.
setInterval(() => { if (nodesDirty && $("justify-modal").hidden) { nodesDirty = false; loadNodes().catch(showError); } }, 2000);

// Rollouts of clusters that changed, and active ones (a bake begins with no
// event), are re-read at most every two seconds; a bake's countdown ticks
// every second.
setInterval(() => {
  for (const r of view.rollouts.values()) if (isActive(r)) rolloutsDirty.add(r.cluster);
  if (!rolloutsDirty.size || !$("justify-modal").hidden) return;
  const ids = [...rolloutsDirty].filter((id) => view.clusters.has(id));
  rolloutsDirty.clear();
  loadRollouts(ids).catch(showError);
}, 2000);
setInterval(() => {
  for (const span of document.querySelectorAll("[data-bake-ends]")) span.textContent = bakeLeft({ bakeEndsMs: Number(span.dataset.bakeEnds) });
}, 1000);

// The audit log is re-read every five seconds (auto-reconcile episodes and
// other operators' overrides arrive without a page action).
setInterval(() => { if (!document.hidden && view.auditPages.length === 0) loadAudit(); }, 5000);

fg.initTokenPicker(reload).then(reload);
