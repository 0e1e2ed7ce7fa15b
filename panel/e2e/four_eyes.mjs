// Browser test of step-up (RFC 9470) and four-eyes approvals in the admin panel.
//
//   PANEL_URL=http://127.0.0.1:5173 node e2e/four_eyes.mjs
//
// Needs a gateway whose policy puts DELETE /users/{id} under [step_up] (MFA, max_age)
// and [approvals], and gives the Support Editor role approvals:decide + users:scope:all
// (tests/panel/test_browser_four_eyes.py starts it). Env and output as e2e/run.mjs.
//
// Scenario: carol (password-only login) deletes Dave: the gateway asks for a fresh MFA
// login; the panel's prompt opens the emulator's login in a popup, carol confirms with the
// simulated second factor, the panel retries and the delete is held for approval. Her own
// queue shows it pending, without an Approve button. bob approves it with a reason, after
// his own MFA step-up: the request is executed (HTTP 204) and Dave is gone.

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const PANEL_URL = process.env.PANEL_URL;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = resolve(process.env.SCREENSHOT_DIR || join(HERE, "..", "..", "artifacts", "screenshots"));
const TIMEOUT = 15_000;
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage"];
const REASON = "Confirmed with HR: Dave left";
const ASKED_BECAUSE = "Ticket HR-42: Dave left the company";

const checks = [];
const failures = [];
const screenshots = [];
const offLoopback = [];
const pageErrors = [];
let approvalId = null;

function check(name, condition, detail = "") {
  (condition ? checks : failures).push(detail && !condition ? `${name}: ${detail}` : name);
  if (!condition) console.error(`FAIL ${name} ${detail}`);
}

const isLoopback = (url) => {
  const { protocol, hostname } = new URL(url);
  if (protocol === "data:" || protocol === "blob:" || protocol === "about:") return true;
  return ["127.0.0.1", "localhost", "[::1]"].includes(hostname);
};

async function shot(page, name) {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(path);
}

async function login(page, alias) {
  await page.goto(PANEL_URL);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((url) => url.pathname === "/authorize");
  await page.locator(`button[value="${alias}"]`).click();
  await page.waitForURL((url) => url.href.startsWith(PANEL_URL));
  await page.getByTestId("who").waitFor();
}

async function logout(page) {
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
}

async function openUser(page, text, name) {
  await page.getByRole("searchbox", { name: "Search users" }).fill(text);
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name }).first().click();
  await page.getByTestId("user-name").waitFor();
}

async function requesterStepsUpAndIsHeld(page) {
  await login(page, "carol");
  await openUser(page, "dave@example.com", "Dave Diaz");
  await page.getByRole("button", { name: "Delete user" }).click();
  await page.getByRole("textbox", { name: "Reason (shown to approvers)" }).fill(ASKED_BECAUSE);
  await page.getByRole("button", { name: "Yes, delete" }).click();
  const prompt = page.getByTestId("step-up");
  await prompt.waitFor();
  const text = await prompt.innerText();
  check("requester: the step-up prompt explains the second factor",
    /second factor/.test(text) && /300 seconds/.test(text), text);
  await shot(page, "10-step-up-prompt");

  const popupOpened = page.waitForEvent("popup");
  await prompt.getByRole("button", { name: "Verify with a second factor" }).click();
  const popup = await popupOpened;
  await popup.locator('button[value="carol"]').waitFor();
  check("requester: the login asks for a fresh login with a second factor",
    /with a second factor/.test(await popup.locator("main").innerText()));
  check("requester: the simulated MFA is pre-selected", await popup.locator('input[name="mfa"]').isChecked());
  await shot(popup, "11-step-up-login");
  await popup.locator('button[value="carol"]').click();

  const notice = page.getByTestId("notice");
  await notice.waitFor();
  const noticeText = await notice.innerText();
  check("requester: after MFA the retried delete is held for approval",
    /Sent for approval/.test(noticeText), noticeText);
  approvalId = (noticeText.match(/apr_[0-9a-f]{24}/) || [null])[0];
  check("requester: the notice names the approval request", Boolean(approvalId), noticeText);
  check("requester: Dave is still there", await page.getByTestId("user-name").innerText() === "Dave Diaz");
  check("requester: the prompt is gone", await prompt.count() === 0);
  await shot(page, "12-held-for-approval");

  await page.getByRole("link", { name: "Approvals" }).click();
  await page.getByRole("button", { name: "Mine" }).click();
  const card = page.locator(`[data-approval-id="${approvalId}"]`);
  await card.waitFor();
  const cardText = await card.innerText();
  check("requester: her queue shows the request pending with her reason",
    /pending/.test(cardText) && /Delete a user/.test(cardText) && cardText.includes(ASKED_BECAUSE),
    cardText);
  check("requester: she may withdraw it", await card.getByRole("button", { name: "Withdraw" }).count() === 1);
  check("requester: she cannot approve her own request",
    await card.getByRole("button", { name: "Approve" }).count() === 0
      && /Another approver must decide/.test(cardText), cardText);
  await shot(page, "13-my-approvals");
  await logout(page);
}

async function approverApproves(page) {
  await login(page, "bob");
  await page.getByRole("link", { name: "Approvals" }).click();
  const card = page.locator(`[data-approval-id="${approvalId}"]`);
  await card.waitFor();
  const cardText = await card.innerText();
  check("approver: the pending queue shows carol's request and her reason",
    /carol/.test(cardText) && cardText.includes(ASKED_BECAUSE), cardText);
  await card.getByRole("textbox", { name: "Reason for your decision" }).fill(REASON);
  await shot(page, "14-approval-queue");
  await card.getByRole("button", { name: "Approve" }).click();
  // Approving a step-up operation takes the same fresh MFA login as asking for it.
  const prompt = page.getByTestId("step-up");
  await prompt.waitFor();
  check("approver: approving asks for a second factor too", /second factor/.test(await prompt.innerText()));
  const popupOpened = page.waitForEvent("popup");
  await prompt.getByRole("button", { name: "Verify with a second factor" }).click();
  const popup = await popupOpened;
  await popup.locator('button[value="bob"]').click();
  await prompt.waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Decided" }).click();
  const decided = page.locator(`[data-approval-id="${approvalId}"][data-state="executed"]`);
  await decided.waitFor();
  const text = await decided.innerText();
  check("approver: the approved request was executed", /HTTP 204/.test(text), text);
  check("approver: the decision and its reason are shown", text.includes(REASON), text);
  await shot(page, "15-approved-and-executed");
  await logout(page);
}

async function main() {
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
  await context.route("**/*", (route) => {
    const url = route.request().url();
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
    await requesterStepsUpAndIsHeld(page);
    await approverApproves(page);
  } catch (error) {
    failures.push(`aborted: ${error.message.split("\n")[0]}`);
    try { await shot(page, "zz-failure-four-eyes"); } catch { /* the browser may be gone */ }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  check("no request left loopback", offLoopback.length === 0, offLoopback.join(" "));
  check("no page errors or CSP violations", pageErrors.length === 0, pageErrors.join(" | "));
  const result = { ok: failures.length === 0, checks, failures, screenshots, approval_id: approvalId,
                   reason: REASON };
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

main().catch((error) => {
  console.log(JSON.stringify({ ok: false, checks, failures: [...failures, String(error)], screenshots }));
  process.exit(1);
});
