// Four-eyes approvals: GET /gateway/approvals (pending, mine, decided) and
// POST /gateway/approvals/{id}/approve|reject with a reason. Approvers (approvals:decide)
// see and decide everyone's requests but their own; requesters follow theirs.

import { useAuth0 } from "@auth0/auth0-react";
import { Fragment, useEffect, useState } from "react";

import { useAccess } from "./access.js";
import { Badge, Loading, Problem, formatDate } from "./components.jsx";
import { href } from "./router.js";

const STATE_KIND = { pending: "warn", executing: "info", executed: "ok", failed: "danger",
                     rejected: "danger", expired: "muted", withdrawn: "muted" };
const VIEWS = [
  { id: "pending", label: "Pending", query: { state: "pending" } },
  { id: "mine", label: "Mine", query: { mine: "true" } },
  { id: "decided", label: "Decided", query: { state: "decided" } },
];

export default function Approvals({ api, focus }) {
  const access = useAccess();
  const approver = access.has("approvals:decide");
  const [view, setView] = useState(approver ? "pending" : "mine");
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    setError(null);
    const query = VIEWS.find((v) => v.id === view).query;
    api.get("/gateway/approvals", { ...query, limit: 50 }).then(
      (page) => { if (live) setItems(page.approvals); },
      (failure) => { if (live) { setError(failure); setItems([]); } },
    );
    return () => { live = false; };
  }, [api, view, reload]);

  return (
    <section>
      <h1>Approvals</h1>
      <p className="muted small">Dangerous writes wait here for a second administrator
        (four-eyes). Nobody approves their own request.</p>
      <div className="tabs" role="group" aria-label="Approval views">
        {VIEWS.map((v) => (
          <button key={v.id} type="button" aria-pressed={view === v.id}
                  onClick={() => setView(v.id)}>{v.label}</button>
        ))}
      </div>
      <Problem error={error} />
      {items === null ? <Loading what="Reading approval requests" /> : null}
      {items && !items.length && !error ? <p className="muted">No requests.</p> : null}
      {(items || []).map((item) => (
        <ApprovalCard key={item.id} api={api} item={item} approver={approver}
                      focused={focus === item.id} onDecided={() => setReload((n) => n + 1)} />
      ))}
    </section>
  );
}

function ApprovalCard({ api, item, approver, focused, onDecided }) {
  const { user } = useAuth0();
  const access = useAccess();
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const mine = access.me?.subject === item.requester.sub;
  const canDecide = approver && !mine && item.state === "pending";

  async function decide(verdict) {
    setBusy(true);
    setError(null);
    try {
      await api.send("POST", `/gateway/approvals/${item.id}/${verdict}`,
        reason ? { reason } : undefined);
      onDecided();
    } catch (failure) {
      setError(failure);
      onDecided();
    } finally {
      setBusy(false);
    }
  }

  const body = item.body ? JSON.stringify(item.body) : "—";
  return (
    <article className={`card approval${focused ? " focused" : ""}`} data-testid="approval"
             data-approval-id={item.id} data-state={item.state}>
      <header>
        <strong>{item.operation.summary}</strong>{" "}
        <Badge kind={STATE_KIND[item.state] || "info"}>{item.state}</Badge>
        {mine ? <Badge kind="info">your request</Badge> : null}
      </header>
      <dl>
        <dt>Request</dt><dd><code>{item.operation.method} {item.operation.path}</code></dd>
        <dt>Target</dt><dd>{item.target
          ? <a href={href(["users", item.target])}><code>{item.target}</code></a> : "—"}</dd>
        <dt>Body</dt><dd><code>{body}</code></dd>
        <dt>Requested by</dt><dd><code>{item.requester.sub}</code>
          {mine && user?.name ? ` (${user.name})` : ""}</dd>
        <dt>Reason</dt><dd>{item.reason || "—"}</dd>
        <dt>Asked</dt><dd>{formatDate(item.created_at)}</dd>
        <dt>Expires</dt><dd>{formatDate(item.expires_at)}</dd>
        <dt>Approvals</dt><dd>{item.decisions.filter((d) => d.decision === "approve").length}
          {" "}of {item.approvals_required}</dd>
        {item.decisions.map((d) => (
          <Fragment key={d.by}>
            <dt>{d.decision === "approve" ? "Approved by" : "Rejected by"}</dt>
            <dd><code>{d.by}</code>{d.reason ? ` — “${d.reason}”` : ""}</dd>
          </Fragment>
        ))}
        {item.outcome ? (<><dt>Outcome</dt><dd data-testid="outcome">HTTP {item.outcome.status}
          {item.outcome.detail ? ` — ${item.outcome.detail}` : ""}</dd></>) : null}
      </dl>
      <Problem error={error} onDismiss={() => setError(null)} />
      {canDecide ? (
        <div>
          <textarea aria-label="Reason for your decision" placeholder="Reason (recorded)"
                    value={reason} onChange={(event) => setReason(event.target.value)} />
          <div className="actions">
            <button type="button" className="primary" disabled={busy}
                    onClick={() => decide("approve")}>Approve</button>
            <button type="button" className="danger" disabled={busy}
                    onClick={() => decide("reject")}>Reject</button>
          </div>
        </div>
      ) : null}
      {mine && item.state === "pending" ? (
        <div className="actions">
          <span className="muted small">Another approver must decide your own request.</span>
          <button type="button" disabled={busy} onClick={() => decide("withdraw")}>
            Withdraw</button>
        </div>
      ) : null}
    </article>
  );
}
