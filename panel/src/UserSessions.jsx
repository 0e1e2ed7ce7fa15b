// A user's sessions tab: the sessions (GET /api/v2/users/{user_id}/sessions) and refresh
// tokens (.../refresh-tokens), each revocable one by one (DELETE /api/v2/sessions/{id},
// /api/v2/refresh-tokens/{id}) or all at once (DELETE .../sessions, .../refresh-tokens).
// Auth0 offers these on Enterprise plans only; elsewhere the gateway says so.

import { useAccess } from "./access.js";
import {
  ActionButton, Badge, ConfirmButton, Loading, Outcome, Problem, formatDate, listOf, useAction,
  useLoad,
} from "./components.jsx";

const device = (item) => (
  <>{item.device?.last_user_agent || item.device?.initial_user_agent || "–"}
    {item.device?.last_ip ? <div className="muted small">{item.device.last_ip}</div> : null}</>
);

const SESSIONS = {
  title: "Sessions",
  noun: "session",
  key: "sessions",
  list: "get_sessions_for_user",
  listPath: (userId) => `/api/v2/users/${encodeURIComponent(userId)}/sessions`,
  revokeOne: "delete_session",
  onePath: (id) => `/api/v2/sessions/${encodeURIComponent(id)}`,
  revokeAll: "delete_sessions_for_user",
  columns: [
    ["Signed in", (s) => formatDate(s.authenticated_at || s.created_at)],
    ["Last active", (s) => formatDate(s.last_interacted_at || s.updated_at)],
    ["Expires", (s) => formatDate(s.expires_at)],
    ["Device", device],
    ["Login", (s) => (s.authentication?.methods || []).map((m) => m.type || m.name)
      .join(" + ") || "–"],
    ["Applications", (s) => (s.clients || []).map((c) => (
      <code key={c.client_id}>{c.client_id}</code>))],
  ],
};

const REFRESH_TOKENS = {
  title: "Refresh tokens",
  noun: "refresh token",
  key: "tokens",
  list: "get_refresh_tokens_for_user",
  listPath: (userId) => `/api/v2/users/${encodeURIComponent(userId)}/refresh-tokens`,
  revokeOne: "delete_refresh_token",
  onePath: (id) => `/api/v2/refresh-tokens/${encodeURIComponent(id)}`,
  revokeAll: "delete_refresh_tokens_for_user",
  columns: [
    ["Issued", (t) => formatDate(t.created_at)],
    ["Last used", (t) => formatDate(t.last_exchanged_at)],
    ["Expires", (t) => (t.expires_at ? formatDate(t.expires_at) : "never")],
    ["Device", device],
    ["Application", (t) => <code>{t.client_id}</code>],
    ["Kind", (t) => (
      <>{t.rotating ? <Badge kind="info">rotating</Badge> : <Badge kind="warn">non-rotating</Badge>}
        {t.session_id ? <Badge kind="info">bound to a session</Badge> : null}</>)],
  ],
};

export default function UserSessions({ api, userId, version }) {
  return (
    <>
      <Revocable kind={SESSIONS} api={api} userId={userId} version={version} />
      <Revocable kind={REFRESH_TOKENS} api={api} userId={userId} version={version} />
    </>
  );
}

function Revocable({ kind, api, userId, version }) {
  const access = useAccess();
  // Shown (and read) with "show all actions" too: the gateway's refusal says why.
  const reading = access.show(access.can(kind.list));
  const listPath = kind.listPath(userId);
  const result = useLoad(() => (reading ? api.get(listPath) : Promise.resolve(null)),
    [api, listPath, reading, version]);
  const action = useAction();
  const canRevoke = access.can(kind.revokeOne);
  const canRevokeAll = access.can(kind.revokeAll);
  const items = listOf(result.data, kind.key);
  if (!reading) return null;

  const revoke = (path, message) => action.run(() => api.send("DELETE", path), message)
    .then((answer) => answer !== undefined && result.reload());

  return (
    <article className="card wide" data-testid={kind.key}>
      <div className="card-head">
        <h2>{kind.title}</h2>
        {items.length && access.show(canRevokeAll) ? (
          <ConfirmButton allowed={canRevokeAll} className="danger small" disabled={action.busy}
                         question={`Revoke all ${items.length}${result.data?.next ? "+" : ""}?`}
                         confirm="Yes, revoke all"
                         onConfirm={() => revoke(listPath, `Every ${kind.noun} revoked.`)}>
            Revoke all {kind.title.toLowerCase()}</ConfirmButton>
        ) : null}
      </div>
      <Problem error={result.error} />
      <Outcome action={action} />
      {result.loading && !result.data ? <Loading /> : null}
      {result.data && items.length === 0 ? <p className="muted">No {kind.noun}s.</p> : null}
      {items.length ? (
        <table>
          <thead>
            <tr>{kind.columns.map(([label]) => <th key={label}>{label}</th>)}<th /></tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.id} data-testid={kind.noun.replace(" ", "-")} data-id={item.id}>
                {kind.columns.map(([label, cell]) => <td key={label}>{cell(item)}</td>)}
                <td>{access.show(canRevoke) ? (
                  <ActionButton allowed={canRevoke} className="small" disabled={action.busy}
                                onClick={() => revoke(kind.onePath(item.id),
                                  `The ${kind.noun} is revoked.`)}>Revoke</ActionButton>
                ) : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {result.data?.next ? (
        <p className="muted small">More {kind.noun}s exist than shown here.</p>
      ) : null}
    </article>
  );
}
