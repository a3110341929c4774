// The Cluster Manager in a real browser: Debian's headless Chromium driven by
// playwright-core. Expects FLEET_URL (the running fleet_server) and writes the
// screenshot to SCREENSHOT (default: docs/cluster.png of the repository).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const BASE = process.env.FLEET_URL;
const SCREENSHOT = process.env.SCREENSHOT || resolve(here, "../../docs/cluster.png");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const REASON = "Node re-provisioning after hardware failure";
// One generous deadline for every wait, as in the Rust suites and scripts/wait.sh.
const DEADLINE_MS = Number(process.env.FLEETGOV_TEST_DEADLINE_S || 120) * 1000;

// Polls `probe` until `done` holds of its value, within the one deadline;
// fails saying what it waited for and what it saw last.
async function until(what, probe, done) {
  const end = Date.now() + DEADLINE_MS;
  let seen;
  while (Date.now() < end) {
    seen = await probe();
    if (done(seen)) return seen;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.fail(`gave up waiting for ${what}; saw ${JSON.stringify(seen)}`);
}

test("the Cluster Manager shows the seeds' clusters and audits justified force syncs that hold", { timeout: 4 * DEADLINE_MS }, async () => {
  assert.ok(BASE, "set FLEET_URL to the fleet server's address");
  await withPage(1440, "demo-operator-token", async (page) => {
    // Authority beside execution for the three seed clusters: exactly the
    // seeds' 100 / 75 / 33 under the truthful rules (floored; two decimals
    // below 100), the bar's colour from the status.
    const expected = [
      ["eks-prod-us", 100, /^100%$/, "HEALTHY", "green"],
      ["gke-stage-eu", 75, /^75\.\d\d%$/, "SYNCING", "yellow"],
      ["azure-dev-west", 33, /^33\.\d\d%$/, "DIVERGENT", "red"],
    ];
    const api = (path) => page.evaluate((p) => fg.api(p), path);
    for (const [cluster, percent, shown, status, colour] of expected) {
      const card = page.locator(`.cluster-card[data-cluster="${cluster}"]`);
      await card.locator('[data-testid="cohesion"]').filter({ hasText: shown }).waitFor();
      const c = await api(`/api/v1/clusters/${cluster}`);
      assert.deepEqual([c.cohesion, c.status], [percent, status], cluster);
      assert.equal(await card.locator('[data-testid="status"]').textContent(), status);
      assert.match(await card.locator('[data-testid="bar"]').getAttribute("class"), new RegExp(`\\b${colour}\\b`));
      assert.match(await card.locator('[data-testid="verified"]').textContent(), /^[\d,]+ \/ [\d,]+ NODES VERIFIED$/);
      assert.match(await card.locator(".fleet-state__value").textContent(), new RegExp(`${cluster}@r\\d+`));
      await card.getByRole("button", { name: "Force Global Snapshot" }).waitFor();
    }
    // The healthy cluster has no failing node to list.
    assert.equal(await page.locator('.cluster-card[data-cluster="eks-prod-us"] .causes li').count(), 0);

    // The staging node with the reload failure, in the node matrix.
    await page.locator('.cluster-card[data-cluster="gke-stage-eu"] .name').click();
    const row = page.locator('#matrix tr[data-node="gw-stage-eu-4"]');
    await row.waitFor();
    assert.match(await row.textContent(), /RELOAD_FAILURE: Incompatible Filter Signature/);
    assert.match(await row.textContent(), /DIVERGENT/);
    assert.match(await row.locator('[data-testid="age"]').textContent(), /^\d+s ago/);

    // A blank justification is refused, by the page and by the server.
    await row.getByRole("button", { name: "Force Sync" }).click();
    const modal = page.locator("#justify-modal");
    await modal.waitFor({ state: "visible" });
    await page.fill("#justify-reason", "   ");
    await page.click("#justify-confirm");
    await page.locator("#justify-error").filter({ hasText: "justification is required" }).waitFor();
    assert.ok(await modal.isVisible(), "the modal stays open");
    const server = await page.evaluate(async () => {
      const r = await fetch("/api/v1/force-sync", {
        method: "POST",
        headers: { Authorization: `Bearer ${fg.token()}`, "Content-Type": "application/json" },
        body: JSON.stringify({ target: { node: "gw-stage-eu-4" }, reason: "  " }),
      });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(server.status, 400);
    assert.equal(server.body.error.code, "JUSTIFICATION_REQUIRED");

    // With a reason, the override goes through and lands in the audit log.
    await page.fill("#justify-reason", REASON);
    await page.click("#justify-confirm");
    await modal.waitFor({ state: "hidden" });
    await page.locator("#toast").filter({ hasText: "audit record" }).waitFor();
    const audit = page.locator("#audit-log tbody tr").filter({ hasText: "node:gw-stage-eu-4" });
    await audit.filter({ hasText: REASON }).first().waitFor();
    assert.match(await audit.first().textContent(), /force_sync_node/);
    assert.match(await audit.first().textContent(), /operator/);

    // The screenshot: the seeds' clusters, the matrix and the audited node force.
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // A justified force of the whole divergent cluster brings it to 100 %
    // HEALTHY, and it holds: after every simulated node has heartbeat twice
    // more, it still reads 100 %.
    const west = page.locator('.cluster-card[data-cluster="azure-dev-west"]');
    await west.getByRole("button", { name: "Force Global Snapshot" }).click();
    await modal.waitFor({ state: "visible" });
    await page.fill("#justify-reason", REASON);
    await page.click("#justify-confirm");
    await modal.waitFor({ state: "hidden" });
    await west.locator('[data-testid="cohesion"]').filter({ hasText: /^100%$/ }).waitFor();
    await west.locator('[data-testid="status"]').filter({ hasText: "HEALTHY" }).waitFor();
    const heartbeats = async () => {
      const text = await page.evaluate(async () => (await fetch("/metrics", { headers: { Authorization: `Bearer ${fg.token()}` } })).text());
      return Number(/^fleetgov_heartbeats_total\{source="simulation"\} (\d+)$/m.exec(text)[1]);
    };
    const clusters = await api("/api/v1/clusters");
    const fleet = clusters.clusters.reduce((n, c) => n + c.total, 0);
    const from = await heartbeats();
    await until(`${2 * fleet} more simulated heartbeats than ${from}`, heartbeats, (n) => n >= from + 2 * fleet);
    const held = await api("/api/v1/clusters/azure-dev-west");
    assert.deepEqual([held.cohesion, held.cohesionBasisPoints, held.status, held.inSync], [100, 10000, "HEALTHY", held.total]);
    assert.equal(await west.locator('[data-testid="cohesion"]').textContent(), "100%");
    assert.match(await west.locator('[data-testid="bar"]').getAttribute("class"), /\bgreen\b/);
    await page.locator("#audit-log tbody tr").filter({ hasText: "cluster:azure-dev-west" }).first().waitFor();
  });
});

// Runs `body(page)` in a fresh headless Chromium of `width` pixels, with the
// demo `token`; fails on any error the page throws.
async function withPage(width, token, body) {
  const profile = mkdtempSync(join(tmpdir(), "fleetgov-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width, height: 900 },
    acceptDownloads: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(DEADLINE_MS);
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(`${BASE}/cluster`);
    await page.evaluate((t) => localStorage.setItem("fleetgov.token", t), token);
    await page.reload();
    await page.locator('[data-testid="whoami"]').filter({ hasText: "signed in as" }).waitFor();
    await body(page);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// An API call from the page with another demo token.
const as = (page, token, path, method = "GET", body) => page.evaluate(async ([t, p, m, b]) => {
  const r = await fetch(p, { method: m, headers: { Authorization: `Bearer ${t}`, "Content-Type": "application/json" },
    body: b === undefined ? undefined : JSON.stringify(b) });
  return { status: r.status, body: await r.json() };
}, [token, path, method, body]);

test("controls follow the role; the matrix, a node's history and proof, the audit filters and Observe answer an operator", { timeout: 4 * DEADLINE_MS }, async () => {
  assert.ok(BASE, "set FLEET_URL to the fleet server's address");
  const icon = await fetch(`${BASE}/favicon.ico`);
  assert.equal(icon.status, 200);

  // A viewer sees every force control disabled and no global overwrite.
  await withPage(1280, "demo-viewer-token", async (page) => {
    await page.locator('.cluster-card[data-cluster="gke-stage-eu"]').waitFor();
    await page.locator("#matrix tbody tr[data-node]").first().waitFor();
    const forces = page.locator("button[data-force]");
    assert.ok(await forces.count() > 3);
    for (const b of await forces.all()) assert.ok(await b.isDisabled(), "a viewer's force button is disabled");
    assert.ok(await page.locator("#overwrite-controls").isHidden());
    // Nor may a viewer remove a node: its page offers no such control.
    await page.goto(`${BASE}/nodes/gw-stage-eu-4`);
    await page.locator("#node-title").filter({ hasText: "gw-stage-eu-4" }).waitFor();
    await page.locator('#node-facts [data-fact="cluster"]').filter({ hasText: "gke-stage-eu" }).waitFor();
    assert.ok(await page.locator("#node-remove").isHidden());
  });

  await withPage(1280, "demo-admin-token", async (page) => {
    const forces = page.locator("button[data-force]");
    await page.locator("#matrix tbody tr[data-node]").first().waitFor();
    for (const b of await forces.all()) assert.ok(await b.isEnabled(), "an admin's force button is enabled");

    // A node below the workspace's minimum version, and one that never reported.
    const desired = (await as(page, "demo-admin-token", "/api/v1/clusters/eks-prod-us")).body;
    await as(page, "demo-operator-token", "/api/v1/clusters/eks-prod-us/nodes", "POST", { nodes: ["gw-old-1", "gw-new-1"] });
    const beat = { heartbeats: [{ node: "gw-old-1", runtimeVersion: "3.3.9", appliedSnapshot: desired.desiredSnapshot,
      appliedHash: desired.desiredHash, metrics: { cpu: 10, memory: 20, tps: 5, heap: 40, hotSwapErrors: 2 } }] };
    assert.equal((await as(page, "demo-operator-token", "/api/v1/heartbeats", "POST", beat)).status, 200);
    await page.locator('.cluster-card[data-cluster="eks-prod-us"] .name').click();
    await page.fill("#filter-q", "gw-old-1");
    const old = page.locator('#matrix tr[data-node="gw-old-1"]');
    await old.waitFor();
    assert.equal(await old.locator('[data-testid="version"]').textContent(), "3.3.9");
    assert.match(await old.textContent(), /IN SYNC/);
    await old.locator('[data-testid="upgrade"]').filter({ hasText: "UPGRADE REQUIRED" }).waitFor();
    assert.equal(await old.locator('[data-testid="hash"]').textContent(), desired.desiredHash.slice(0, 8));
    assert.match(await old.locator('[data-testid="heap"]').textContent(), /^40% [↑↓→]$/);
    await page.fill("#filter-q", "gw-new-1");
    const fresh = page.locator('#matrix tr[data-node="gw-new-1"]');
    await fresh.waitFor();
    const cells = await fresh.locator("td").allTextContents();
    assert.deepEqual([cells[1], cells[4], cells[6], cells[7], cells[8], cells[9], cells[10], cells[11]],
      ["—", "—", "—", "—", "—", "—", "—", "—"], `a never-reported node: ${cells}`);
    await page.fill("#filter-q", "");

    // A root cause narrows the matrix to the nodes that report it.
    const stage = page.locator('.cluster-card[data-cluster="gke-stage-eu"]');
    const cause = stage.locator("a[data-cause]").first();
    await cause.waitFor();
    const code = await cause.getAttribute("data-cause");
    await cause.click();
    await page.locator("#matrix-title").filter({ hasText: "gke-stage-eu" }).waitFor();
    await until(`the matrix narrowed to ${code}`, async () => (await page.locator("#matrix tbody td.cause").allTextContents()),
      (causes) => causes.length > 0 && causes.every((c) => c.startsWith(`${code}:`)));
    assert.equal(await page.locator("#filter-error").inputValue(), code);

    // Nothing runs over at 1280 px, the longest root cause included.
    const overflow = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      cells: [...document.querySelectorAll("#matrix td.cause")].filter((td) => td.scrollWidth > td.clientWidth + 1).length,
    }));
    assert.deepEqual(overflow, { page: 1280, cells: 0 });

    // A click on a column header sorts the whole cluster by it; a second one reverses it.
    await page.selectOption("#filter-error", "");
    const cpuHeader = page.locator('#matrix th[data-sort="cpu"] button.sort');
    const cpus = async () => (await page.locator("#matrix tbody tr[data-node] td:nth-child(7)").allTextContents()).map((t) => parseInt(t, 10));
    await cpuHeader.click();
    await page.locator('#matrix th[data-sort="cpu"][aria-sort="ascending"]').waitFor();
    const ascending = await until("the matrix sorted by CPU, ascending", cpus,
      (c) => c.length > 1 && c.every((v, i) => i === 0 || c[i - 1] <= v));
    await cpuHeader.click();
    await page.locator('#matrix th[data-sort="cpu"][aria-sort="descending"]').waitFor();
    const descending = await until("the matrix sorted by CPU, descending", cpus,
      (c) => c.length > 1 && c.every((v, i) => i === 0 || c[i - 1] >= v) && c[0] >= ascending[ascending.length - 1]);
    assert.ok(descending[0] >= descending[descending.length - 1]);

    // A node's page, linked from the matrix: what it ran over time, and a proof to download.
    const first = page.locator("#matrix tbody tr[data-node] td a.link").first();
    const node = await first.textContent();
    await first.click();
    await page.waitForURL(new RegExp(`/nodes/${node}$`));
    await page.locator("#node-title").filter({ hasText: node }).waitFor();
    await page.locator("#node-history tbody tr").first().waitFor();
    assert.match(await page.locator('#node-facts [data-fact="cluster"]').textContent(), /^gke-stage-eu$/);
    assert.notEqual(await page.locator('[data-testid="sync-error"]').textContent(), "—");
    await page.screenshot({ path: resolve(dirname(SCREENSHOT), "node.png"), fullPage: true });
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#node-proof")]);
    assert.match(download.suggestedFilename(), /^attestation-gke-stage-eu-\d+\.dsse\.json$/);
    const saved = JSON.parse(await new Promise((resolve, reject) => {
      download.createReadStream().then((s) => { let t = ""; s.on("data", (d) => { t += d; }); s.on("end", () => resolve(t)); s.on("error", reject); }, reject);
    }));
    assert.equal(saved.payloadType, "application/vnd.in-toto+json");
    assert.ok(saved.signatures.length === 1 && saved.signatures[0].sig);

    // The cluster's audit log: its records only, filtered and paged.
    await page.goto(`${BASE}/cluster?cluster=gke-stage-eu`);
    await stage.getByRole("button", { name: "Runtime Audit Logs" }).click();
    assert.equal(await page.locator("#audit-cluster").inputValue(), "gke-stage-eu");
    await until("the cluster's audit records", async () => page.locator("#audit-log tbody tr[data-seq]").allTextContents(),
      (rows) => rows.length > 0 && rows.every((r) => !/azure-dev-west|eks-prod-us/.test(r)));

    // Global Fleet Overwrite, behind the justification modal.
    await page.locator("#overwrite-controls").waitFor({ state: "visible" });
    await page.selectOption("#overwrite-scope", "workspace:acme-edge");
    await page.click("#overwrite");
    await page.locator("#justify-modal").waitFor({ state: "visible" });
    assert.match(await page.locator("#justify-title").textContent(), /Global Fleet Overwrite/);
    await page.fill("#justify-reason", "Rollback due to failed deployment");
    await page.click("#justify-confirm");
    await page.locator("#justify-modal").waitFor({ state: "hidden" });
    await page.selectOption("#audit-cluster", "");
    await page.selectOption("#audit-filter", "force_sync_node,force_sync_cluster,global_overwrite");
    await page.fill("#audit-actor", "ada.admin");
    const overwrite = page.locator("#audit-log tbody tr.human").filter({ hasText: "global_overwrite" });
    await overwrite.filter({ hasText: "workspace:acme-edge" }).first().waitFor();
    // The overwrite's row is also in the page the action filter loaded
    // before the actor's: wait for the actor's page, not just that row.
    await until("only ada.admin's records", async () => page.locator("#audit-log tbody tr[data-seq] td:nth-child(3)").allTextContents(),
      (actors) => actors.length > 0 && actors.every((a) => a.endsWith("ada.admin")));
    // Paging: with more records than a page, one page older starts below the newest shown.
    for (let i = 0; i < 21; i++) {
      const force = { target: { node: "gw-new-1" }, reason: `Node re-provisioning, step ${i + 1}` };
      assert.equal((await as(page, "demo-operator-token", "/api/v1/force-sync", "POST", force)).status, 201);
    }
    await page.fill("#audit-actor", "");
    await page.selectOption("#audit-filter", "");
    await until("a full first audit page", async () => page.locator("#audit-log tbody tr[data-seq]").count(), (n) => n === 20);
    const top = Number(await page.locator("#audit-log tbody tr[data-seq]").first().getAttribute("data-seq"));
    await page.click("#audit-older");
    await until("an older page", async () => Number(await page.locator("#audit-log tbody tr[data-seq]").first().getAttribute("data-seq")),
      (seq) => seq < top - 19);
    assert.ok(await page.locator("#audit-newer").isEnabled());

    // Observe: two workspaces of different modes; a cluster link opens it.
    assert.equal((await as(page, "demo-admin-token", "/api/v1/workspaces/acme-lab", "PUT", { authorityMode: "Dev Override" })).status, 201);
    await page.goto(`${BASE}/dashboard/observe`);
    await page.locator('[data-workspace="acme-lab"] .badge.dev_override').waitFor();
    await page.locator('[data-workspace="acme-edge"] .badge.authoritative').waitFor();
    await page.screenshot({ path: resolve(dirname(SCREENSHOT), "observe.png"), fullPage: true });
    await page.locator('[data-workspace="acme-edge"] tr[data-cluster="azure-dev-west"] a').click();
    await page.waitForURL(/\/cluster\?cluster=azure-dev-west$/);
    await page.locator('.cluster-card.selected[data-cluster="azure-dev-west"]').waitFor();
    await page.locator("#matrix-title").filter({ hasText: "azure-dev-west" }).waitFor();

    // An operator removes a node on its page: it leaves the cluster, audited.
    const before = (await as(page, "demo-admin-token", "/api/v1/clusters/eks-prod-us")).body.total;
    await page.goto(`${BASE}/nodes/gw-old-1`);
    await page.locator("#node-title").filter({ hasText: "gw-old-1" }).waitFor();
    page.once("dialog", (d) => d.accept());
    await page.click("#node-remove");
    await page.locator("#banner").filter({ hasText: "gw-old-1 was removed from eks-prod-us" }).waitFor();
    assert.equal((await as(page, "demo-admin-token", "/api/v1/nodes/gw-old-1")).status, 404);
    assert.equal((await as(page, "demo-admin-token", "/api/v1/clusters/eks-prod-us")).body.total, before - 1);
    const removal = await as(page, "demo-admin-token", "/api/v1/audit?action=remove_node&cluster=eks-prod-us");
    assert.equal(removal.body.records[0].target, "node:gw-old-1");
  });
});

// The simulation's marker: simulated nodes cannot load an artifact carrying it.
const RELOAD_FAILURE_MARKER = "simulate: reload_failure";
const ACTIVE = ["progressing", "baking", "paused", "halted"];

test("a rollout runs wave by wave on the cluster's strip to completion, and a failing canary halts and rolls back", { timeout: 4 * DEADLINE_MS }, async () => {
  assert.ok(BASE, "set FLEET_URL to the fleet server's address");
  const cluster = "eks-prod-us";
  const path = `/api/v1/clusters/${cluster}/rollout`;
  await withPage(1440, "demo-operator-token", async (page) => {
    const operator = (p, method, body) => as(page, "demo-operator-token", p, method, body);
    const card = page.locator(`.cluster-card[data-cluster="${cluster}"]`);
    const strip = card.locator('[data-testid="rollout"]');
    const state = strip.locator('[data-testid="rollout-state"]');
    const modal = page.locator("#justify-modal");
    await card.locator('[data-testid="cohesion"]').waitFor();

    // A cluster that never had a rollout answers 404 and shows no strip (the
    // simulation's own rollouts wait for a quiet period; should one be under
    // way on a slow run, it ends first).
    const first = await until("no active rollout", () => operator(path), (r) => r.status === 404 || !ACTIVE.includes(r.body.state));
    if (first.status === 404) {
      assert.equal(first.body.error.code, "NOT_FOUND");
      await page.locator("#clusters .cluster-card").first().waitFor();
      assert.equal(await strip.count(), 0, "no strip without a rollout");
    }

    // A rollout published through the API: a canary of 10 %, then 50 %, then everyone.
    const plan = { waves: [10, 50, 100], bakeMs: 15000, maxFailurePct: 5.0, autoRollback: true };
    const bad = await operator(`/api/v1/clusters/${cluster}/snapshots`, "POST", { content: "routes: [api]\n", rollout: { ...plan, waves: [50, 10] } });
    assert.deepEqual([bad.status, bad.body.error.code], [400, "INVALID_INPUT"], "waves must increase to 100");
    const published = await operator(`/api/v1/clusters/${cluster}/snapshots`, "POST",
      { content: `# ${cluster}\nroutes: [api, canary]\nrate_limit: 900\n`, rollout: plan });
    assert.equal(published.status, 201);
    const target = published.body.id;
    await strip.waitFor();
    assert.match(await strip.locator(".rollout-head .mono").textContent(), new RegExp(`→ ${target}$`));
    assert.equal(await strip.locator(".wave").count(), 3);
    await card.locator(".fleet-state__value").filter({ hasText: target }).waitFor();

    // Pause: a blank justification is refused by the page and by the server;
    // a viewer may not; with a reason the rollout is paused.
    await state.filter({ hasText: /^(progressing|baking)$/ }).waitFor();
    await strip.getByRole("button", { name: "Pause" }).click();
    await modal.waitFor({ state: "visible" });
    assert.match(await page.locator("#justify-title").textContent(), /Pause rollout/);
    await page.fill("#justify-reason", "  ");
    await page.click("#justify-confirm");
    await page.locator("#justify-error").filter({ hasText: "justification is required" }).waitFor();
    const blank = await operator(`${path}/pause`, "POST", { reason: " " });
    assert.deepEqual([blank.status, blank.body.error.code], [400, "JUSTIFICATION_REQUIRED"]);
    assert.equal((await as(page, "demo-viewer-token", `${path}/pause`, "POST", { reason: REASON })).status, 403);
    await page.fill("#justify-reason", "Hold the canary while the on-call checks the dashboards");
    await page.click("#justify-confirm");
    await modal.waitFor({ state: "hidden" });
    await page.locator("#toast").filter({ hasText: "pause recorded" }).waitFor();
    await state.filter({ hasText: /^paused$/ }).waitFor();
    assert.ok(await strip.getByRole("button", { name: "Pause" }).isDisabled(), "a paused rollout cannot be paused");
    assert.match(await strip.locator('[data-testid="rollout-failures"]').textContent(), /^[\d,]+ \/ [\d,]+ failures allowed$/);
    const again = await operator(`${path}/pause`, "POST", { reason: REASON });
    assert.deepEqual([again.status, again.body.error.code], [409, "CONFLICT"], "the engine refuses it too");

    // Resume: the canary converges and bakes, the countdown runs.
    await strip.getByRole("button", { name: "Resume" }).click();
    await page.fill("#justify-reason", "Dashboards are clean");
    await page.click("#justify-confirm");
    await modal.waitFor({ state: "hidden" });
    await strip.locator('[data-testid="rollout-bake"]').filter({ hasText: /^bake ends in \d+ s$/ }).waitFor();
    const baking = (await operator(path)).body;
    assert.equal(baking.state, "baking");
    assert.ok(baking.perWave[0].startedMs !== null && baking.perWave[2].startedMs === null, JSON.stringify(baking.perWave));
    assert.match(await strip.locator('[data-wave="0"] [data-testid="wave-count"]').textContent(), /^[\d,]+ \/ [\d,]+ on target/);
    assert.match(await strip.locator('[data-wave="2"] [data-testid="wave-count"]').textContent(), /not started$/);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.locator("#clusters").screenshot({ path: resolve(dirname(SCREENSHOT), "rollout.png") });

    // Promote: every remaining wave starts now, and the rollout completes.
    await strip.getByRole("button", { name: "Promote" }).click();
    await page.fill("#justify-reason", "Canary baked clean; promote to the whole cluster");
    await page.click("#justify-confirm");
    await modal.waitFor({ state: "hidden" });
    await state.filter({ hasText: /^complete$/ }).waitFor();
    const complete = (await operator(path)).body;
    assert.equal(complete.state, "complete");
    assert.equal(complete.targetSnapshot, target);
    assert.ok(complete.nodesStarted - complete.onTarget <= complete.failureBudget, JSON.stringify(complete));
    assert.equal(complete.failures, 0);
    for (const b of await strip.locator("button[data-rollout-action]").all()) assert.ok(await b.isDisabled(), "a complete rollout takes no action");
    const people = await operator(`/api/v1/audit?action=rollout&cluster=${cluster}&actor=omar.operator`);
    assert.equal(people.body.records.length >= 3, true, JSON.stringify(people.body.records));

    // A failing one: the canary cannot load the marked artifact, the
    // failures exceed the budget, the rollout halts and rolls back.
    const failing = await operator(`/api/v1/clusters/${cluster}/snapshots`, "POST",
      { content: `# ${cluster}\nroutes: [api, canary, beta]\n# ${RELOAD_FAILURE_MARKER}\n`, rollout: { ...plan, waves: [10, 100] } });
    assert.equal(failing.status, 201);
    await strip.locator(".rollout-head .mono").filter({ hasText: `→ ${failing.body.id}` }).waitFor();
    await state.filter({ hasText: /^rolled back$/ }).waitFor();
    assert.equal(await strip.getAttribute("data-state"), "rolled_back");
    const reason = strip.locator('[data-testid="rollout-reason"]');
    await reason.filter({ hasText: /^\d+ of [\d,]+ nodes failed: RELOAD_FAILURE/ }).waitFor();
    const rolledBack = (await operator(path)).body;
    assert.equal(rolledBack.state, "rolled_back");
    assert.equal(rolledBack.reason, await reason.textContent());
    // The halt's figures: more failures than the budget allowed.
    const [failed, of] = /^(\d+) of (\d+) nodes/.exec(rolledBack.reason).slice(1).map(Number);
    assert.ok(failed > rolledBack.failureBudget && of === rolledBack.nodesStarted, JSON.stringify(rolledBack));
    assert.equal(rolledBack.wave, 0, "only the canary met the bad artifact");
    assert.equal(rolledBack.previousSnapshot, target);
    assert.equal((await operator(`/api/v1/clusters/${cluster}`)).body.desiredSnapshot, target, "back on the previous snapshot");
    await card.locator(".fleet-state__value").filter({ hasText: target }).waitFor();
    const steps = (await operator(`/api/v1/audit?action=rollout&cluster=${cluster}&actor=fleetgov&limit=2`)).body.records;
    assert.deepEqual(steps.map((r) => r.target), [`cluster:${cluster}`, `cluster:${cluster}`]);
    assert.match(steps[1].justification, /RELOAD_FAILURE/);
    // Back on the previous snapshot, the canaries report cleanly again.
    await until("the canaries' reload failures cleared", () => operator(`/api/v1/clusters/${cluster}`),
      (c) => c.body.rootCauses.every((r) => r.code !== "RELOAD_FAILURE"));
    await until("the card without reload failures", () => card.locator('a[data-cause="RELOAD_FAILURE"]').count(), (n) => n === 0);
    await page.locator("#clusters").screenshot({ path: resolve(dirname(SCREENSHOT), "rollout-halted.png") });
  });
});
