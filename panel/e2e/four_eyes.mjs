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

import { check, login, logout, run, searchAndOpenUser, shot } from "./harness.mjs";

const REASON = "Confirmed with HR: Dave left";
const ASKED_BECAUSE = "Ticket HR-42: Dave left the company";

let approvalId = null;

async function requesterStepsUpAndIsHeld(page) {
  await login(page, "carol");
  await searchAndOpenUser(page, "dave@example.com", "Dave Diaz");
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

run([requesterStepsUpAndIsHeld, approverApproves],
  () => ({ approval_id: approvalId, reason: REASON }), { failureShot: "zz-failure-four-eyes" });
