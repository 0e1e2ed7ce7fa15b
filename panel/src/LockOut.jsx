// "Lock out now": POST /gateway/users/{id}/lock-out blocks the user and revokes every
// session and refresh token in one call (operation `lock_out`). After a confirmation,
// each step's outcome is shown as the gateway answered it ({user_id, complete, steps}),
// also when the block itself failed (a 502 problem that carries the steps).

import { useState } from "react";

import { useAccess } from "./access.js";
import { ActionButton, Badge, PLAN_REQUIRED, Problem } from "./components.jsx";

const STEP_LABELS = {
  block: "Block the account",
  revoke_access: "Revoke every session and refresh token",
};
const OUTCOME_KIND = { done: "ok", "not-offered": "warn", failed: "danger" };

export default function LockOut({ api, user, onDone }) {
  const access = useAccess();
  const allowed = access.can("lock_out");
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  if (!access.show(allowed)) return null;

  async function lockOut() {
    setBusy(true);
    setReport(null);
    setError(null);
    try {
      setReport(await api.send("POST",
        `/gateway/users/${encodeURIComponent(user.user_id)}/lock-out`));
    } catch (failure) {
      setError(failure);
      const steps = failure.problem?.steps;
      if (Array.isArray(steps)) setReport({ complete: false, steps, failed: true });
    } finally {
      setBusy(false);
      setAsking(false);
      onDone();
    }
  }

  const who = user.email || user.name || user.user_id;
  return (
    <div className="lock-out">
      <div className="lock-out-bar">
        <ActionButton allowed={allowed} className="danger solid" disabled={busy}
                      onClick={() => setAsking(true)}>Lock out now</ActionButton>
        <span className="muted small">Blocks the account and revokes every session and
          refresh token at once (a stolen laptop, a leaked password).</span>
      </div>
      {asking ? (
        <div className="overlay">
          <div className="card modal" role="dialog" aria-modal="true"
               aria-labelledby="lock-out-title" data-testid="lock-out-dialog">
            <h2 id="lock-out-title">Lock out {who}?</h2>
            <p>The account is blocked, and every session and refresh token is revoked: the
              user is signed out everywhere and cannot sign in again until unblocked.</p>
            <div className="actions">
              <ActionButton allowed={allowed} className="danger solid" disabled={busy}
                            onClick={lockOut}>{busy ? "Locking out…" : "Yes, lock out"}</ActionButton>
              <button type="button" disabled={busy} onClick={() => setAsking(false)}>Cancel</button>
            </div>
          </div>
        </div>
      ) : null}
      <Problem error={error} onDismiss={() => setError(null)} />
      {report ? <Steps report={report} onDismiss={() => setReport(null)} /> : null}
    </div>
  );
}

function Steps({ report, onDismiss }) {
  const title = report.failed ? "Lock-out failed"
    : report.complete ? "Locked out" : "Locked out, but not everything was revoked";
  return (
    <div className={`card lock-out-report ${report.complete ? "complete" : "incomplete"}`}
         role="status" data-testid="lock-out-report">
      <div className="problem-head">
        <strong>{title}</strong>
        <button type="button" className="link dismiss" onClick={onDismiss}
                aria-label="Dismiss">×</button>
      </div>
      <ol className="steps">
        {report.steps.map((step) => (
          <li key={step.step} data-testid="lock-out-step" data-outcome={step.outcome}>
            <span>{STEP_LABELS[step.step] || step.step}</span>{" "}
            <Badge kind={OUTCOME_KIND[step.outcome] || "info"}>{step.outcome}</Badge>
            {step.status ? <span className="muted small">HTTP {step.status}</span> : null}
            {step.outcome === "not-offered" ? <p className="small">{PLAN_REQUIRED}</p> : null}
            {step.detail ? <p className="muted small">{step.detail}</p> : null}
          </li>
        ))}
      </ol>
    </div>
  );
}
