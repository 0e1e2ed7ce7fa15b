// Small shared pieces: problem display, loading state, badges, action buttons, tabs,
// confirmations and the outcome of an action (done, held for approval, refused).

import { useCallback, useEffect, useState } from "react";

import { GatewayError } from "./api.js";

// Field errors may nest ({"app_metadata": {"plan": ["..."]}}): flatten to dotted names.
function flattenErrors(errors, prefix = "") {
  if (!errors || typeof errors !== "object") return [];
  if (Array.isArray(errors)) return [[prefix || "request", errors.map(String)]];
  return Object.entries(errors).flatMap(([name, value]) => {
    const field = prefix ? `${prefix}.${name}` : name;
    if (Array.isArray(value)) return [[field, value.map(String)]];
    if (value && typeof value === "object") return flattenErrors(value, field);
    return [[field, [String(value)]]];
  });
}

// The gateway's refusal of what the tenant's Auth0 plan does not offer (sessions and
// refresh tokens: Enterprise only).
export const isPlanRequired = (problem) => String(problem?.type || "").endsWith("plan-required");
export const PLAN_REQUIRED = "This needs an Auth0 Enterprise plan, which this tenant does not have.";

export function Problem({ error, onDismiss }) {
  if (!error) return null;
  const problem = error instanceof GatewayError
    ? error.problem
    : { title: "Something went wrong", detail: error.message || String(error) };
  const fieldErrors = flattenErrors(problem.errors);
  const planRequired = isPlanRequired(problem);
  return (
    <div className="problem" role="alert" data-testid="problem">
      <div className="problem-head">
        <strong className="problem-title">{problem.title || "Error"}</strong>
        {problem.status ? <span className="problem-status">HTTP {problem.status}</span> : null}
        {onDismiss ? (
          <button type="button" className="link dismiss" onClick={onDismiss}
                  aria-label="Dismiss">×</button>
        ) : null}
      </div>
      {planRequired ? (
        <p className="problem-plan" data-testid="plan-required"><strong>{PLAN_REQUIRED}</strong></p>
      ) : null}
      {problem.detail ? <p className="problem-detail">{problem.detail}</p> : null}
      {fieldErrors.length ? (
        <ul className="field-errors">
          {fieldErrors.map(([field, messages]) => (
            <li key={field}><code>{field}</code>: {messages.join(" ")}</li>
          ))}
        </ul>
      ) : null}
      {problem.required_permission ? (
        <p className="problem-meta">Needs the permission <code>{problem.required_permission}</code>.</p>
      ) : null}
      {problem.request_id ? (
        <p className="problem-meta">
          Request id <code className="request-id">{problem.request_id}</code>
          {" "}(quote it when asking for help)
        </p>
      ) : null}
    </div>
  );
}

export function Loading({ what = "Loading" }) {
  return <p className="muted loading">{what}…</p>;
}

export function Badge({ kind, children }) {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

// A button for a gateway action. `allowed` false and still shown ("show all
// actions"): marked, so nobody mistakes the gateway's refusal for a bug.
export function ActionButton({ allowed, children, className = "", ...props }) {
  return (
    <button type="button" className={`${className} ${allowed ? "" : "not-allowed"}`.trim()}
            title={allowed ? undefined : "/gateway/me does not list this operation for you"}
            {...props}>
      {children}{allowed ? null : <span className="not-allowed-tag"> · not allowed</span>}
    </button>
  );
}

// Ask before a write that is hard to undo: the button turns into "question? Yes / Cancel".
export function ConfirmButton({ allowed, question, confirm, onConfirm, disabled, className = "",
                                children }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <ActionButton allowed={allowed} className={className} disabled={disabled}
                    onClick={() => setAsking(true)}>{children}</ActionButton>
    );
  }
  return (
    <span className="confirm">
      {question}{" "}
      <ActionButton allowed={allowed} className="danger small" disabled={disabled}
                    onClick={() => { setAsking(false); onConfirm(); }}>{confirm}</ActionButton>{" "}
      <button type="button" className="small" onClick={() => setAsking(false)}>Cancel</button>
    </span>
  );
}

// Tabs of a screen: [{id, label, allowed}]; a tab the caller may not use is shown only
// with "show all actions" (marked, like a button).
export function Tabs({ label, tabs, current, onSelect }) {
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((tab) => (
        <button key={tab.id} type="button" role="tab" aria-selected={tab.id === current}
                className={tab.allowed ? "" : "not-allowed"}
                title={tab.allowed ? undefined : "/gateway/me does not list this operation for you"}
                onClick={() => onSelect(tab.id)}>
          {tab.label}{tab.allowed ? null : <span className="not-allowed-tag"> · not allowed</span>}
        </button>
      ))}
    </div>
  );
}

// One write at a time: `run(work, success)` shows `success` (text, or a function of the
// answer), the gateway's problem, or that the write is held for four-eyes approval.
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const run = useCallback(async (work, success) => {
    setBusy(true);
    setNotice(null);
    setError(null);
    try {
      const result = await work();
      if (result && result.approval) {
        // Held for four-eyes approval: nothing changed yet.
        setNotice({ text: "Sent for approval: another administrator must approve it. Request",
                    link: result.approval.id, href: `#/approvals/${result.approval.id}` });
        return undefined;
      }
      setNotice(typeof success === "function" ? success(result) : success);
      return result === undefined || result === null ? {} : result;
    } catch (failure) {
      setError(failure);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, notice, error, run, setNotice, dismiss: () => setError(null) };
}

// What an action did: its notice (text, or {text, link, href}) and its problem.
export function Outcome({ action }) {
  const { notice } = action;
  return (
    <>
      {notice ? (
        <div className="notice" role="status" data-testid="notice">
          {typeof notice === "string" ? notice : (
            <>{notice.text} {notice.href
              ? <a href={notice.href}><code className="ticket">{notice.link}</code></a>
              : <code className="ticket">{notice.link}</code>}</>
          )}
        </div>
      ) : null}
      <Problem error={action.error} onDismiss={action.dismiss} />
    </>
  );
}

// Auth0 answers a list as an array, or wrapped ({key: [...], total, next}) when asked for
// totals or checkpoints.
export function listOf(data, key) {
  if (Array.isArray(data)) return data;
  return (data && Array.isArray(data[key])) ? data[key] : [];
}

// Load something from the gateway; `reload` runs it again. While new deps load,
// the previous data stays (no flicker) and `loading` is true from the very render
// in which the deps changed, so nobody mistakes old data for the new answer.
export function useLoad(load, deps) {
  const run = useCallback(load, deps); // eslint-disable-line react-hooks/exhaustive-deps
  const [generation, setGeneration] = useState(0);
  const [state, setState] = useState({ data: null, error: null, run: null, generation: -1 });
  useEffect(() => {
    let live = true;
    const done = (data, error) => live && setState({ data, error, run, generation });
    run().then((data) => done(data, null), (error) => done(null, error));
    return () => { live = false; };
  }, [run, generation]);
  const loading = state.run !== run || state.generation !== generation;
  return { data: state.data, error: loading ? null : state.error, loading,
           reload: () => setGeneration((g) => g + 1) };
}

export function formatDate(value) {
  if (!value) return "–";
  const date = new Date(typeof value === "number" ? value * 1000 : value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function initials(name) {
  return (name || "?").split(/\s+/).filter(Boolean).slice(0, 2)
    .map((word) => word[0].toUpperCase()).join("");
}
