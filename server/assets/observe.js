// Observe: rollout posture of every workspace the token may see — authority
// mode, health and drift badges, and each cluster's revision histogram.
"use strict";

const $ = (id) => document.getElementById(id);
const REVISION_COLORS = ["#2ea043", "#d29922", "#a371f7", "#388bfd", "#db61a2", "#8b98a5"];

function summaryRow(label, pairs) {
  return fg.el("div", { class: "summary" }, fg.el("span", { class: "label" }, label),
    pairs.map(([name, n]) => fg.badge(`${name} ${fg.num(n)}`, name)));
}

// Nodes per verified revision: the desired one green, older ones in other
// colours, unverified (revision 0) grey.
function histogram(c) {
  const total = Math.max(1, c.total);
  const buckets = [...c.revisions].sort((a, b) => b.revision - a.revision);
  const colour = (r, i) => r.revision === 0 ? "#3b4450" : r.revision === c.desiredRevision ? REVISION_COLORS[0] : REVISION_COLORS[1 + (i % 5)];
  return fg.el("div", {},
    fg.el("div", { class: "hist", title: "nodes per verified applied revision" },
      buckets.map((r, i) => fg.el("div", { style: `width:${(100 * r.nodes) / total}%;background:${colour(r, i)}` }))),
    fg.el("div", { class: "legend" }, buckets.map((r, i) => fg.el("span", {},
      fg.el("i", { style: `background:${colour(r, i)}` }),
      `${r.revision === 0 ? "unverified" : "r" + r.revision} ${fg.num(r.nodes)}`))));
}

function workspaceCard(w) {
  const s = w.summary;
  return fg.el("article", { class: "card", "data-workspace": w.id },
    fg.el("div", { class: "card-head" },
      fg.el("span", { class: "name" }, w.id),
      fg.badge(w.authorityMode),
      fg.el("span", { class: "meta" }, `minimum runtime ${w.minRuntimeVersion}`),
      fg.el("span", { class: "meta" }, `${fg.num(s.total)} runtimes`)),
    summaryRow("health", [["connected", s.active], ["stale", s.stale], ["dormant", s.dormant], ["never", s.never]]),
    summaryRow("drift", [["aligned", s.aligned], ["needs_reconcile", s.needsReconcile], ["upgrade_required", s.upgradeRequired], ["awaiting_sync", s.awaitingSync]]),
    fg.el("table", { style: "margin-top:12px" },
      fg.el("thead", {}, fg.el("tr", {}, ["Cluster", "Environment", "Status", "Cohesion", "Desired", "Rollout (nodes per revision)"].map((h) => fg.el("th", {}, h)))),
      fg.el("tbody", {}, w.clusters.map((c) => fg.el("tr", { "data-cluster": c.id },
        fg.el("td", { class: "mono" }, fg.el("a", { href: `/cluster?cluster=${encodeURIComponent(c.id)}`, class: "link" }, c.id)),
        fg.el("td", {}, fg.badge(c.environment, "env")),
        fg.el("td", {}, fg.badge(c.status)),
        fg.el("td", { class: "num" }, fg.cohesion(c)),
        fg.el("td", { class: "mono" }, c.desiredSnapshot || "—"),
        fg.el("td", {}, histogram(c)))))));
}

async function load() {
  try {
    const data = await fg.api("/api/v1/workspaces");
    $("banner").textContent = "";
    $("workspaces").replaceChildren(...(data.workspaces.length ? data.workspaces.map(workspaceCard)
      : [fg.el("div", { class: "empty" }, "this token sees no workspace")]));
  } catch (e) {
    $("banner").textContent = `${e.code}: ${e.message}`;
  }
}

let source = null;
let dirty = false;
function start() {
  load();
  if (source) source.close();
  source = fg.events({ cluster: () => { dirty = true; }, nodes: () => { dirty = true; }, lagged: () => { dirty = true; } }, $("live"));
}
// Summaries scan the whole fleet, so the page reloads at most every three seconds.
setInterval(() => { if (dirty) { dirty = false; load(); } }, 3000);
fg.initTokenPicker(start).then(start);
