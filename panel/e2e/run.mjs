// Browser test of the admin panel: Debian's Chromium driven by playwright-core.
//
//   PANEL_URL=http://127.0.0.1:5173 node e2e/run.mjs
//
// Env as e2e/harness.mjs (PANEL_URL required, CHROMIUM, SCREENSHOT_DIR, HEADED). Needs the panel
// served with a config.json naming a running emulator and gateway (tests/panel
// starts all three). Prints one JSON line {ok, checks, failures, screenshots,
// requests} last and exits 0 only when every check passed.
//
// Scenario: alice (Support Reader) searches, sorts, pages, opens a user, sees no
// edit controls, forces a write and reads the gateway's 403; bob (Support
// Editor) renames that user, blocks and unblocks him, creates a password ticket;
// carol (User Admin) reads the audit trail, meets field errors on create, then
// creates a user, assigns and removes a role, and deletes the user.

import {
  check, finishLogin, login, logout, openLogin, problemText, requestCount, run, searchAndOpenUser,
  seen, shot,
} from "./harness.mjs";

const NEW_USER_EMAIL = `new.hire.${Date.now() % 100000}@example.com`;
const newName = `Dave Diaz (edited ${Date.now() % 100000})`;

async function asReader(page) {
  await openLogin(page);
  await page.locator(`button[value="alice"]`).waitFor();
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

  await searchAndOpenUser(page, "dave", "Dave Diaz");
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

async function asEditor(page) {
  await login(page, "bob");
  await searchAndOpenUser(page, "dave", "Dave Diaz");
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

run([asReader, asEditor, asAdmin], () => ({ new_name: newName, new_user_email: NEW_USER_EMAIL,
                                            requests: requestCount() }));
