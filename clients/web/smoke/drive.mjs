// Drives the smoke test page in Debian's Chromium with playwright-core.
//
// Usage: node clients/web/smoke/drive.mjs PAGE_URL [TIMEOUT_MS]
//
// Opens PAGE_URL (index.html?api=...), forwards the page's console, errors
// and failed requests to stderr, and waits up to TIMEOUT_MS (default 60000)
// for document.body.dataset.status to become "done" or "error". Exits 0 on
// "done", 1 otherwise, printing the page's #status. Run by
// server/internal/e2e/browser_test.go; needs `make deps` (chromium, npm ci).

import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const executablePath = "/usr/bin/chromium";
// Without the background-networking flags Chromium keeps trying to reach
// Google's hosts, which this network refuses.
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function fail(msg) {
  console.error(`drive: ${msg}`);
  process.exit(1);
}

const [pageURL, timeoutArg] = process.argv.slice(2);
if (!pageURL) {
  fail("usage: node drive.mjs PAGE_URL [TIMEOUT_MS]");
}
const timeout = timeoutArg ? Number(timeoutArg) : 60_000;
if (!Number.isFinite(timeout) || timeout <= 0) {
  fail(`bad TIMEOUT_MS ${JSON.stringify(timeoutArg)}`);
}
if (!existsSync(executablePath)) {
  fail(`${executablePath} is missing: run \`make deps\` (installs Debian's chromium)`);
}

const started = Date.now();
const since = () => `${((Date.now() - started) / 1000).toFixed(2)}s`;

// playwright-core launches with a fresh temporary profile and removes it on close.
const browser = await chromium.launch({ executablePath, args, timeout: 30_000 });
let status = "";
let text = "";
try {
  console.error(`drive: ${since()} chromium ${browser.version()} started`);
  const page = await browser.newPage();
  page.on("console", (m) => console.error(`page console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (err) => console.error(`page uncaught: ${err.stack ?? err}`));
  // Once done, the page aborts its own Subscribe stream: that shows here as
  // net::ERR_ABORTED.
  page.on("requestfailed", (r) => console.error(`page request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  await page.goto(pageURL, { timeout });
  try {
    await page.waitForFunction(
      () => document.body.dataset.status === "done" || document.body.dataset.status === "error",
      undefined,
      { timeout: Math.max(1, timeout - (Date.now() - started)) },
    );
  } catch (err) {
    console.error(`drive: ${since()} ${err.message.split("\n")[0]}`);
  }
  status = await page.evaluate(() => document.body.dataset.status ?? "");
  text = await page.evaluate(() => document.getElementById("status")?.textContent ?? "");
} finally {
  await browser.close();
}
console.error(`drive: ${since()} page status ${JSON.stringify(status)}: ${text}`);
process.exit(status === "done" ? 0 : 1);
