// Drives the customer web chat and the advisor console in Debian's
// Chromium with playwright-core, against a real assistd. Run by
// server/internal/e2e/webapp_test.go (and webapp_upgrade_test.go,
// webapp_transfer_test.go, webapp_routing_test.go).
//
// Usage: node clients/web/e2e/apps.mjs SCENARIO CONFIG_JSON
//   CONFIG_JSON: {"api": URL of assistd, "customer": URL the customer's page
//   is loaded from (a cutting proxy), "control": URL of the test's control
//   server, "artifacts": folder for screenshots and downloads, "email",
//   "password", ...scenario fields}
// Scenarios: journey, french-a11y, many, upgrade, transfer, codes, web, reports. Exits 0 when every check
// passed; prints "drive: FAIL ..." and exits 1 otherwise. Lines starting
// with "result " carry values for the Go test.

import { mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];

const [scenario, configJSON] = process.argv.slice(2);
const cfg = JSON.parse(configJSON ?? "{}");
mkdirSync(cfg.artifacts, { recursive: true });
const started = Date.now();
const log = (msg) => console.error(`drive: ${((Date.now() - started) / 1000).toFixed(1)}s ${msg}`);
const T = 20_000; // default wait

function check(ok, msg) {
  if (!ok) {
    throw new Error(msg);
  }
}

async function shot(page, name) {
  await page.screenshot({ path: join(cfg.artifacts, `${name}.png`), fullPage: false });
}

async function control(path, body = "") {
  const res = await fetch(cfg.control + path, { method: "POST", body });
  const answer = await res.text();
  check(res.ok, `control ${path}: ${res.status} ${answer}`);
  return answer;
}

