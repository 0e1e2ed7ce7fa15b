// Browser test of the admin panel: Debian's Chromium driven by playwright-core.
//
//   PANEL_URL=http://127.0.0.1:5173 node e2e/run.mjs
//
// Env: PANEL_URL (required), CHROMIUM (default /usr/bin/chromium), SCREENSHOT_DIR
// (default <repo>/artifacts/screenshots), HEADED=1 to watch. Needs the panel
// served with a config.json naming a running emulator and gateway (tests/panel
// starts all three). Prints one JSON line {ok, checks, failures, screenshots,
// requests} last and exits 0 only when every check passed.
//
// Scenario: alice (Support Reader) searches, sorts, pages, opens a user, sees no
// edit controls, forces a write and reads the gateway's 403; bob (Support
// Editor) renames that user, blocks and unblocks him, creates a password ticket;
// carol (User Admin) reads the audit trail, meets field errors on create, then
// creates a user, assigns and removes a role, and deletes the user.

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
const NEW_USER_EMAIL = `new.hire.${Date.now() % 100000}@example.com`;
// Flags for a quiet, sandbox-free headless run that calls nobody (no updates, no sync).
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage"];

const checks = [];
const failures = [];
const screenshots = [];
const requests = [];
const offLoopback = [];
const pageErrors = [];

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
  await page.locator(`button[value="${alias}"]`).waitFor();
  return page;
}

