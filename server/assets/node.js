// A node's page, /nodes/{id}: what it runs against what it should, its sync
// error, the timeline of what it ran (from the history endpoint), a proof to
// download (the signed attestation of its cluster), and, for operators, its
// removal from the fleet.
"use strict";

const $ = (id) => document.getElementById(id);
const node = decodeURIComponent(location.pathname.slice("/nodes/".length));
let cluster = null;

function showError(error) {
  $("banner").textContent = error ? `${error.code || "ERROR"}: ${error.message}` : "";
}

function fact(label, ...value) {
  return [fg.el("dt", {}, label), fg.el("dd", { "data-fact": label }, ...value)];
}

async function load() {
  showError(null);
  const who = await fg.api("/api/v1/whoami");
  $("whoami").textContent = `signed in as ${who.actor} (${who.role})`;
  $("node-remove").hidden = who.role === "viewer";
  const enc = encodeURIComponent(node);
  const [n, h] = await Promise.all([fg.api(`/api/v1/nodes/${enc}`), fg.api(`/api/v1/nodes/${enc}/history`)]);
  cluster = n.clusterId;
  document.title = `${n.id} · fleetgov`;
  $("node-title").textContent = n.id;
  const differs = n.appliedHash && n.desiredHash && n.appliedHash !== n.desiredHash;
  $("node-facts").replaceChildren(
    ...fact("cluster", fg.el("a", { class: "link", href: `/cluster?cluster=${encodeURIComponent(n.clusterId)}` }, n.clusterId)),
    ...fact("config", fg.badge(n.configStatus === "IN_SYNC" ? "IN SYNC" : "DIVERGENT", n.configStatus),
      n.configStatus === "IN_SYNC" && !n.verified ? fg.badge("UNVERIFIED") : null),
    ...fact("runs", fg.el("span", { class: "mono" }, n.appliedSnapshotId || "—"), " ",
      fg.el("span", { class: `mono${differs ? " differs" : ""}`, title: n.appliedHash || "" }, fg.shortHash(n.appliedHash))),
    ...fact("desired", fg.el("span", { class: "mono" }, n.desiredSnapshotId || "—"), " ",
      fg.el("span", { class: "mono", title: n.desiredHash || "" }, fg.shortHash(n.desiredHash))),
    ...fact("drift", fg.badge(n.drift)),
    ...fact("version", n.runtimeVersion || "—", n.drift === "upgrade_required" ? fg.badge("UPGRADE REQUIRED", "upgrade_required") : null),
    ...fact("health", fg.badge(n.health), " ", fg.badge(n.processHealth)),
    ...fact("last heartbeat", fg.age(n.heartbeatAgeMs)),
    ...fact("enrolled", fg.when(n.enrolledAtMs)));
  $("node-error").textContent = n.lastSyncError ? `${n.lastSyncError.code}: ${n.lastSyncError.detail}` : "none reported";
  $("node-history").tBodies[0].replaceChildren(...(h.changes.length ? [...h.changes].reverse().map((c) => fg.el("tr", {},
    fg.el("td", { class: "meta" }, fg.when(c.atMs)),
    fg.el("td", { class: "mono" }, c.snapshot || "—"),
    fg.el("td", { class: "mono", title: c.hash || "" }, fg.shortHash(c.hash)),
    fg.el("td", {}, c.verified ? fg.badge("verified", "aligned") : fg.badge("unverified", "needs_reconcile"))))
    : [fg.el("tr", {}, fg.el("td", { colspan: 4, class: "empty" }, "it has reported nothing yet"))]));
}

// Saves the signed attestation (DSSE) of what the node's cluster ran now:
// checkable offline with the server's verifier key.
async function downloadProof() {
  if (!cluster) return;
  const at = Date.now();
  const envelope = await fg.api(`/api/v1/attestations?cluster=${encodeURIComponent(cluster)}&at=${at}`);
  const link = fg.el("a", {
    href: URL.createObjectURL(new Blob([JSON.stringify(envelope, null, 2)], { type: "application/vnd.dsse+json" })),
    download: `attestation-${cluster}-${at}.dsse.json`,
  });
  document.body.appendChild(link);
  link.click();
  link.remove();
  fg.toast($("toast"), `Attestation of ${cluster} saved (what ${node} and its cluster ran at ${fg.when(at)})`);
}

// Removes the node from its cluster (audited); the page then says so.
async function remove() {
  if (!window.confirm(`Remove ${node} from ${cluster}? It leaves the cluster's counts; its heartbeats are refused until it is enrolled again.`)) return;
  const record = await fg.api(`/api/v1/nodes/${encodeURIComponent(node)}`, { method: "DELETE" });
  $("node-remove").disabled = true;
  $("node-proof").disabled = true;
  showError({ code: "REMOVED", message: `${node} was removed from ${cluster} (audit record #${record.seq})` });
}

$("node-proof").addEventListener("click", () => downloadProof().catch(showError));
$("node-remove").addEventListener("click", () => remove().catch(showError));
fg.initTokenPicker(() => load().catch(showError)).then(() => load().catch(showError));