function watch(page, who) {
  page.on("console", (m) => m.type() === "error" && console.error(`${who} console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (err) => console.error(`${who} uncaught: ${err.stack ?? err}`));
}

const pages = [];
async function newPage(browser, who, opts = {}) {
  const context = await browser.newContext({ bypassCSP: false, acceptDownloads: true, ...opts });
  const page = await context.newPage();
  pages.push([who, page]);
  page.setDefaultTimeout(T);
  watch(page, who);
  return { context, page };
}

// messages returns the texts of the chat messages in a log, in order.
async function messages(log) {
  return log.locator("li.item.message .text").allTextContents();
}

async function signIn(page, base = cfg.api, who = cfg) {
  await page.goto(`${base}/console`);
  await page.getByLabel(/E-mail/).fill(who.email);
  await page.getByLabel(/Password|Mot de passe/).fill(who.password);
  await page.getByRole("button", { name: /Sign in|Se connecter/ }).click();
  await page.locator("#queue-title").waitFor();
}

async function startChat(page, name, problem) {
  await page.goto(`${cfg.customer}/p/demo`);
  await page.locator("#name").fill(name);
  if (problem) {
    await page.locator("#problem").fill(problem);
  }
  await page.locator("button[type=submit]").click();
  await page.locator("#log").waitFor();
}

async function send(page, scope, text) {
  const box = scope.locator("textarea").first();
  await box.fill(text);
  await box.press("Enter");
}

async function waitForMessage(log, text, timeout = T) {
  await log.locator("li.item.message .text", { hasText: text }).first().waitFor({ timeout });
}

async function axeCheck(page, what) {
  await page.addScriptTag({ content: readFileSync(require.resolve("axe-core/axe.min.js"), "utf8") });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) }));
  });
  const serious = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of result) {
    log(`axe ${what}: ${v.impact} ${v.id}: ${v.help} ${JSON.stringify(v.nodes)}`);
  }
  check(serious.length === 0, `axe found serious accessibility violations on ${what}: ${serious.map((v) => v.id).join(", ")}`);
}

async function journey(browser) {
  const adv = await newPage(browser, "advisor", { viewport: { width: 1280, height: 820 }, locale: "en-US" });
  const cus = await newPage(browser, "customer", { viewport: { width: 400, height: 780 }, locale: "en-US" });
  const a = adv.page;
  const c = cus.page;

  const consoleBase = cfg.console ?? cfg.api;
  await a.goto(`${consoleBase}/console`);
  await shot(a, "console-1-login");
  await signIn(a, consoleBase);
  log("advisor signed in");

  await c.goto(`${cfg.customer}/p/demo`);
  await c.locator("#name").waitFor();
  await shot(c, "customer-1-start");
  await c.locator("#name").fill(cfg.customerName);
  await c.locator("#email").fill("camille@example.com");
  await c.locator("#problem").fill("My printer prints only blank pages.");
  await c.getByRole("button", { name: "Start the chat" }).click();
  const clog = c.locator("#log");
  await c.locator("#chat-title", { hasText: "Waiting for an advisor" }).waitFor();
  await c.locator("#queue-place", { hasText: "You are next in the queue." }).waitFor();
  await shot(c, "customer-2-waiting");
  log("customer waiting, told their place in the queue");

  const item = a.locator(".queue-item", { hasText: cfg.customerName });
  await item.waitFor();
  await a.waitForFunction(() => /^\(\d+\) /.test(document.title));
  const title = await a.title();
  check(/^\(1\) /.test(title), `the console's title counts the waiting customer: got ${JSON.stringify(title)}`);
  await shot(a, "console-2-queue");
  await item.getByRole("button", { name: `Pick up ${cfg.customerName}` }).click();
  const panel = a.locator("section.panel", { hasText: cfg.customerName });
  await panel.waitFor();
  await item.waitFor({ state: "detached" });
  const alog = panel.locator("[role=log]");
  await c.locator("#chat-title", { hasText: "Chat with" }).waitFor();
  await c.locator("#queue-place").waitFor({ state: "detached" });
  log("picked up");

  // Typing, both ways, once the console's stream follows the session.
  await alog.locator("li.notice").first().waitFor();
  await c.locator("#message").pressSequentially("Hel", { delay: 30 });
  await panel.locator(".typing", { hasText: `${cfg.customerName} is typing` }).waitFor();
  await c.locator("#message").fill("Hello, my printer prints only blank pages");
  await c.locator("#message").press("Enter");
  await waitForMessage(alog, "Hello, my printer prints only blank pages");
  await clog.locator('li[data-status="sent"]', { hasText: "Hello, my printer" }).waitFor();
  await panel.locator("textarea").pressSequentially("Let", { delay: 30 });
  await c.locator(".typing", { hasText: "is typing" }).waitFor();
  await send(a, panel, "Let us check the ink cartridges");
  await waitForMessage(clog, "Let us check the ink cartridges");
  await shot(c, "customer-3-chat");
  await shot(a, "console-3-chat");
  log("chatted both ways");

  // The customer's network is cut for 5 seconds; both sides write meanwhile.
  await control("/cut");
  await c.locator("#reconnecting").waitFor();
  if (cfg.console) {
    await a.locator("#reconnecting").waitFor();
  }
  await shot(c, "customer-4-reconnecting");
  await send(c, c.locator("form.composer"), "cut: customer one");
  await send(a, panel, "cut: advisor one");
  await send(c, c.locator("form.composer"), "cut: customer two");
  await send(a, panel, "cut: advisor two");
  await c.locator("#reconnecting").waitFor({ state: "detached", timeout: 30_000 });
  await a.locator("#reconnecting").waitFor({ state: "detached", timeout: 30_000 });
  log("reconnected");
  const wanted = ["cut: customer one", "cut: advisor one", "cut: customer two", "cut: advisor two"];
  for (const text of wanted) {
    await waitForMessage(clog, text, 30_000);
    await waitForMessage(alog, text, 30_000);
  }
  await c.waitForFunction(() => document.querySelectorAll('#log li[data-status="sending"], #log li[data-status="failed"]').length === 0, null, { timeout: 30_000 });
  const onCustomer = await messages(clog);
  const onAdvisor = await messages(alog);
  for (const text of wanted) {
    check(onCustomer.filter((m) => m === text).length === 1, `the customer's page shows ${JSON.stringify(text)} once: ${JSON.stringify(onCustomer)}`);
    check(onAdvisor.filter((m) => m === text).length === 1, `the console shows ${JSON.stringify(text)} once: ${JSON.stringify(onAdvisor)}`);
  }
  const order = (list) => list.filter((m) => wanted.includes(m));
  check(order(onCustomer).indexOf("cut: customer one") < order(onCustomer).indexOf("cut: customer two"), `customer's messages in order: ${JSON.stringify(onCustomer)}`);
  check(order(onCustomer).indexOf("cut: advisor one") < order(onCustomer).indexOf("cut: advisor two"), `advisor's messages in order: ${JSON.stringify(onCustomer)}`);
  check(JSON.stringify(onCustomer) === JSON.stringify(onAdvisor), `both sides show the same log in the same order:\n customer ${JSON.stringify(onCustomer)}\n advisor  ${JSON.stringify(onAdvisor)}`);
  console.log(`result messages ${JSON.stringify(onCustomer)}`);
  log("cut survived: every message once, in order");

  // A reload restores the conversation.
  await c.reload();
  await waitForMessage(clog, "cut: advisor two");
  const afterReload = await messages(clog);
  check(JSON.stringify(afterReload) === JSON.stringify(onCustomer), `the reload restores the same conversation:\n before ${JSON.stringify(onCustomer)}\n after  ${JSON.stringify(afterReload)}`);
  check(!c.url().includes("ast_"), `no token in the page's address: ${c.url()}`);
  log("reload restored the conversation");

  // The advisor ends with an outcome and notes.
  await panel.getByRole("button", { name: "End session" }).click();
  await panel.getByLabel("Resolved", { exact: true }).check();
  await panel.getByLabel(/Notes/).fill("Cartridge replaced.");
  await panel.getByRole("button", { name: "End", exact: true }).click();
  await panel.locator(".ended-note", { hasText: "Resolved" }).waitFor();
  await c.locator(".ended-footer").waitFor();
  check(await c.locator("#message").count() === 0, "the customer's input is gone after the end");
  await shot(c, "customer-5-ended");
  await shot(a, "console-4-ended");

  // "Save the chat history" downloads the .txt file.
  const [download] = await Promise.all([c.waitForEvent("download"), c.getByRole("button", { name: "Save the chat history" }).click()]);
  const file = join(cfg.artifacts, "chat-history.txt");
  await download.saveAs(file);
  check(/^chat-history-.*\.txt$/.test(download.suggestedFilename()), `file name: ${download.suggestedFilename()}`);
  console.log(`result transcript ${file}`);
  console.log(`result transcript_name ${download.suggestedFilename()}`);
  log(`downloaded ${download.suggestedFilename()}`);

  // Past sessions with their chat log; then log out.
  await a.getByRole("button", { name: "History" }).click();
  await a.getByRole("button", { name: `Show the chat log of ${cfg.customerName}` }).first().click();
  await waitForMessage(a.locator(".history-log [role=log]"), "cut: advisor two");
  await shot(a, "console-5-history");
  await a.getByRole("button", { name: "Log out" }).click();
  await a.getByRole("button", { name: "Sign in" }).waitFor();
  log("history read, logged out");
}

async function frenchA11y(browser) {
  const cus = await newPage(browser, "customer", { locale: "fr-FR", viewport: { width: 390, height: 760 }, bypassCSP: true });
  const c = cus.page;
  await c.goto(`${cfg.customer}/p/demo`);
  await c.getByLabel("Votre nom").waitFor();
  check((await c.locator("html").getAttribute("lang")) === "fr", "the page's lang is fr");
  check(await c.getByRole("button", { name: "Démarrer la discussion" }).isVisible(), "the start button is in French");
  await axeCheck(c, "customer start form (fr)");
  await c.getByLabel("Votre nom").fill(cfg.customerName);
  await c.getByRole("button", { name: "Démarrer la discussion" }).click();
  await c.locator("#chat-title", { hasText: "En attente d'un conseiller" }).waitFor();
  await c.locator("#queue-place", { hasText: "dans la file d'attente" }).waitFor();
  await axeCheck(c, "customer chat (fr)");
  await shot(c, "customer-fr-waiting");
  // Switch to English: remembered after a reload.
  await c.getByLabel("Langue").selectOption("en");
  await c.locator("#chat-title", { hasText: "Waiting for an advisor" }).waitFor();
  await c.reload();
  await c.locator("#chat-title", { hasText: "Waiting for an advisor" }).waitFor();
  log("customer page in French, switched to English and remembered");

  const adv = await newPage(browser, "advisor", { locale: "fr-FR", viewport: { width: 1280, height: 800 }, bypassCSP: true });
  const a = adv.page;
  await a.goto(`${cfg.api}/console`);
  await a.getByRole("heading", { name: "Connexion conseiller" }).waitFor();
  await axeCheck(a, "console login (fr)");
  await signIn(a);
  const item = a.locator(".queue-item", { hasText: cfg.customerName });
  await item.getByRole("button", { name: `Prendre ${cfg.customerName}` }).click();
  const panel = a.locator("section.panel", { hasText: cfg.customerName });
  await panel.waitFor();
  await send(a, panel, "Bonjour !");
  await waitForMessage(panel.locator("[role=log]"), "Bonjour !");
  await axeCheck(a, "console with a chat (fr)");
  await shot(a, "console-fr-chat");
  // Shortcuts never fire while typing: "h" typed in the message box stays there.
  await panel.locator("textarea").first().pressSequentially("h");
  check(await panel.isVisible(), "typing h in a field did not switch to the history");
  await panel.locator("textarea").first().fill("");
  await a.locator("body").click({ position: { x: 5, y: 300 } });
  await a.keyboard.press("h");
  await a.getByRole("heading", { name: "Mes sessions passées" }).waitFor();
  log("console in French; axe clean; shortcuts only outside fields");
}

async function many(browser) {
  const adv = await newPage(browser, "advisor", { viewport: { width: 1400, height: 900 } });
  const a = adv.page;
  await signIn(a);
  const panels = a.locator("section.panel");
  await a.waitForFunction((n) => document.querySelectorAll("section.panel").length === n, cfg.sessions.length);
  // Each panel replays its session's history from the one stream.
  for (const s of cfg.sessions) {
    await waitForMessage(a.locator(`section.panel[data-session="${s}"] [role=log]`), `before ${s.slice(0, 8)}`);
  }
  // The advisor answers in every session; every send goes through.
  for (const s of cfg.sessions) {
    await send(a, a.locator(`section.panel[data-session="${s}"]`), `reply ${s.slice(0, 8)}`);
  }
  for (const s of cfg.sessions) {
    await a.locator(`section.panel[data-session="${s}"] li[data-status="sent"]`, { hasText: `reply ${s.slice(0, 8)}` }).waitFor();
  }
  log(`${cfg.sessions.length} replies sent`);
  // Customers write live in every session; each arrives in its panel.
  await control("/customers-say");
  for (const s of cfg.sessions) {
    await waitForMessage(a.locator(`section.panel[data-session="${s}"] [role=log]`), `live ${s.slice(0, 8)}`);
  }
  check((await panels.count()) === cfg.sessions.length, "one panel per session");
  await shot(a, "console-many");

  // A lost race is said plainly: another advisor picks the customer up
  // while this one's click is on its way.
  await control("/queue-one");
  const contested = a.locator(".queue-item", { hasText: "Contested customer" });
  await contested.waitFor();
  await a.route("**/assist.v1.SessionService/PickUpSession", async (route) => {
    await control("/steal");
    await route.continue();
  });
  await contested.getByRole("button", { name: /Pick up/ }).click();
  await a.getByRole("alert").filter({ hasText: "Contested customer was already picked up by another advisor." }).waitFor();
  check((await panels.count()) === cfg.sessions.length, "no panel for a session another advisor won");
  log("lost race said plainly");
  log("every session live on one stream");
}

async function upgrade(browser) {
  const adv = await newPage(browser, "advisor", { viewport: { width: 1280, height: 820 } });
  const cus = await newPage(browser, "customer", { viewport: { width: 1000, height: 780 } });
  const a = adv.page;
  const c = cus.page;
  await signIn(a);
  await startChat(c, cfg.customerName);
  await a.locator(".queue-item", { hasText: cfg.customerName }).getByRole("button", { name: /Pick up/ }).click();
  const panel = a.locator("section.panel", { hasText: cfg.customerName });
  await panel.waitFor();
  await c.locator("#chat-title", { hasText: "Chat with" }).waitFor();

  await panel.getByRole("button", { name: "Upgrade customer to standard session" }).click();
  const [download] = await Promise.all([c.waitForEvent("download", { timeout: 30_000 }), panel.getByRole("button", { name: "Yes" }).click()]);
  const file = join(cfg.artifacts, download.suggestedFilename() || "opener");
  await download.saveAs(file);
  console.log(`result opener_name ${download.suggestedFilename()}`);
  console.log(`result opener_size ${statSync(file).size}`);
  console.log(`result opener_file ${file}`);
  await c.locator("li.notice .opener-link").waitFor();
  await panel.locator(".progress").waitFor();
  await shot(c, "customer-upgrade-offered");
  log(`opener downloaded: ${download.suggestedFilename()} (${statSync(file).size} bytes)`);

  // The Go test plays the customer app: redeem, accept, transfer to the app.
  await control("/app-takes-over", file);
  await c.locator(".moved").waitFor({ timeout: 30_000 });
  check(await c.locator("#message").isDisabled(), "the chat input is disabled after the transfer to the app");
  await panel.locator(".progress li.done", { hasText: "The support app is connected" }).waitFor();
  await shot(c, "customer-upgrade-moved");
  await shot(a, "console-upgrade-progress");
  log("web chat disabled after the transfer to the app");
}

// transfer: the lead invites a colleague (cfg.colleague: email, password,
// name) from the console, then hands the session over to them. The
// colleague's console is open all along: the chat appears in it live.
async function transfer(browser) {
  const bea = cfg.colleague;
  const reason = "Billing question: Bea knows the invoices";
  const adv = await newPage(browser, "advisor", { viewport: { width: 1280, height: 820 }, locale: "en-US" });
  const cus = await newPage(browser, "customer", { viewport: { width: 420, height: 780 }, locale: "en-US" });
  const a = adv.page;
  const c = cus.page;
  await signIn(a);
  const lead = (await a.locator(".topbar .who").textContent()).trim();
  // The colleague's console is open, with no chat, before the invitation;
  // the page must never reload (the flag would be gone).
  const bAdv = await newPage(browser, "colleague", { viewport: { width: 1280, height: 820 }, locale: "en-US", bypassCSP: true });
  const b = bAdv.page;
  await signIn(b, cfg.api, bea);
  await b.getByText("No open chat.").waitFor();
  await b.evaluate(() => (window.stillTheSamePage = true));
  const bPanel = b.locator("section.panel", { hasText: cfg.customerName });
  const arrivals = b.locator(".arrivals[role=status]");
  await startChat(c, cfg.customerName, "My invoice is wrong.");
  await a.locator(".queue-item", { hasText: cfg.customerName }).getByRole("button", { name: /Pick up/ }).click();
  const panel = a.locator("section.panel", { hasText: cfg.customerName });
  await panel.waitFor();
  const alog = panel.locator("[role=log]");
  const clog = c.locator("#log");
  await c.locator("#chat-title", { hasText: "Chat with" }).waitFor();
  const leadTitle = await c.locator("#chat-title").textContent();
  await send(c, c.locator("form.composer"), "Hello, my invoice is wrong");
  await waitForMessage(alog, "Hello, my invoice is wrong");
  log("picked up, chatting");

  // Invite: the panel lists the colleagues, the select has the focus.
  await panel.getByRole("button", { name: "Invite a colleague" }).click();
  const invite = panel.getByRole("form", { name: /Invite a colleague into the chat/ });
  const who = invite.getByLabel("Colleague");
  await who.waitFor();
  await a.waitForFunction(() => document.activeElement?.tagName === "SELECT");
  await who.selectOption({ label: bea.name });
  await shot(a, "console-1-invite");
  await invite.getByRole("button", { name: "Invite", exact: true }).click();
  await invite.waitFor({ state: "detached" });
  await clog.locator("li.notice", { hasText: `${bea.name} joined the chat` }).waitFor();
  await alog.locator("li.notice", { hasText: `${bea.name} joined the chat` }).waitFor();
  check((await c.locator("#chat-title").textContent()) === leadTitle, `the customer still chats with the lead after the invitation: ${await c.locator("#chat-title").textContent()}`);
  await shot(c, "customer-1-joined");
  log("colleague invited; the customer saw them join");

  // The invitee's open console shows the chat at once, says who invited
  // them, marks it new, and offers none of the lead's actions.
  await arrivals.getByText(`${lead} invited you to the chat with ${cfg.customerName}.`).waitFor();
  await waitForMessage(bPanel.locator("[role=log]"), "Hello, my invoice is wrong");
  check(await b.evaluate(() => window.stillTheSamePage === true), "the invitee's console showed the chat without a reload");
  await bPanel.locator(".tag.new", { hasText: "New" }).waitFor();
  await b.getByRole("button", { name: /^Chats/ }).locator(".badge").waitFor();
  await bPanel.getByText(`${lead} leads this chat`).waitFor();
  const leadActions = /Invite a colleague|Transfer the session|End session|Upgrade customer/;
  check((await bPanel.getByRole("button", { name: leadActions }).count()) === 0, `an invited advisor is offered none of the lead's actions: ${await bPanel.getByRole("button").allTextContents()}`);
  check((await b.locator("section.panel").count()) === 1, "the invited chat is shown once");
  await shot(b, "console-colleague-1-invited");
  await axeCheck(b, "the invitee's console with the invitation notice");
  // The same, in French.
  await b.locator(".topbar .lang select").selectOption("fr");
  await arrivals.getByText(`${lead} vous a invité dans la discussion avec ${cfg.customerName}.`).waitFor();
  await bPanel.getByText(`${lead} mène cette discussion`).waitFor();
  await bPanel.locator(".tag.new", { hasText: "Nouveau" }).waitFor();
  check((await bPanel.getByRole("button", { name: /Terminer la session|Transférer la session/ }).count()) === 0, "in French too, an invitee has no lead actions");
  await shot(b, "console-colleague-1-invited-fr");
  await b.locator(".topbar .lang select").selectOption("en");
  // "Show the chat" puts the invitee in the chat's message box.
  await arrivals.getByRole("button", { name: "Show the chat" }).click();
  await b.waitForFunction(() => document.activeElement?.tagName === "TEXTAREA" && document.activeElement.closest("section.panel") !== null);
  await bPanel.locator(".tag.new").waitFor({ state: "detached" });
  check((await arrivals.locator(".arrival").count()) === 0, "the notice is gone once the chat is shown");
  log("the invitee's open console shows the chat live, without the lead's actions");

  // Transfer with a reason.
  await panel.getByRole("button", { name: "Transfer the session" }).click();
  const handOver = panel.getByRole("form", { name: /Hand the chat with/ });
  await handOver.getByLabel("Colleague").selectOption({ label: bea.name });
  await handOver.getByLabel(/Reason/).fill(reason);
  await shot(a, "console-2-transfer");
  await handOver.getByRole("button", { name: "Transfer", exact: true }).click();
  await panel.getByRole("status").filter({ hasText: `You handed this session to ${bea.name}.` }).waitFor();
  await clog.locator("li.notice", { hasText: `handed the chat to ${bea.name}: ${reason}` }).waitFor();
  await c.locator("#chat-title", { hasText: `Chat with ${bea.name}` }).waitFor();
  // The old lead's stream ends with NotFound for the session: no alarm.
  await a.waitForTimeout(2_000);
  check((await a.locator("#reconnecting").count()) === 0, "the former lead's console shows no connection banner after the transfer");
  check((await a.getByRole("alert").count()) === 0, `the former lead's console shows no error after the transfer: ${await a.getByRole("alert").allTextContents()}`);
  check((await panel.locator("textarea").count()) === 0, "the former lead can no longer write in the session");
  await shot(a, "console-3-handed-over");
  await shot(c, "customer-2-transferred");
  log("transferred; the former lead sees a calm notice");

  // The new lead is told, and now has the lead's actions.
  await arrivals.getByText(`${lead} handed you the chat with ${cfg.customerName}.`).waitFor();
  await bPanel.locator("li.notice", { hasText: `handed the chat to ${bea.name}: ${reason}` }).waitFor();
  await bPanel.getByRole("button", { name: "Transfer the session" }).waitFor();
  await bPanel.getByRole("button", { name: "End session" }).waitFor();
  await bPanel.getByRole("button", { name: "Invite a colleague" }).waitFor();
  check((await bPanel.locator(".lead-note").count()) === 0, "the new lead is not told someone else leads");
  check((await b.locator("section.panel").count()) === 1, "the handed chat is not opened a second time");
  check(await b.evaluate(() => window.stillTheSamePage === true), "the new lead's console took the session over without a reload");
  await shot(b, "console-colleague-2-handed");
  await b.locator(".topbar .lang select").selectOption("fr");
  await arrivals.getByText(`${lead} vous a confié la discussion avec ${cfg.customerName}.`).waitFor();
  await bPanel.getByRole("button", { name: "Terminer la session" }).waitFor();
  await shot(b, "console-colleague-2-handed-fr");
  await b.locator(".topbar .lang select").selectOption("en");
  await arrivals.getByRole("button", { name: `Dismiss: ${lead} handed you the chat with ${cfg.customerName}.` }).click();
  check((await arrivals.locator(".arrival").count()) === 0, "the notice is dismissed");
  await send(b, bPanel, "Hi, Bea here, I can help with billing");
  await waitForMessage(clog, "Hi, Bea here, I can help with billing");
  await send(c, c.locator("form.composer"), "Great, thanks");
  await waitForMessage(bPanel.locator("[role=log]"), "Great, thanks");
  await shot(b, "console-colleague-lead");
  await shot(c, "customer-3-new-lead");

  // A fresh console of the new lead opens the session too.
  await b.reload();
  await waitForMessage(b.locator("section.panel", { hasText: cfg.customerName }).locator("[role=log]"), "Great, thanks");
  log("the new lead chats with the customer");
}

// codes: code mode. The advisor creates a session code in the console
// (cfg.codePortal: {slug, name}; another code portal makes them choose),
// the customer opens the shared link with the code and name prefilled,
// lands "for you" in the advisor's queue, and they chat; the used code
// typed again is refused plainly; the account's bound on live codes
// (cfg.maxCodes) is said plainly, in French.
async function codes(browser) {
  const portal = cfg.codePortal;
  const customerName = cfg.customerName;
  const adv = await newPage(browser, "advisor", { viewport: { width: 1280, height: 860 }, locale: "en-US", bypassCSP: true, permissions: ["clipboard-read", "clipboard-write"] });
  const a = adv.page;
  await signIn(a);
  const section = a.getByRole("region", { name: "Session codes" });
  await section.waitFor();
  await axeCheck(a, "console with session codes (en)");

  // Create a code for a named customer on the chosen portal.
  await section.getByRole("button", { name: "Create a session code" }).click();
  const form = section.getByRole("form", { name: "Create a session code" });
  await form.getByLabel("Portal").selectOption({ label: portal.name });
  await form.getByLabel("Customer's name (optional)").fill(customerName);
  await shot(a, "console-1-create-code");
  await form.getByRole("button", { name: "Create", exact: true }).click();
  const created = section.locator("#new-code");
  await created.waitFor();
  const shown = (await created.locator(".code-big [aria-hidden=true]").textContent()).trim();
  check(/^\d{3} \d{3}$/.test(shown), `the code is shown as two groups of three digits: ${JSON.stringify(shown)}`);
  const code = shown.replace(" ", "");
  check(await created.getByText(`New code for ${customerName}`).isVisible(), "the new code says whom it is for");
  const expiry = await created.getByText(/expires in \d+:\d\d/).textContent();
  check(/expires in (19|20):\d\d/.test(expiry), `the code expires in about 20 minutes: ${expiry}`);
  const link = await created.getByLabel("Link for the customer").inputValue();
  const want = `${cfg.api}/p/${portal.slug}?code=${code}&name=${encodeURIComponent(customerName)}`;
  check(link === want, `the link for the customer: got ${link}, want ${want}`);
  await a.waitForFunction(() => document.activeElement?.textContent === "Copy link");
  await created.getByRole("button", { name: "Copy link" }).click();
  await section.getByRole("status").filter({ hasText: "Link copied" }).waitFor();
  const clipboard = await a.evaluate(() => navigator.clipboard.readText());
  check(clipboard === link, `the clipboard holds the link: ${clipboard}`);
  await axeCheck(a, "console with a new session code (en)");
  await shot(a, "console-2-code");
  console.log(`result code ${code}`);
  log(`code ${shown} created, link copied`);

  // The customer opens the link: code and name are filled in.
  const cus = await newPage(browser, "customer", { viewport: { width: 400, height: 780 }, locale: "en-US", bypassCSP: true });
  const c = cus.page;
  await c.goto(link.replace(cfg.api, cfg.customer));
  await c.locator("#code").waitFor();
  check((await c.locator("#code").inputValue()) === code, "the link fills the code in");
  check((await c.locator("#name").inputValue()) === customerName, "the link fills the name in");
  await axeCheck(c, "customer code form (en)");
  await shot(c, "customer-1-code-prefilled");
  await c.getByRole("button", { name: "Start the chat" }).click();
  // The waiting notice names the advisor who created the code.
  await c.locator("#chat-title", { hasText: `${cfg.advisorName} will be with you shortly` }).waitFor();
  await c.locator(".notice-text", { hasText: `Waiting for ${cfg.advisorName}.` }).waitFor();
  check(!c.url().includes("code="), `the used code leaves the address: ${c.url()}`);
  await shot(c, "customer-2-waiting");

  // The session reaches this advisor's queue live, marked for them; the
  // used code leaves the console.
  const item = a.locator(".queue-item", { hasText: customerName });
  await item.locator(".tag", { hasText: "For you" }).waitFor();
  await item.locator(".tag", { hasText: "Code" }).waitFor();
  await created.waitFor({ state: "detached" });
  await shot(a, "console-3-for-you");
  await a.getByLabel("Language").selectOption("fr");
  await item.locator(".tag", { hasText: "Pour vous" }).waitFor();
  await a.getByRole("region", { name: "Codes de session" }).getByRole("button", { name: "Créer un code de session" }).waitFor();
  await shot(a, "console-fr-for-you");
  await a.getByLabel("Langue").selectOption("en");
  log("the customer who typed the code waits for this advisor, marked for them");

  await item.getByRole("button", { name: `Pick up ${customerName}` }).click();
  const panel = a.locator("section.panel", { hasText: customerName });
  await panel.waitFor();
  await c.locator("#chat-title", { hasText: "Chat with" }).waitFor();
  await send(c, c.locator("form.composer"), "Hello, I have the code");
  await waitForMessage(panel.locator("[role=log]"), "Hello, I have the code");
  await send(a, panel, "Welcome, how can I help?");
  await waitForMessage(c.locator("#log"), "Welcome, how can I help?");
  log("picked up, chatting");

  // The same link again: the code is used, said plainly, focus on the code.
  const again = await newPage(browser, "customer-again", { viewport: { width: 400, height: 780 }, locale: "en-US" });
  const c2 = again.page;
  await c2.goto(link.replace(cfg.api, cfg.customer));
  await c2.getByRole("button", { name: "Start the chat" }).click();
  await c2.getByRole("alert").filter({ hasText: "This code is unknown, already used or expired. Ask your advisor for a new one." }).waitFor();
  check(await c2.evaluate(() => document.activeElement?.id === "code"), "the focus is on the code field after an unknown code");
  await shot(c2, "customer-3-used-code");
  await c2.locator("#code").fill("12 34");
  await c2.getByRole("button", { name: "Start the chat" }).click();
  await c2.getByRole("alert").filter({ hasText: "A session code has 6 digits" }).waitFor();
  log("a used code and a short one are refused plainly");

  // In French: codes up to the account's bound, then the bound said plainly.
  await a.getByLabel("Language").selectOption("fr");
  const fr = a.getByRole("region", { name: "Codes de session" });
  for (let i = 0; i < cfg.maxCodes; i++) {
    await fr.getByRole("button", { name: "Créer un code de session" }).click();
    const f = fr.getByRole("form", { name: "Créer un code de session" });
    await f.getByLabel("Nom du client (facultatif)").fill(`Client ${i + 1}`);
    await f.getByRole("button", { name: "Créer", exact: true }).click();
    await fr.locator("#new-code", { hasText: `Nouveau code pour Client ${i + 1}` }).waitFor();
  }
  await fr.locator(".code-item").first().waitFor();
  check((await fr.locator(".code-item").count()) === cfg.maxCodes - 1, "the other live codes are listed under the new one");
  await fr.getByRole("button", { name: "Créer un code de session" }).click();
  await fr.getByRole("form", { name: "Créer un code de session" }).getByRole("button", { name: "Créer", exact: true }).click();
  await fr.getByRole("alert").filter({ hasText: `Vous avez déjà ${cfg.maxCodes} codes valides` }).waitFor();
  await axeCheck(a, "console with live codes (fr)");
  await shot(a, "console-fr-codes");
  await fr.getByRole("button", { name: "Annuler" }).click();
  await fr.getByRole("button", { name: "Créer un code de session" }).waitFor();
  check(await a.evaluate(() => document.activeElement?.id === "create-code"), "Cancel gives the focus back to the button that opened the form");
  log("the bound on live codes said plainly, in French");

  // Withdrawing a code frees a place under the bound: a new code can be
  // created at once.
  const first = fr.locator(".code-item").first();
  const digits = (await first.locator(".code-small [aria-hidden=true]").textContent()).trim();
  await first.getByRole("button", { name: `Retirer le code ${digits}` }).click();
  await fr.getByRole("status").filter({ hasText: `Code ${digits} retiré : il ne fonctionne plus.` }).waitFor();
  check((await fr.locator(".code-item").count()) === cfg.maxCodes - 2, "the withdrawn code leaves the list");
  check(await a.evaluate(() => document.activeElement?.id === "create-code"), "after a withdrawal the focus goes back to creating");
  await shot(a, "console-fr-code-withdrawn");
  await fr.getByRole("button", { name: "Créer un code de session" }).click();
  await fr.getByRole("form", { name: "Créer un code de session" }).getByRole("button", { name: "Créer", exact: true }).click();
  await fr.locator("#new-code", { hasText: "Nouveau code" }).waitFor();
  console.log(`result withdrawn ${digits.replace(" ", "")}`);
  log("a withdrawn code frees its place under the bound");
}

// web: web mode (cfg.webPortal: {slug, name}). Nobody online, said
// plainly; the advisor's console opens and the page lists them (a busy
// colleague marked busy); a colleague who leaves before the customer
// starts is said plainly; the customer picks the advisor and lands in
// their queue, marked for them. The customer's page is in French.
async function web(browser) {
  const portalURL = `${cfg.customer}/p/${cfg.webPortal.slug}`;
  const cus = await newPage(browser, "customer", { viewport: { width: 400, height: 820 }, locale: "fr-FR", bypassCSP: true });
  const c = cus.page;
  await c.goto(portalURL);
  await c.getByRole("heading", { name: cfg.webPortal.name }).waitFor();
  await c.locator(".nobody", { hasText: "Aucun conseiller n'est en ligne pour le moment." }).waitFor();
  await axeCheck(c, "customer web form, nobody online (fr)");
  await shot(c, "customer-fr-1-nobody-online");
  await c.getByLabel("Votre nom").fill(cfg.customerName);
  await c.getByRole("button", { name: "Démarrer la discussion" }).click();
  await c.getByRole("alert").filter({ hasText: "Aucun conseiller n'est en ligne pour le moment : la discussion n'a pas pu démarrer." }).waitFor();
  await shot(c, "customer-fr-2-nobody-now");
  log("nobody online, said plainly");

  // The advisor opens the console; a colleague is online and busy.
  const adv = await newPage(browser, "advisor", { viewport: { width: 1280, height: 820 }, locale: "en-US" });
  const a = adv.page;
  await signIn(a);
  await control("/colleague-busy");
  const me = c.getByRole("radio", { name: cfg.advisorName });
  const colleague = c.locator("label.choice", { hasText: cfg.colleagueName });
  await me.waitFor({ timeout: 30_000 });
  await colleague.locator(".tag.busy", { hasText: "Occupé" }).waitFor({ timeout: 30_000 });
  await c.locator("label.choice", { hasText: cfg.advisorName }).locator(".tag.available", { hasText: "Disponible" }).waitFor();
  check((await c.locator(".nobody").count()) === 0, "no 'nobody online' once advisors are online");
  check((await c.getByRole("alert").count()) === 0, "the 'nobody online' error goes once advisors are online");
  await axeCheck(c, "customer web form with advisors (fr)");
  await shot(c, "customer-fr-3-advisors");
  log("the page lists the advisors online, the busy one marked busy");

  // The colleague goes offline after the customer picked them.
  await c.getByRole("radio", { name: cfg.colleagueName }).check();
  await control("/colleague-leaves");
  await c.getByRole("button", { name: "Démarrer la discussion" }).click();
  await c.getByRole("alert").filter({ hasText: `${cfg.colleagueName} n'est plus en ligne.` }).waitFor();
  await colleague.waitFor({ state: "detached" });
  check(await c.getByRole("radio", { name: "Le premier conseiller disponible" }).isChecked(), "back to the first available advisor");
  await shot(c, "customer-fr-4-advisor-gone");
  log("an advisor gone offline, said plainly; the list refreshed");

  // The customer picks the advisor: the session waits in their queue.
  await me.check();
  await c.getByRole("button", { name: "Démarrer la discussion" }).click();
  await c.locator("#chat-title", { hasText: `${cfg.advisorName} va vous répondre dans un instant.` }).waitFor();
  await shot(c, "customer-fr-5-waiting");
  const item = a.locator(".queue-item", { hasText: cfg.customerName });
  await item.locator(".tag", { hasText: "For you" }).waitFor();
  await item.locator(".tag", { hasText: "Web choice" }).waitFor();
  await shot(a, "console-web-for-you");
  await item.getByRole("button", { name: `Pick up ${cfg.customerName}` }).click();
  const panel = a.locator("section.panel", { hasText: cfg.customerName });
  await panel.waitFor();
  await c.locator("#chat-title", { hasText: `Discussion avec ${cfg.advisorName}` }).waitFor();
  await send(c, c.locator("form.composer"), "Bonjour, je vous ai choisi");
  await waitForMessage(panel.locator("[role=log]"), "Bonjour, je vous ai choisi");
  await send(a, panel, "Hello, here I am");
  await waitForMessage(c.locator("#log"), "Hello, here I am");
  console.log(`result session ${await panel.getAttribute("data-session")}`);
  log("the customer picked the advisor and chats with them");

  // A second customer picks the advisor, whose console then closes for
  // good: after the grace the page says so and waits for any advisor.
  const cus2 = await newPage(browser, "customer2", { viewport: { width: 400, height: 820 }, locale: "fr-FR", bypassCSP: true });
  const c2 = cus2.page;
  await c2.goto(portalURL);
  await c2.getByLabel("Votre nom").fill("Second client");
  await c2.getByRole("radio", { name: cfg.advisorName }).check();
  await c2.getByRole("button", { name: "Démarrer la discussion" }).click();
  await c2.locator("#chat-title", { hasText: `${cfg.advisorName} va vous répondre dans un instant.` }).waitFor();
  await adv.context.close();
  await c2.locator(".notice-text", { hasText: `${cfg.advisorName} n'est plus disponible : le prochain conseiller disponible prendra votre discussion.` }).waitFor();
  await c2.locator("#chat-title", { hasText: "En attente d'un conseiller." }).waitFor();
  await axeCheck(c2, "customer back in the queue (fr)");
  await shot(c2, "customer-fr-6-back-in-queue");
  log("an advisor who left for good: the customer is told and waits for anyone");
}

// reports: an admin reads, filters and exports session reports in the
// console, through a proxy that /hold and /release hold back (cfg.total ended sessions: cfg.customers today, newest first,
// then older ones, cfg.billing of them on cfg.portal; cfg.camille's has a
// chat log; cfg.deleted's log was deleted by retention); an advisor
// without report access (cfg.noAccess) sees no Reports tab.
async function reports(browser) {
  const adv = await newPage(browser, "admin", { viewport: { width: 1360, height: 900 }, locale: "en-US", bypassCSP: true });
  const a = adv.page;
  await signIn(a);
  await a.getByRole("button", { name: "Reports", exact: true }).click();
  const list = a.getByRole("region", { name: "Session reports" });
  const table = list.getByRole("table", { name: "Ended sessions, newest first" });
  const rows = table.locator("tbody tr");
  const counted = (text) => list.locator(".report-count", { hasText: text }).waitFor();
  await counted("Reports shown: 25. More are available below.");
  check((await table.locator("thead th").allTextContents()).join("|") === "Customer|Advisors|Portal|Started|Waiting time|Handling time|Outcome", "the table's column headers");
  const names = async () => table.locator("tbody th .open-report").allTextContents();
  const first = await names();
  check(JSON.stringify(first.slice(0, 3)) === JSON.stringify(cfg.customers), `newest first: ${JSON.stringify(first.slice(0, 4))}`);
  await axeCheck(a, "reports list (en)");
  await shot(a, "reports-1-list");
  await list.getByRole("button", { name: "Load more" }).click();
  await counted(`Reports shown: ${cfg.total}.`);
  check((await rows.count()) === cfg.total, `every report once the last page is in: ${await rows.count()}`);
  check((await list.getByRole("button", { name: "Load more" }).count()) === 0, "no Load more on the last page");
  log("list: newest first, a page at a time");

  // Filters: today's sessions; a text; an outcome; an advisor; a portal.
  const today = new Date();
  const day = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, "0")}-${String(today.getDate()).padStart(2, "0")}`;
  await a.getByLabel("Ended from").fill(day);
  await counted(`Reports shown: ${cfg.customers.length}.`);
  await a.getByLabel("Customer name or e-mail").fill(cfg.camille.email.slice(0, 7).toUpperCase());
  await counted("Reports shown: 1.");
  check(JSON.stringify(await names()) === JSON.stringify([cfg.camille.name]), `the search finds Camille by e-mail: ${JSON.stringify(await names())}`);
  await a.getByLabel("Customer name or e-mail").fill("");
  await a.getByLabel("Outcome", { exact: true }).selectOption({ label: "Unresolved" });
  await counted("Reports shown: 1.");
  check((await rows.first().textContent()).includes("Unresolved"), "the unresolved session");
  await a.getByLabel("Outcome", { exact: true }).selectOption({ label: "Any outcome" });
  await a.getByLabel("Advisor", { exact: true }).selectOption({ label: cfg.sam });
  await counted("Reports shown: 2.");
  await shot(a, "reports-2-filtered");
  await a.getByLabel("Customer name or e-mail").fill("no such customer");
  await list.getByText("No session report matches these filters.").waitFor();
  await axeCheck(a, "reports, nothing matches (en)");
  await shot(a, "reports-3-empty");
  await list.locator(".reports-empty").getByRole("button", { name: "Clear the filters" }).click();
  await counted("Reports shown: 25. More are available below.");
  await a.getByLabel("Portal", { exact: true }).selectOption({ label: cfg.portal });
  await counted(`Reports shown: ${cfg.billing}.`);
  await a.getByLabel("Ended to").fill("2000-01-01");
  await a.getByLabel("Ended from").fill("2000-01-02");
  await list.getByRole("alert").filter({ hasText: "must not be before" }).waitFor();
  await list.getByRole("button", { name: "Clear the filters" }).first().click();
  await counted("Reports shown: 25. More are available below.");
  log("filters: dates, text, outcome, advisor, portal; an empty result said plainly");

  // Camille's report, opened from the keyboard.
  await a.getByLabel("Customer name or e-mail").fill("camille");
  await counted("Reports shown: 1.");
  await table.getByRole("button", { name: `Open the report of ${cfg.camille.name}` }).focus();
  await a.keyboard.press("Enter");
  const report = a.getByRole("region", { name: `Report: ${cfg.camille.name}` });
  await report.waitFor();
  check(await a.evaluate(() => document.activeElement?.id === "report-title"), "the focus moves to the report's title");
  const rlog = report.getByRole("log", { name: `Chat log of ${cfg.camille.name}` });
  for (const text of cfg.camille.said) {
    await waitForMessage(rlog, text);
  }
  check(JSON.stringify(await messages(rlog)) === JSON.stringify(cfg.camille.said), `the chat log in order: ${JSON.stringify(await messages(rlog))}`);
  await report.getByText(cfg.camille.email).waitFor();
  await report.getByText("Desktop, Windows").waitFor();
  await report.locator(".advisor-list li", { hasText: cfg.alex }).getByText("Lead").waitFor();
  for (const step of ["Queued", "Picked up", "Ended"]) {
    await report.locator(".timeline li", { hasText: step }).waitFor();
  }
  await report.locator(".notes", { hasText: cfg.camille.notes }).waitFor();
  await axeCheck(a, "a report (en)");
  await shot(a, "reports-4-report");
  const [txt] = await Promise.all([a.waitForEvent("download"), report.getByRole("button", { name: "Save the chat log (.txt)" }).click()]);
  const txtFile = join(cfg.artifacts, "chat-log.txt");
  await txt.saveAs(txtFile);
  check(/^chat-log-\d{8}-\d{4}-[0-9a-f]{8}\.txt$/.test(txt.suggestedFilename()), `file name: ${txt.suggestedFilename()}`);
  console.log(`result transcript ${txtFile}`);
  await report.getByRole("button", { name: "Back to the reports" }).click();
  await a.waitForFunction(() => document.activeElement?.classList.contains("open-report"));
  log("a report: details, timeline, notes, the chat log, saved as .txt; Back returns to the row");

  // A report whose chat log retention deleted.
  await a.getByLabel("Customer name or e-mail").fill(cfg.deleted);
  await counted("Reports shown: 1.");
  await table.getByRole("button", { name: `Open the report of ${cfg.deleted}` }).click();
  await a.locator("#log-deleted", { hasText: "This chat log was deleted by the account's retention on" }).waitFor();
  check((await a.getByRole("button", { name: "Save the chat log (.txt)" }).count()) === 0, "nothing to save once the log is deleted");
  await shot(a, "reports-5-log-deleted");
  await a.getByRole("button", { name: "Back to the reports" }).click();

  // Export today's sessions as CSV.
  await list.getByRole("button", { name: "Clear the filters" }).first().click();
  await a.getByLabel("Ended from").fill(day);
  await counted(`Reports shown: ${cfg.customers.length}.`);
  const [csv] = await Promise.all([a.waitForEvent("download"), list.getByRole("button", { name: "Export CSV" }).click()]);
  const csvFile = join(cfg.artifacts, "reports.csv");
  await csv.saveAs(csvFile);
  check(/^session-reports-\d{8}-\d{4}\.csv$/.test(csv.suggestedFilename()), `file name: ${csv.suggestedFilename()}`);
  await list.locator("#export-status", { hasText: `CSV file saved. Rows: ${cfg.customers.length}.` }).waitFor();
  console.log(`result csv ${csvFile}`);
  await shot(a, "reports-6-exported");
  log("exported the filtered reports as CSV");
  // While the server's answer is held back, the export shows its progress
  // and can be cancelled from the keyboard.
  await control("/hold");
  await list.getByRole("button", { name: "Export CSV" }).click();
  await list.locator("#export-status", { hasText: "Exporting… rows so far: 0" }).waitFor();
  await shot(a, "reports-7-exporting");
  check(await a.evaluate(() => document.activeElement?.id === "export-cancel"), "the focus stays on the export's button, now Cancel");
  await a.keyboard.press("Enter");
  await list.locator("#export-status", { hasText: "Export cancelled." }).waitFor();
  await control("/release");
  await list.getByRole("button", { name: "Export CSV" }).waitFor();
  log("a slow export shows its progress and is cancelled");

  // In French.
  await a.getByLabel("Language").selectOption("fr");
  await a.getByRole("button", { name: "Rapports", exact: true }).waitFor();
  const fr = a.getByRole("region", { name: "Rapports de session" });
  await fr.getByRole("table", { name: "Sessions terminées, les plus récentes d'abord" }).waitFor();
  await fr.getByText(`Rapports affichés : ${cfg.customers.length}.`).waitFor();
  check((await fr.locator("thead th").allTextContents()).join("|") === "Client|Conseillers|Portail|Début|Temps d'attente|Temps de traitement|Résultat", "the column headers in French");
  await axeCheck(a, "reports list (fr)");
  await shot(a, "reports-fr-1-list");
  await fr.getByRole("button", { name: `Ouvrir le rapport de ${cfg.camille.name}` }).click();
  const rfr = a.getByRole("region", { name: `Rapport : ${cfg.camille.name}` });
  await rfr.getByRole("heading", { name: "Chronologie" }).waitFor();
  await rfr.locator(".advisor-list li", { hasText: cfg.alex }).getByText("Responsable").waitFor();
  await rfr.getByRole("button", { name: "Enregistrer l'historique (.txt)" }).waitFor();
  await axeCheck(a, "a report (fr)");
  await shot(a, "reports-fr-2-report");
  log("reports in French");

  // An advisor without report access sees no Reports tab; forced there,
  // they are told plainly that the server refused.
  const other = await newPage(browser, "advisor", { viewport: { width: 1280, height: 820 }, locale: "en-US", bypassCSP: true });
  const b = other.page;
  await signIn(b, cfg.api, cfg.noAccess);
  await b.getByRole("button", { name: "History" }).waitFor();
  check((await b.getByRole("button", { name: "Reports", exact: true }).count()) === 0, "no Reports tab without report access");
  await shot(b, "no-access-1-no-tab");
  await b.evaluate(() => {
    const auth = JSON.parse(sessionStorage.getItem("assist.console"));
    sessionStorage.setItem("assist.console", JSON.stringify({ ...auth, reportAccess: true }));
  });
  await b.reload();
  await b.getByRole("button", { name: "Reports", exact: true }).click();
  await b.getByRole("alert").filter({ hasText: "You do not have access to session reports." }).waitFor();
  await b.getByText("The server said: this advisor has no access to session reports").waitFor();
  await shot(b, "no-access-2-refused");
  log("no tab without report access; the server's refusal said plainly");
}

// admin: the account's administration in the console. A plain advisor
// (cfg.plain) sees no Administration tab, and reaching it anyway is said
// plainly; the admin (cfg.email) adds an advisor (cfg.newAdvisor) after
// the server's field messages, a code-mode portal they serve, changes a
// setting, creates an API key (the secret shown once) and revokes it,
// disables the advisor, and reads the audit log; then the same screens in
// French. The test checks each effect through the API (cfg.control).
async function admin(browser) {
  const nina = cfg.newAdvisor;
  const opts = { viewport: { width: 1280, height: 900 }, locale: "en-US", bypassCSP: true };

  // A plain advisor: no tab; with the flag forged, the server says no.
  const plain = (await newPage(browser, "plain advisor", opts)).page;
  await signIn(plain, cfg.api, cfg.plain);
  check((await plain.getByRole("button", { name: "Administration" }).count()) === 0, "a plain advisor sees no Administration tab");
  await shot(plain, "plain-advisor-no-admin-tab");
  await plain.evaluate(() => {
    const auth = JSON.parse(sessionStorage.getItem("assist.console"));
    sessionStorage.setItem("assist.console", JSON.stringify({ ...auth, admin: true }));
  });
  await plain.reload();
  await plain.getByRole("button", { name: "Administration" }).click();
  await plain.locator("#admin-denied", { hasText: "Only the account's administrators can manage it" }).waitFor();
  await shot(plain, "plain-advisor-denied");
  log("a plain advisor sees no Administration tab; reaching it anyway is refused plainly");

  const a = (await newPage(browser, "admin", opts)).page;
  await signIn(a);
  await a.getByRole("button", { name: "Administration" }).click();
  const advisors = a.locator("section", { has: a.getByRole("heading", { name: "Advisors" }) });
  await advisors.getByRole("row", { name: /Alex \(advisor\)/ }).waitFor();
  await axeCheck(a, "administration: advisors");
  await shot(a, "admin-1-advisors");

  // Add an advisor: the server's messages beside the fields they name.
  await a.getByRole("button", { name: "Add an advisor" }).click();
  check(await a.evaluate(() => document.activeElement?.id === "adv-n-display_name"), "the new advisor form takes the focus");
  await a.getByLabel("Name", { exact: true }).fill(nina.name);
  await a.getByLabel("E-mail", { exact: true }).fill("not an address");
  await a.getByLabel("Initial password").fill("short");
  await a.getByRole("button", { name: "Add the advisor" }).click();
  await a.locator("#adv-n-email-error", { hasText: "Enter an e-mail address such as name@example.com." }).waitFor();
  await a.locator("#adv-n-password-error", { hasText: /at least 10 characters/ }).waitFor();
  check((await a.getByLabel("Initial password").getAttribute("aria-describedby")).includes("adv-n-password-error"), "the password's message is read with the field");
  check(await a.evaluate(() => document.activeElement?.id === "adv-n-email"), "the focus goes to the first field refused");
  await axeCheck(a, "administration: new advisor refused");
  await shot(a, "admin-2-advisor-refused");
  await a.getByLabel("E-mail", { exact: true }).fill(nina.email);
  await a.getByLabel("Initial password").fill(nina.password);
  await a.getByLabel("Report access").check();
  await a.getByRole("button", { name: "Add the advisor" }).click();
  await a.getByRole("status").filter({ hasText: `${nina.name} was added.` }).waitFor();
  const row = advisors.getByRole("row", { name: new RegExp(nina.name) });
  await row.waitFor();
  check(await a.evaluate(() => document.activeElement?.id === "adv-create"), "the focus goes back to Add an advisor");
  await control("/new-advisor-logs-in");
  log("advisor added after the server's field messages; they can log in");

  // Edit the name: only what changed is sent.
  await a.getByRole("button", { name: `Edit ${nina.name}` }).click();
  await a.locator("#adv-e-display_name").fill(nina.renamed);
  await a.getByRole("button", { name: "Save" }).click();
  await a.getByRole("status").filter({ hasText: `${nina.renamed} was saved.` }).waitFor();
  const renamed = advisors.getByRole("row", { name: new RegExp(nina.renamed) });
  await renamed.waitFor();

  // A code-mode portal served by the new advisor.
  await a.getByRole("button", { name: "Portals" }).click();
  await a.getByRole("button", { name: "Add a portal" }).click();
  await a.locator("#portal-n-display_name").fill(cfg.portal.name);
  await a.getByLabel("Link name").fill(cfg.portal.slug);
  await a.getByText(`Customers open /p/${cfg.portal.slug}.`).waitFor();
  await a.getByRole("radio", { name: "Session code" }).check();
  await a.getByRole("checkbox", { name: new RegExp(nina.renamed) }).check();
  await axeCheck(a, "administration: new portal form");
  await shot(a, "admin-3-portal-form");
  await a.getByRole("button", { name: "Add the portal" }).click();
  await a.getByRole("status").filter({ hasText: `The portal ${cfg.portal.name} was added.` }).waitFor();
  const portalRow = a.getByRole("row", { name: new RegExp(cfg.portal.name) });
  await portalRow.getByRole("link", { name: `/p/${cfg.portal.slug}` }).waitFor();
  check((await portalRow.textContent()).includes("Session code") && (await portalRow.textContent()).includes(nina.renamed), `the portal's row: ${await portalRow.textContent()}`);
  await shot(a, "admin-4-portals");
  log("code-mode portal added, served by the new advisor");

  // A setting: the live codes per advisor.
  await a.getByRole("button", { name: "Account settings" }).click();
  const maxCodes = a.getByLabel("Live codes per advisor");
  await maxCodes.waitFor();
  const maxCodesError = a.locator("#set-max_live_session_codes_per_advisor-error");
  await maxCodes.fill("");
  await a.getByRole("button", { name: "Save changes (1)" }).click();
  await maxCodesError.filter({ hasText: "Enter a whole number." }).waitFor();
  await maxCodes.fill("500");
  await a.getByRole("button", { name: "Save changes (1)" }).click();
  await maxCodesError.filter({ hasText: /100/ }).waitFor();
  check(await a.evaluate(() => document.activeElement?.id === "set-max_live_session_codes_per_advisor"), "the focus goes to the setting refused");
  await maxCodes.fill(String(cfg.maxCodes));
  await a.getByRole("button", { name: "Save changes (1)" }).click();
  await a.getByRole("status").filter({ hasText: "Settings saved (1 changed)." }).waitFor();
  await axeCheck(a, "administration: account settings");
  await shot(a, "admin-5-settings");
  log("a setting changed");

  // An API key: the secret once, then revoked.
  await a.getByRole("button", { name: "API keys" }).click();
  await a.getByRole("button", { name: "Create an API key" }).click();
  await a.getByLabel("Name", { exact: true }).fill(cfg.keyName);
  await a.getByRole("button", { name: "Create the key" }).click();
  await a.locator("#key-scopes-error", { hasText: "Choose at least one thing the key allows." }).waitFor();
  await a.getByRole("checkbox", { name: "Read reports" }).check();
  await a.getByRole("button", { name: "Create the key" }).click();
  const secretField = a.locator("#key-secret");
  await secretField.waitFor();
  await a.getByText("this is the only time it is shown").waitFor();
  check(await a.evaluate(() => document.activeElement?.id === "key-secret"), "the secret's field takes the focus");
  const secret = await secretField.inputValue();
  check(secret.startsWith("ast_key_"), `a secret: ${secret.slice(0, 8)}…`);
  await a.getByRole("button", { name: "Copy the secret" }).click();
  await a.getByRole("status").filter({ hasText: /Secret copied|Could not copy/ }).waitFor();
  await axeCheck(a, "administration: the new key's secret");
  await shot(a, "admin-6-key-secret");
  await control("/key-works", secret);
  await a.getByRole("button", { name: "I have stored it" }).click();
  await secretField.waitFor({ state: "detached" });
  check(!(await a.content()).includes(secret), "the secret is gone from the page");
  const keyRow = a.getByRole("row", { name: new RegExp(cfg.keyName) });
  await keyRow.getByText("Active").waitFor();
  check((await keyRow.textContent()).includes(secret.slice(0, 12)), `the key's row shows its prefix: ${await keyRow.textContent()}`);
  await a.getByRole("button", { name: `Revoke ${cfg.keyName}` }).click();
  await a.getByRole("alertdialog").getByText("refused from their next call").waitFor();
  check(await a.evaluate(() => document.activeElement?.id?.startsWith("key-confirm-")), "the confirmation takes the focus");
  await shot(a, "admin-7-key-revoke-confirm");
  await a.getByRole("alertdialog").getByRole("button", { name: "Revoke" }).click();
  await a.getByRole("status").filter({ hasText: `${cfg.keyName} is revoked.` }).waitFor();
  await keyRow.getByText(/^Revoked /).waitFor();
  await control("/key-refused", secret);
  log("API key created, secret shown once, used, revoked");

  // Disable the advisor: a confirmation that says what stops, Cancel
  // gives the focus back.
  await a.getByRole("button", { name: "Advisors" }).click();
  await a.getByRole("button", { name: `Disable ${nina.renamed}` }).click();
  const dialog = a.getByRole("alertdialog");
  await dialog.getByText("their open sessions and streams stop now").waitFor();
  await shot(a, "admin-8-disable-confirm");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  check(await a.evaluate(() => document.activeElement?.getAttribute("aria-label")?.startsWith("Disable ")), "Cancel gives the focus back to Disable");
  await a.getByRole("button", { name: `Disable ${nina.renamed}` }).click();
  await dialog.getByRole("button", { name: "Disable" }).click();
  await a.getByRole("status").filter({ hasText: `${nina.renamed} is disabled` }).waitFor();
  await advisors.getByRole("row", { name: new RegExp(nina.renamed) }).getByText("Disabled").waitFor();
  await control("/new-advisor-refused");
  log("advisor disabled; they can no longer log in");

  // The audit log: who did what, when.
  await a.getByRole("button", { name: "Audit log" }).click();
  for (const what of ["Added an advisor", "Changed an advisor", "Added a portal", "Created an API key", "Revoked an API key"]) {
    await a.getByRole("row", { name: new RegExp(what) }).first().waitFor();
  }
  check((await a.getByRole("row", { name: /Demo Admin/ }).count()) >= 5, "the audit log names who made each change");
  await axeCheck(a, "administration: audit log");
  await shot(a, "admin-9-audit");
  log("the audit log lists the changes");

  // French.
  await a.locator(".topbar .lang select").selectOption("fr");
  await a.getByRole("heading", { name: "Journal d'audit" }).waitFor();
  await a.getByRole("row", { name: /A révoqué une clé d'API/ }).first().waitFor();
  await shot(a, "admin-fr-5-audit");
  await a.getByRole("button", { name: "Conseillers" }).click();
  await a.getByRole("columnheader", { name: "Accès aux rapports" }).waitFor();
  await a.getByRole("button", { name: "Ajouter un conseiller" }).click();
  await a.getByLabel("Mot de passe initial").waitFor();
  await a.getByText("De 10 à 256 caractères.").waitFor();
  await axeCheck(a, "administration: advisors (fr)");
  await shot(a, "admin-fr-1-advisors");
  await a.getByRole("button", { name: "Annuler" }).click();
  await a.getByRole("button", { name: "Portails" }).click();
  await a.getByRole("row", { name: new RegExp(cfg.portal.name) }).getByText("Code de session").waitFor();
  await shot(a, "admin-fr-2-portals");
  await a.getByRole("button", { name: "Paramètres du compte" }).click();
  await a.getByLabel("Codes en cours par conseiller").waitFor();
  await axeCheck(a, "administration: account settings (fr)");
  await shot(a, "admin-fr-3-settings");
  await a.getByRole("button", { name: "Clés d'API" }).click();
  await a.getByRole("row", { name: new RegExp(cfg.keyName) }).getByText(/^Révoquée le /).waitFor();
  await shot(a, "admin-fr-4-keys");
  log("the administration in French");
}

const scenarios = { journey, "french-a11y": frenchA11y, many, upgrade, transfer, codes, web, reports, admin };
const run = scenarios[scenario];
if (!run) {
  console.error(`drive: unknown scenario ${scenario}`);
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args, timeout: 30_000 });
let code = 0;
try {
  await run(browser);
  log(`PASS ${scenario}`);
} catch (err) {
  console.error(`drive: FAIL ${scenario}: ${err.stack ?? err}`);
  code = 1;
  for (const [who, page] of pages) {
    await page.screenshot({ path: join(cfg.artifacts, `FAILED-${who}.png`) }).catch(() => {});
  }
} finally {
  await browser.close();
}
process.exit(code);
