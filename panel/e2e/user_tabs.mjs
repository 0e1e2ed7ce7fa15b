// Browser test of a user's tabs (permissions, sessions, MFA, identities, organizations),
// the lock-out and the roles screen, against the emulator's seeded accounts.
//
//   PANEL_URL=http://127.0.0.1:5173 SCENARIO=reader-editor node e2e/user_tabs.mjs
//
// Env and output as e2e/harness.mjs; SCENARIO picks one (tests/panel/
// test_browser_user_tabs.py runs each against a fresh stack):
// - reader-editor: alice (Support Reader) reads Bob's sessions, MFA methods, identities
//   and organizations without a single write control or Lock out button; bob (Support
//   Editor) revokes one of Alice's sessions, forgets her remembered browsers and locks
//   her out (both steps done, blocked, nothing left to revoke);
// - admin: carol (User Admin) deletes Erin's push factor, regenerates Bob's recovery code
//   (shown once), assigns and removes a direct permission of Dave's, unlinks Dave's
//   Google identity, and lists the users with the Support Reader role;
// - plan: on a gateway configured for a plan without sessions (MGMT_PLAN=free), bob sees
//   no Sessions tab, reads why with "show all actions", and a lock-out blocks Alice but
//   says the revocation needs an Enterprise plan.

import {
  check, gone, login, logout, main, openTab, openUser, problemText, rows, seen, shot,
} from "./harness.mjs";

async function countIs(locator, expected) {
  for (let n = 0; n < 50; n += 1) {
    if (await locator.count() === expected) return true;
    await new Promise((done) => setTimeout(done, 200));
  }
  return false;
}

const button = (scope, name) => scope.getByRole("button", { name, exact: true });
const noButton = async (scope, name) => await scope.getByRole("button", { name }).count() === 0;

async function readerSeesEverythingAndChangesNothing(page) {
  await login(page, "alice");
  await openUser(page, "bob", "Bob Brown");
  const tabs = await page.getByRole("tab").allInnerTexts();
  check("reader: every tab her reads allow is there",
    ["Overview", "Permissions", "Sessions", "MFA", "Identities", "Organizations"]
      .every((t) => tabs.includes(t)), tabs.join(","));
  check("reader: no Lock out button", await noButton(page, /Lock out/));

  await openTab(page, "Sessions", "sessions");
  check("reader: Bob's session is listed", await seen(page.getByTestId("session")));
  check("reader: exactly one session", await rows(page, "session") === 1);
  check("reader: Bob's refresh token is listed", await seen(page.getByTestId("refresh-token")));
  check("reader: no Revoke controls", await noButton(page, /Revoke/));
  await shot(page, "20-sessions-reader");

  await openTab(page, "MFA", "mfa");
  check("reader: Bob's authenticator app is listed",
    await seen(page.locator('[data-testid="mfa-method"][data-type="totp"]')));
  check("reader: no MFA write controls",
    await noButton(page, /Delete|Regenerate|Invalidate|Remove all/));

  await openTab(page, "Identities", "identities");
  check("reader: Bob's two identities are listed", await rows(page, "identity") === 2);
  check("reader: the Google identity is one of them",
    await seen(page.locator('[data-testid="identity"][data-provider="google-oauth2"]')));
  check("reader: no Unlink control", await noButton(page, /Unlink/));

  await openTab(page, "Organizations", "organizations");
  // Without orgs:scope:all, only the organization one logged in through is shown: none.
  check("reader: is told why she sees none of Bob's organizations",
    await seen(page.getByTestId("no-organizations").filter({ hasText: "logged in through" })));
  await logout(page);
}

async function editorRevokesAndLocksOut(page) {
  await login(page, "bob");
  await openUser(page, "alice", "Alice Anders");
  await openTab(page, "Sessions", "sessions");
  await page.getByTestId("session").first().waitFor();
  check("editor: Alice's two sessions are listed", await rows(page, "session") === 2);
  check("editor: and her two refresh tokens", await rows(page, "refresh-token") === 2);
  const revoked = await page.getByTestId("session").first().getAttribute("data-id");
  await button(page.getByTestId("session").first(), "Revoke").click();
  await page.getByTestId("notice").filter({ hasText: "The session is revoked." }).waitFor();
  check("editor: a revoked session is gone",
    await countIs(page.getByTestId("session"), 1)
    && await page.locator(`[data-testid="session"][data-id="${revoked}"]`).count() === 0);

  await openTab(page, "MFA", "mfa");
  check("editor: may not regenerate recovery codes", await noButton(page, /Regenerate/));
  await button(page, "Invalidate remembered browsers").click();
  check("editor: remembered browsers are forgotten",
    await seen(page.getByTestId("notice").filter({ hasText: "Remembered browsers are forgotten" })));

  await openTab(page, "Sessions", "sessions");
  await button(page, "Lock out now").click();
  const dialog = page.getByRole("dialog");
  check("editor: a lock-out asks first",
    /Lock out alice@example.com\?/.test(await dialog.innerText()));
  await shot(page, "21-lock-out-confirm");
  await button(dialog, "Yes, lock out").click();
  const report = page.getByTestId("lock-out-report");
  await report.waitFor();
  const text = await report.innerText();
  check("editor: the report says locked out", /Locked out/.test(text) && !/not everything/.test(text), text);
  const outcomes = await report.getByTestId("lock-out-step").evaluateAll(
    (items) => items.map((item) => item.dataset.outcome));
  check("editor: both steps are done", outcomes.join() === "done,done", outcomes.join());
  check("editor: each step is named", /Block the account/.test(text)
    && /Revoke every session and refresh token/.test(text), text);
  check("editor: the user shows as blocked",
    await seen(page.locator(".user-head .badge-danger", { hasText: "blocked" })));
  check("editor: no session is left", await seen(page.getByText("No sessions.")));
  check("editor: no refresh token is left", await seen(page.getByText("No refresh tokens.")));
  await shot(page, "22-locked-out");
  await logout(page);
}

