// Drives timbre's dashboard in headless Chromium (playwright-core with the
// system's Chromium: nothing downloaded) for tests/api/dashboard.rs.
//
//   node dashboard.mjs BASE_URL CHROMIUM OUT_DIR API_KEY SEARCH_TEXT
//
// Visits every page, saves a screenshot of each to OUT_DIR, and prints one
// JSON object on stdout's last line: console errors, requests that left the
// server's origin, what each page drew, and the first load's weight and
// time to first chart. On the live page it prints {"event":"live-ready"}
// and reads track ids from stdin, one per line, as the test publishes them
// to Kafka; it waits until one of them is listed on the page.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [base, executablePath, out, apiKey, searchText] = process.argv.slice(2);
const origin = new URL(base).origin;
const report = { consoleErrors: [], external: [], pages: {} };
const published = new Set();
createInterface({ input: process.stdin }).on("line", (line) => published.add(line.trim()));

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && report.consoleErrors.push(`${page.url()}: ${m.text()}`));
  page.on("pageerror", (e) => report.consoleErrors.push(`${page.url()}: ${e.message}`));
  page.on("request", (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) report.external.push(r.url());
  });

  const ready = (name, timeout = 60_000) => page.waitForSelector(`main[data-ready="${name}"]`, { timeout });
  const visit = async (name) => {
    await page.evaluate((n) => { location.hash = n; }, name);
    await ready(name);
  };
  const shoot = (name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
  const charts = () =>
    page.evaluate(() =>
      Object.fromEntries(
        Object.entries(globalThis.timbre.charts).map(([id, c]) => [
          id,
          { labels: c.data.labels ?? [], datasets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })) },
        ]),
      ),
    );

  // Overview, on a first load with an empty cache: the page's weight.
  await page.goto(`${base}/dashboard/`);
  await ready("overview");
  report.performance = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const first = performance.getEntriesByName("timbre:first-chart")[0];
    return {
      transferredBytes: nav.transferSize + resources.reduce((s, r) => s + r.transferSize, 0),
      decodedBytes: nav.decodedBodySize + resources.reduce((s, r) => s + r.decodedBodySize, 0),
      requests: 1 + resources.length,
      firstChartMs: first ? first.startTime : null,
      loadEventMs: nav.loadEventEnd,
    };
  });
  report.pages.overview = { cards: await page.locator("[data-testid=overview-cards] .card").allInnerTexts(), charts: await charts() };
  await shoot("overview");

  await visit("trends");
  report.pages.trends = {
    checked: await page.locator("input[name=genre]:checked").evaluateAll((xs) => xs.map((x) => x.value)),
    charts: await charts(),
    tableRows: await page.locator("figure[data-chart=trend-feature] tbody tr").count(),
  };
  await shoot("trends");

  await visit("listeners");
  report.pages.listeners = { text: await page.locator("main").innerText(), charts: await charts() };
  await shoot("listeners");

  await visit("live");
  await page.waitForFunction(() => Number(document.querySelector("main").dataset.statsEvents || 0) >= 2, null, { timeout: 30_000 });
  console.log(JSON.stringify({ event: "live-ready" }));
  const listed = () =>
    page.evaluate(
      (ids) => [...document.querySelectorAll("[data-testid=recent-tracks] li[data-id]")].map((li) => li.dataset.id).find((id) => ids.includes(id)) ?? null,
      [...published],
    );
  let found = null;
  for (let i = 0; !found && i < 300; i++) {
    await page.waitForTimeout(200);
    found = await listed();
  }
  console.log(JSON.stringify({ event: "live-seen", id: found }));
  report.pages.live = { found, cards: await page.locator("[data-testid=live-cards] .card").allInnerTexts(), charts: await charts() };
  await shoot("live");

  await visit("jobs");
  await page.fill("input[name=apiKey]", apiKey);
  await page.selectOption("select[name=kind]", "GENRE_TRENDS");
  await page.selectOption("select[name=engine]", "EMBEDDED");
  await page.click("form.controls button[type=submit]");
  await page.waitForSelector("[data-testid=job-detail][data-state=SUCCEEDED]", { timeout: 120_000 });
  report.pages.jobs = {
    result: await page.locator("[data-testid=job-result]").innerText(),
    rows: await page.locator("[data-testid=job-rows] tr").evaluateAll((rs) => rs.map((r) => [r.dataset.id, r.dataset.state])),
    keyStored: await page.evaluate(() => ({ session: sessionStorage.getItem("timbre.apiKey"), local: localStorage.length })),
  };
  await shoot("jobs");

  await visit("explorer");
  await page.fill("input[name=q]", searchText);
  await page.click("form[role=search] button[type=submit]");
  await page.waitForSelector("[data-testid=search-results] li[data-id]");
  const chosen = await page.locator("[data-testid=search-results] li[data-id]").first().getAttribute("data-id");
  await page.locator("[data-testid=search-results] li[data-id] button").first().click();
  await page.waitForSelector("[data-testid=similar] li[data-id]");
  await page.waitForSelector("[data-testid=recommended] li[data-id]");
  await page.waitForFunction(() => globalThis.timbre.charts.explanation);
  const before = await page.locator("[data-testid=recommended] li[data-id]").evaluateAll((xs) => xs.map((x) => x.dataset.id));
  await page.locator("input[name=energy]").evaluate((slider) => {
    slider.value = "0.5";
    slider.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await page.waitForFunction(
    (old) => JSON.stringify([...document.querySelectorAll("[data-testid=recommended] li[data-id]")].map((x) => x.dataset.id)) !== JSON.stringify(old),
    before,
    { timeout: 30_000 },
  ).catch(() => null);
  report.pages.explorer = {
    chosen,
    found: await page.locator("[data-testid=search-results] li[data-id]").evaluateAll((xs) => xs.map((x) => x.dataset.id)),
    similar: await page.locator("[data-testid=similar] li[data-id]").evaluateAll((xs) => xs.map((x) => x.dataset.id)),
    recommendedBefore: before,
    recommendedShifted: await page.locator("[data-testid=recommended] li[data-id]").evaluateAll((xs) => xs.map((x) => x.dataset.id)),
    discovered: await page.locator("[data-testid=discovered] li").count(),
    charts: await charts(),
  };
  await shoot("explorer");
} catch (e) {
  // What the page showed when a step failed, for the test's message.
  const page = browser.contexts()[0]?.pages()[0];
  if (page) {
    await page.screenshot({ path: `${out}/failed.png`, fullPage: true }).catch(() => {});
    report.failedAt = page.url();
    report.errorBox = await page.locator("#error").innerText().catch(() => null);
    report.main = await page.locator("main").innerText().catch(() => null);
  }
  report.failure = String(e.message || e).split("\n")[0];
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
process.exit(0);
