// Browser test of the Organizations screen: members, member roles and invitations.
//
//   PANEL_URL=http://127.0.0.1:5173 SCENARIO=org-admin ERIN_ID=... node e2e/organizations.mjs
//
// Env and output as e2e/harness.mjs, plus ERIN_ID and DAVE_ID (user ids to type in);
// SCENARIO picks one (tests/panel/test_browser_organizations.py runs each against a
// fresh stack):
// - org-admin: "olga", an Org Admin who logged in through Acme (the test gives a member
//   of Acme that role), manages her own organization only: removes Erin and adds her
//   back, invites someone and revokes the invitation; Erin's page shows her no tab she
//   may not read and no Lock out button;
// - scope-all: carol (User Admin, orgs:scope:all) opens Acme from Erin's Organizations
//   tab, adds Dave, assigns and removes an organization role of Erin's, removes Dave;
//   then erin (Support Reader, logged in through Acme) reads her organization without a
//   single write control.

import {
  check, gone, login, logout, main, openTab, openUser, rows, seen, shot,
} from "./harness.mjs";

const ERIN = process.env.ERIN_ID;
const DAVE = process.env.DAVE_ID;
const INVITEE = "new.person@example.com";

const button = (scope, name) => scope.getByRole("button", { name, exact: true });
const member = (page, userId) => page.locator(`[data-testid="member"][data-user-id="${userId}"]`);

async function openOrganizations(page) {
  await page.getByRole("link", { name: "Organizations", exact: true }).click();
  await page.getByTestId("organization-id").waitFor();
  await page.getByTestId("member").first().waitFor();
}

async function orgAdminManagesHerOrganization(page) {
  await login(page, "olga");
  check("org admin: the Roles screen (roles:read, to pick member roles)",
    await seen(page.getByRole("link", { name: "Roles", exact: true })));
  await openOrganizations(page);
  check("org admin: her own organization opens",
    await seen(page.getByTestId("organization-id").filter({ hasText: "logged in through" })));
  check("org admin: no organization picker without orgs:scope:all",
    await page.getByRole("textbox", { name: "Organization id" }).count() === 0);
  check("org admin: Erin is a member", await seen(member(page, ERIN)));
  await shot(page, "30-organization-members");

  await button(member(page, ERIN), "Remove").click();
  await button(member(page, ERIN), "Yes, remove").click();
  check("org admin: a removed member is gone", await gone(member(page, ERIN)));
  await page.getByRole("textbox", { name: "User id of the new member" }).fill(ERIN);
  await button(page, "Add member").click();
  check("org admin: an added member is listed", await seen(member(page, ERIN)));

  const invitations = page.getByTestId("invitations");
  check("org admin: the seeded invitation is listed",
    await seen(invitations.getByTestId("invitation")));
  await invitations.getByRole("textbox", { name: "Email of the invitee" }).fill(INVITEE);
  check("org admin: the inviter is filled in with her name",
    (await invitations.getByRole("textbox", { name: /Invited by/ }).inputValue()).length > 0);
  await button(invitations, "Send invitation").click();
  const invitation = page.locator(`[data-testid="invitation"][data-email="${INVITEE}"]`);
  check("org admin: a new invitation is listed", await seen(invitation));
  check("org admin: with its link", /invitation=/.test(await invitation.innerText()));
  await shot(page, "31-organization-invitations");
  await button(invitation, "Revoke").click();
  await button(invitation, "Yes, revoke").click();
  check("org admin: a revoked invitation is gone", await gone(invitation));

  await member(page, ERIN).getByRole("link").click();
  await page.getByTestId("user-name").waitFor();
  const tabs = await page.getByRole("tab").allInnerTexts();
  check("org admin: a member's page shows only the tabs her reads allow",
    tabs.join() === "Overview,Identities,Organizations", tabs.join());
  check("org admin: no Lock out button",
    await page.getByRole("button", { name: /Lock out/ }).count() === 0);
  await openTab(page, "Organizations", "organizations");
  check("org admin: Erin's organization is her own",
    await seen(page.getByTestId("organization").filter({ hasText: "Acme Corp" })));
  await shot(page, "32-member-tabs-org-admin");
  await logout(page);
}

async function adminManagesAnyOrganization(page) {
  await login(page, "carol");
  await openUser(page, "erin", "Erin Evans");
  await openTab(page, "Organizations", "organizations");
  await page.getByTestId("organization").getByRole("link", { name: "Acme Corp" }).click();
  await page.getByTestId("member").first().waitFor();
  const picked = await page.getByRole("textbox", { name: "Organization id" }).inputValue();
  check("admin: the organization opens from Erin's tab, its id in the picker",
    /^org_/.test(picked), picked);

  await page.getByRole("textbox", { name: "User id of the new member" }).fill(DAVE);
  await button(page, "Add member").click();
  check("admin: Dave is added", await seen(member(page, DAVE).filter({ hasText: "Dave Diaz" })));

  await button(member(page, ERIN), "Roles").click();
  const roles = page.getByTestId("member-roles");
  check("admin: Erin's organization role is listed",
    await seen(roles.getByTestId("member-role").filter({ hasText: "Support Reader" })));
  await roles.getByRole("combobox", { name: "Organization role" })
    .selectOption({ label: "Support Editor" });
  await button(roles, "Assign").click();
  const editor = roles.getByTestId("member-role").filter({ hasText: "Support Editor" });
  check("admin: an assigned organization role is listed", await seen(editor));
  await shot(page, "33-member-roles");
  await button(editor, "Remove").click();
  check("admin: a removed organization role is gone", await gone(editor));
  check("admin: the other role stays", await rows(page, "member-role") === 1);

  await button(member(page, DAVE), "Remove").click();
  await button(member(page, DAVE), "Yes, remove").click();
  check("admin: Dave is removed again", await gone(member(page, DAVE)));
  await logout(page);

  await login(page, "erin");
  await openOrganizations(page);
  check("reader: her organization opens",
    await seen(page.getByTestId("organization-id").filter({ hasText: "logged in through" })));
  check("reader: no write controls on the organization",
    await page.getByRole("button", { name: /Remove|Add member|Send invitation|Revoke/ }).count() === 0);
  check("reader: the invitations are listed", await seen(page.getByTestId("invitation")));
  await shot(page, "34-organization-reader");
  await logout(page);
}

main({
  "org-admin": [orgAdminManagesHerOrganization],
  "scope-all": [adminManagesAnyOrganization],
});
