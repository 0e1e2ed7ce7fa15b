// The audit trail: GET /gateway/audit (permission audit:read), newest first,
// filtered by actor, target, operation and outcome, paged with next_cursor.

import { useEffect, useState } from "react";

import { Badge, Loading, Problem, formatDate } from "./components.jsx";
import { href } from "./router.js";

const OUTCOME_KIND = { allowed: "ok", denied: "danger", failed: "warn", held: "info" };
const EMPTY = { actor: "", target: "", operation: "", outcome: "" };

export default function AuditTrail({ api }) {
  const [draft, setDraft] = useState(EMPTY);
  const [filters, setFilters] = useState(EMPTY);
  const [events, setEvents] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);

  async function load(from, append) {
    setLoading(true);
    setError(null);
    try {
      const page = await api.get("/gateway/audit", { ...filters, limit: 25, cursor: from });
      setEvents((old) => (append ? [...old, ...page.events] : page.events));
      setCursor(page.next_cursor);
    } catch (failure) {
      setError(failure);
      if (!append) setEvents([]);
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => { load(null, false); }, [api, filters]); // eslint-disable-line react-hooks/exhaustive-deps

  const set = (name) => (event) => setDraft({ ...draft, [name]: event.target.value });
  return (
    <section>
      <h1>Audit trail</h1>
      <form className="filters" onSubmit={(event) => { event.preventDefault(); setFilters(draft); }}>
        <input placeholder="Actor (sub)" aria-label="Actor" value={draft.actor} onChange={set("actor")} />
        <input placeholder="Target user id" aria-label="Target" value={draft.target} onChange={set("target")} />
        <input placeholder="Operation id" aria-label="Operation" value={draft.operation}
               onChange={set("operation")} />
        <select aria-label="Outcome" value={draft.outcome} onChange={set("outcome")}>
          <option value="">Any outcome</option>
          <option value="allowed">allowed</option>
          <option value="denied">denied</option>
          <option value="failed">failed</option>
          <option value="held">held (waiting for approval)</option>
        </select>
        <button type="submit" className="primary">Filter</button>
      </form>
      <Problem error={error} />
      {loading && events.length === 0 ? <Loading what="Reading the audit trail" /> : null}
      {!loading && !error && events.length === 0 ? <p className="muted">No events.</p> : null}
      {events.length ? (
        <table className="audit">
          <thead>
            <tr><th>Time</th><th>Actor</th><th>Operation</th><th>Target</th><th>Outcome</th>
              <th>Fields</th><th>Request id</th></tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr key={event.id}>
                <td>{formatDate(event.time || event.ts)}</td>
                <td><code>{event.actor?.sub}</code></td>
                <td><code>{event.operation}</code></td>
                <td>{event.target
                  ? <a href={href(["users", event.target])}><code>{event.target}</code></a> : "–"}</td>
                <td>
                  <Badge kind={OUTCOME_KIND[event.outcome] || "info"}>{event.outcome} {event.status}</Badge>
                  {event.reason ? <div className="muted small">{event.reason}</div> : null}
                </td>
                <td>{(event.fields || []).join(", ") || "–"}</td>
                <td><code className="small">{event.request_id}</code></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {cursor ? (
        <p><button type="button" disabled={loading} onClick={() => load(cursor, true)}>
          Older events</button></p>
      ) : null}
    </section>
  );
}