async function adminManagesMfaPermissionsAndIdentities(page) {
  await login(page, "carol");
  await openUser(page, "erin", "Erin Evans");
  await openTab(page, "MFA", "mfa");
  const push = page.locator('[data-testid="mfa-method"][data-type="push"]');
  await push.waitFor();
  check("admin: Erin's push factor and recovery code are listed",
    await rows(page, "mfa-method") === 2);
  await shot(page, "23-mfa-methods");
  await button(push, "Delete").click();
  check("admin: the deleted push factor is gone", await gone(push));
  await openTab(page, "Organizations", "organizations");
  check("admin: Erin's organization is listed",
    await seen(page.getByTestId("organization").filter({ hasText: "Acme Corp" })));

  await openUser(page, "bob", "Bob Brown");
  await openTab(page, "MFA", "mfa");
  await button(page, "Regenerate recovery code").click();
  const code = page.getByTestId("recovery-code");
  await code.waitFor();
  const shown = await code.locator("code").innerText();
  check("admin: the new recovery code is shown", /^[A-Z0-9]{24}$/.test(shown), shown);
  await button(code, "Done, hide it").click();
  check("admin: and hidden again for good", await gone(code));

  await openUser(page, "dave", "Dave Diaz");
  await openTab(page, "Permissions", "permissions");
  check("admin: Dave has no permissions yet", await seen(page.getByText("No permissions.")));
  await page.getByRole("textbox", { name: "Permission name" }).fill("users:read");
  await button(page.getByRole("form", { name: "Assign a permission" }), "Assign").click();
  const granted = page.locator('[data-testid="permission"][data-permission="users:read"]');
  check("admin: an assigned permission is listed as direct",
    await seen(granted.filter({ hasText: "direct" })));
  await shot(page, "24-direct-permission");
  await button(granted, "Remove").click();
  check("admin: a removed permission is gone", await seen(page.getByText("No permissions.")));

  await openTab(page, "Identities", "identities");
  const google = page.locator('[data-testid="identity"][data-provider="google-oauth2"]');
  await google.waitFor();
  await button(google, "Unlink").click();
  await button(google, "Yes, unlink").click();
  check("admin: the unlinked identity is gone", await gone(google));
  check("admin: the unlink names the new standalone user",
    await seen(page.getByTestId("notice").filter({ hasText: "google-oauth2|" })));
  check("admin: the primary identity stays", await rows(page, "identity") === 1);

  await page.getByRole("link", { name: "Roles", exact: true }).click();
  await page.getByTestId("role-list").getByRole("link", { name: "Support Reader" }).click();
  await page.getByTestId("role-user").first().waitFor();
  check("admin: the Support Reader role lists Alice and Erin",
    await seen(page.getByTestId("role-user").filter({ hasText: "Alice Anders" }))
    && await seen(page.getByTestId("role-user").filter({ hasText: "Erin Evans" })));
  await shot(page, "25-role-users");
  await logout(page);
}

async function planWithoutSessions(page) {
  await login(page, "bob");
  await openUser(page, "alice", "Alice Anders");
  await page.getByRole("tab", { name: "MFA" }).waitFor();
  check("plan: no Sessions tab when /gateway/me does not list sessions",
    await page.getByRole("tab", { name: /Sessions/ }).count() === 0);
  await page.getByTestId("show-all").check();
  await page.getByRole("tab", { name: /Sessions/ }).click();
  const text = await problemText(page);
  check("plan: the gateway's refusal says an Enterprise plan is needed",
    /needs an Auth0 Enterprise plan/.test(text) && /HTTP 403/.test(text), text);
  await shot(page, "26-plan-required");
  await page.getByTestId("show-all").uncheck();

  await button(page, "Lock out now").click();
  await button(page.getByRole("dialog"), "Yes, lock out").click();
  const report = page.getByTestId("lock-out-report");
  await report.waitFor();
  const said = await report.innerText();
  const outcomes = await report.getByTestId("lock-out-step").evaluateAll(
    (items) => items.map((item) => item.dataset.outcome));
  check("plan: the block is done, the revocation not offered",
    outcomes.join() === "done,not-offered", outcomes.join());
  check("plan: the report says what is missing",
    /not everything was revoked/.test(said) && /needs an Auth0 Enterprise plan/.test(said), said);
  check("plan: the user shows as blocked",
    await seen(page.locator(".user-head .badge-danger", { hasText: "blocked" })));
  await shot(page, "27-lock-out-incomplete");
  await logout(page);
}

main({
  "reader-editor": [readerSeesEverythingAndChangesNothing, editorRevokesAndLocksOut],
  admin: [adminManagesMfaPermissionsAndIdentities],
  plan: [planWithoutSessions],
});
