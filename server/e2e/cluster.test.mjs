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
  const profile = mkdtempSync(join(tmpdir(), "fleetgov-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(DEADLINE_MS);
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(`${BASE}/cluster`);

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

    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
