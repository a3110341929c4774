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

test("the Cluster Manager shows the seeds' clusters and audits a justified force sync", { timeout: 4 * DEADLINE_MS }, async () => {
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

    // Authority beside execution for the three seed clusters.
    const expected = [["eks-prod-us", "100%", "HEALTHY"], ["gke-stage-eu", "75%", "SYNCING"], ["azure-dev-west", "33%", "DIVERGENT"]];
    for (const [cluster, cohesion, status] of expected) {
      const card = page.locator(`.cluster-card[data-cluster="${cluster}"]`);
      await card.locator('[data-testid="cohesion"]').filter({ hasText: cohesion }).waitFor();
      assert.equal(await card.locator('[data-testid="status"]').textContent(), status);
      assert.match(await card.locator(".fleet-state__pill").textContent(), /NODES VERIFIED/);
      assert.match(await card.locator(".fleet-state__value").textContent(), new RegExp(`${cluster}@r\\d+`));
      await card.getByRole("button", { name: "Force Global Snapshot" }).waitFor();
    }

    // The staging node with the reload failure, in the node matrix.
    await page.locator('.cluster-card[data-cluster="gke-stage-eu"] .name').click();
    const row = page.locator('#matrix tr[data-node="gw-stage-eu-4"]');
    await row.waitFor();
    assert.match(await row.textContent(), /RELOAD_FAILURE: Incompatible Filter Signature/);
    assert.match(await row.textContent(), /DIVERGENT/);

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

    assert.deepEqual(pageErrors, []);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