async function finishLogin(page, alias) {
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

// Waits (up to the default timeout) rather than sampling once: the UI reloads after writes.
async function seen(locator) {
  try {
    await locator.first().waitFor();
    return true;
  } catch {
    return false;
  }
}

async function problemText(page) {
  const problem = page.getByTestId("problem").first();
  await problem.waitFor();
  return problem.innerText();
}

async function asReader(page) {
  await login(page, "alice");
  await shot(page, "01-login-page");
  await finishLogin(page, "alice");
  await page.locator("table.users tbody tr").first().waitFor();
  const summary = await page.getByTestId("result-summary").innerText();
  check("reader: search shows users of her department only", /limited to department “support”/.test(summary), summary);
  const departments = await page.locator("table.users tbody tr td:nth-child(3)").allInnerTexts();
  check("reader: every listed user is in support", departments.length > 0 && departments.every((d) => d === "support"),
    departments.join(","));
  check("reader: no Create user button", await page.getByRole("button", { name: "Create user" }).count() === 0);
  check("reader: no audit trail link", await page.getByRole("link", { name: "Audit trail" }).count() === 0);
  await shot(page, "02-user-search");

  await page.getByRole("button", { name: /^Email/ }).click();
  await page.locator('th[aria-sort="ascending"]', { hasText: "Email" }).waitFor();
  await page.locator('table.users[aria-busy="false"]').waitFor();
  const emails = await page.locator("table.users tbody tr td:nth-child(2)").allInnerTexts();
  const sorted = [...emails].sort((a, b) => a.localeCompare(b, "en", { sensitivity: "base" }));
  check("reader: sorting by email orders the rows", emails.join() === sorted.join(), emails.slice(0, 5).join(","));
  const firstPage = emails[0];
  await page.getByRole("button", { name: "Next →" }).click();
  await page.getByTestId("result-summary").filter({ hasText: "page 2 of" }).waitFor();
  await page.locator('table.users[aria-busy="false"]').waitFor();
  const secondPage = await page.locator("table.users tbody tr td:nth-child(2)").first().innerText();
  check("reader: the next page shows other users", secondPage !== firstPage, secondPage);

  await openUser(page, "dave", "Dave Diaz");
  await page.getByTestId("logs").waitFor();
  await page.getByTestId("roles").waitFor();
  await page.getByRole("tab", { name: "Permissions" }).click();
  await page.getByTestId("permissions").waitFor();
  await page.getByRole("tab", { name: "Overview" }).click();
  await page.getByTestId("logs").waitFor();
  check("reader: sees no edit controls",
    await page.getByRole("button", { name: /Edit profile|Block|Reset password|Delete user/ }).count() === 0);
  check("reader: is told the view is read-only", await page.getByTestId("read-only").isVisible());
  await shot(page, "03-user-detail-reader");

  // Forced write: show the actions her role may not call, and try one.
  await page.getByTestId("show-all").check();
  await page.getByRole("button", { name: /^Block/ }).click();
  const text = await problemText(page);
  check("reader: a forced write is refused with a readable 403",
    /HTTP 403/.test(text) && /users:block|users:update/.test(text) && /Request id/.test(text), text);
  await shot(page, "04-forbidden-write");
  await page.getByTestId("show-all").uncheck();
  await logout(page);
}

async function asEditor(page, newName) {
  await login(page, "bob");
  await finishLogin(page, "bob");
  await openUser(page, "dave", "Dave Diaz");
  await page.getByRole("button", { name: "Edit profile" }).click();
  await page.locator('input[name="name"]').fill(newName);
  await shot(page, "05-edit-profile");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByTestId("notice").filter({ hasText: "Profile saved." }).waitFor();
  await page.getByTestId("user-name").filter({ hasText: newName }).waitFor();
  check("editor: the new name is shown", true);

  await page.getByRole("button", { name: "Block", exact: true }).click();
  await page.getByTestId("notice").filter({ hasText: "User blocked." }).waitFor();
  await page.getByRole("button", { name: "Unblock" }).waitFor();
  check("editor: blocked user shows as blocked",
    await seen(page.locator(".user-head .badge-danger", { hasText: "blocked" })));
  await shot(page, "06-user-blocked");
  await page.getByRole("button", { name: "Unblock" }).click();
  await page.getByTestId("notice").filter({ hasText: "User unblocked." }).waitFor();
  await page.getByRole("button", { name: "Block", exact: true }).waitFor();
  check("editor: unblocked user shows as active",
    await seen(page.locator(".user-head .badge-ok", { hasText: "active" })));

  await page.getByRole("button", { name: "Reset password" }).click();
  const ticket = await page.getByTestId("notice").filter({ hasText: "Password-change ticket" }).innerText();
  check("editor: a password ticket link is shown", /https?:\/\//.test(ticket), ticket);

  // A reload logs in again silently (prompt=none in an iframe, memory cache).
  await page.reload();
  await page.getByTestId("user-name").filter({ hasText: newName }).waitFor();
  check("editor: after a reload the session continues and the change persists", true);
  await shot(page, "07-user-detail-editor");
  await logout(page);
}

async function asAdmin(page) {
  await login(page, "carol");
  await finishLogin(page, "carol");
  await page.getByRole("link", { name: "Audit trail" }).click();
  await page.locator("table.audit tbody tr").first().waitFor();
  const audit = await page.locator("table.audit").innerText();
  check("admin: the audit trail lists the editor's change", /patch_users_by_id/.test(audit) && /allowed/.test(audit));
  check("admin: the audit trail lists the reader's refused write", /denied/.test(audit));
  await shot(page, "08-audit-trail");

  await page.getByRole("link", { name: "Users" }).click();
  await page.getByRole("button", { name: "Create user" }).click();
  await page.locator('input[name="email"]').fill("not-an-email");
  await page.locator('input[name="password"]').fill("x");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  const text = await problemText(page);
  check("admin: a refused create shows the gateway's field errors",
    /HTTP 400/.test(text) && /email: Not a valid email address/.test(text) && /Request id/.test(text), text);
  await shot(page, "09-create-user-error");

  // A valid create lands on the new user's page; assign and remove a role; delete.
  await page.locator('input[name="email"]').fill(NEW_USER_EMAIL);
  await page.locator('input[name="password"]').fill("Correct-Horse-Battery-9");
  await page.locator('input[name="name"]').fill("New Hire");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.getByTestId("user-name").filter({ hasText: "New Hire" }).waitFor();
  check("admin: a created user opens on its own page", true);
  await page.getByRole("combobox", { name: "Role to assign" }).selectOption({ label: "Support Reader" });
  await page.getByRole("button", { name: "Assign" }).click();
  check("admin: an assigned role is listed",
    await seen(page.getByTestId("roles").locator("li", { hasText: "Support Reader" })));
  await page.getByTestId("roles").getByRole("button", { name: "Remove" }).click();
  check("admin: a removed role is gone", await seen(page.getByTestId("roles").getByText("No roles.")));
  await page.getByRole("button", { name: "Delete user" }).click();
  await page.getByRole("button", { name: "Yes, delete" }).click();
  await page.locator("table.users tbody tr").first().waitFor();
  check("admin: after deleting, the user search is shown", true);
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
  // Nothing may leave loopback: record every request, refuse any other.
  await context.route("**/*", (route) => {
    const url = route.request().url();
    requests.push(url);
    if (isLoopback(url)) return route.continue();
    offLoopback.push(url);
    return route.abort("blockedbyclient");
  });
  const page = context.pages()[0] || await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) pageErrors.push(message.text());
  });
  const newName = `Dave Diaz (edited ${Date.now() % 100000})`;
  try {
    await asReader(page);
    await asEditor(page, newName);
    await asAdmin(page);
  } catch (error) {
    failures.push(`aborted: ${error.message.split("\n")[0]}`);
    try { await shot(page, "zz-failure"); } catch { /* the browser may be gone */ }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  check("no request left loopback", offLoopback.length === 0, offLoopback.join(" "));
  check("no page errors or CSP violations", pageErrors.length === 0, pageErrors.join(" | "));
  const result = { ok: failures.length === 0, checks, failures, screenshots, new_name: newName,
                   new_user_email: NEW_USER_EMAIL, requests: requests.length };
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

main().catch((error) => {
  console.log(JSON.stringify({ ok: false, checks, failures: [...failures, String(error)], screenshots }));
  process.exit(1);
});
