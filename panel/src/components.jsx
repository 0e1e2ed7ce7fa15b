// Small shared pieces: problem display, loading state, badges, action buttons.

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

export function Problem({ error, onDismiss }) {
  if (!error) return null;
  const problem = error instanceof GatewayError
    ? error.problem
    : { title: "Something went wrong", detail: error.message || String(error) };
  const fieldErrors = flattenErrors(problem.errors);
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
