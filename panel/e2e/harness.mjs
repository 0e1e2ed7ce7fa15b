// What the browser tests written on it share: Debian's Chromium through playwright-core,
// nothing but loopback, the emulator's login page, checks and screenshots, and one JSON
// line {ok, checks, failures, screenshots, ...} printed last (exit code 0 only when every
// check passed).
//
// Env: PANEL_URL (required), CHROMIUM (default /usr/bin/chromium), SCREENSHOT_DIR
// (default <repo>/artifacts/screenshots), HEADED=1 to watch.

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
export const PANEL_URL = process.env.PANEL_URL;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = resolve(process.env.SCREENSHOT_DIR || join(HERE, "..", "..", "artifacts", "screenshots"));
const TIMEOUT = 15_000;
// Flags for a quiet, sandbox-free headless run that calls nobody (no updates, no sync).
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage"];

const checks = [];
const failures = [];
const screenshots = [];
const offLoopback = [];
const pageErrors = [];
let requests = 0;

export function check(name, condition, detail = "") {
  (condition ? checks : failures).push(detail && !condition ? `${name}: ${detail}` : name);
  if (!condition) console.error(`FAIL ${name} ${detail}`);
}

const isLoopback = (url) => {
  const { protocol, hostname } = new URL(url);
  if (protocol === "data:" || protocol === "blob:" || protocol === "about:") return true;
  return ["127.0.0.1", "localhost", "[::1]"].includes(hostname);
};

export async function shot(page, name) {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(path);
}

export async function login(page, alias) {
  await openLogin(page);
  await finishLogin(page, alias);
}

// The two halves of login, for a script that looks at the emulator's login page between.
export async function openLogin(page) {
  await page.goto(PANEL_URL);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((url) => url.pathname === "/authorize");
}

export async function finishLogin(page, alias) {
  await page.locator(`button[value="${alias}"]`).click();
  await page.waitForURL((url) => url.href.startsWith(PANEL_URL));
  await page.getByTestId("who").waitFor();
}

export async function logout(page) {
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
}

export async function openUser(page, text, name) {
  await page.getByRole("link", { name: "Users", exact: true }).click();
  await page.getByRole("searchbox", { name: "Search users" }).fill(text);
  await page.getByRole("button", { name: "Search" }).click();
  await page.locator("table.users").getByRole("link", { name, exact: true }).first().click();
  await page.getByTestId("user-name").waitFor();
}

// From the Users screen already shown (no click on its link): search, then open the first
// link whose name contains `name`.
export async function searchAndOpenUser(page, text, name) {
  await page.getByRole("searchbox", { name: "Search users" }).fill(text);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name }).first().click();
  await page.getByTestId("user-name").waitFor();
}

// How many requests the browser made (loopback or not), for a script's result line.
export const requestCount = () => requests;

export async function openTab(page, name, testId) {
  await page.getByRole("tab", { name, exact: true }).click();
  await page.getByRole("tab", { name, exact: true, selected: true }).waitFor();
  if (testId) await page.getByTestId(testId).first().waitFor();
}

// Waits (up to the default timeout) rather than sampling once: the UI reloads after writes.
export async function seen(locator) {
  try {
    await locator.first().waitFor();
    return true;
  } catch {
    return false;
  }
}

export async function gone(locator) {
  try {
    await locator.first().waitFor({ state: "detached" });
    return true;
  } catch {
    return false;
  }
}

// Rows of a table that has finished loading (its "Loading…" line gone).
export async function rows(page, testId) {
  await page.locator(".loading").first().waitFor({ state: "detached" }).catch(() => {});
  return page.getByTestId(testId).count();
}

export async function problemText(page) {
  const problem = page.getByTestId("problem").first();
  await problem.waitFor();
  return problem.innerText();
}

// Runs the scenarios with one browser, then prints the result line and exits. `extra` adds
// fields to that line: an object, or a function called once the scenarios have run.
// `failureShot` names the screenshot taken when a scenario aborts.
export async function runScenarios(scenarios, extra = {}, { failureShot = "zz-failure" } = {}) {
  if (!PANEL_URL) throw new Error("PANEL_URL is not set");
  mkdirSync(SHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "panel-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: !process.env.HEADED,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    timeout: 30_000,
  });
  context.setDefaultTimeout(TIMEOUT);
  // Nothing may leave loopback: count every request, refuse any other.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    requests += 1;
    if (isLoopback(url)) return route.continue();
    offLoopback.push(url);
    return route.abort("blockedbyclient");
  });
  const page = context.pages()[0] || await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) pageErrors.push(message.text());
  });
  try {
    for (const scenario of scenarios) await scenario(page);
  } catch (error) {
    failures.push(`aborted: ${error.message.split("\n")[0]}`);
    try { await shot(page, failureShot); } catch { /* the browser may be gone */ }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  check("no request left loopback", offLoopback.length === 0, offLoopback.join(" "));
  check("no page errors or CSP violations", pageErrors.length === 0, pageErrors.join(" | "));
  const fields = typeof extra === "function" ? extra() : extra;
  const result = { ok: failures.length === 0, checks, failures, screenshots, ...fields };
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

// runScenarios, printing a result line even when it throws before it could.
export function run(scenarios, extra, options) {
  runScenarios(scenarios, extra, options).catch((error) => {
    console.log(JSON.stringify({ ok: false, checks, failures: [...failures, String(error)],
                                 screenshots }));
    process.exit(1);
  });
}

// The scenario named by SCENARIO, from a script's table of them.
export function main(table, extra) {
  const name = process.env.SCENARIO;
  const scenarios = table[name];
  if (!scenarios) {
    console.log(JSON.stringify({ ok: false, checks, failures: [`unknown SCENARIO ${name}`],
                                 screenshots }));
    process.exit(1);
  }
  run(scenarios, extra);
}
