// One user: profile, metadata, roles, brute-force blocks and recent logs, the actions
// /gateway/me allows (edit, block/unblock, password ticket, verification email,
// delete, lock out), and one tab per part of the account that has its own operations
// (permissions, sessions, MFA, identities, organizations), each shown only when the
// caller may read it.

import { Suspense, lazy, useState } from "react";

import { userPath } from "./api.js";
import { may, useAccess } from "./access.js";
import {
  ActionButton, Badge, Loading, Outcome, Problem, Tabs, formatDate, initials, useAction, useLoad,
} from "./components.jsx";
import EditProfile from "./EditProfile.jsx";
import LockOut from "./LockOut.jsx";
import { href, navigate } from "./router.js";

// The tabs beyond the overview load when first opened (a chunk each).
const UserIdentities = lazy(() => import("./UserIdentities.jsx"));
const UserMfa = lazy(() => import("./UserMfa.jsx"));
const UserOrganizations = lazy(() => import("./UserOrganizations.jsx"));
const UserPermissions = lazy(() => import("./UserPermissions.jsx"));
const UserSessions = lazy(() => import("./UserSessions.jsx"));

const PROFILE_ROWS = [
  ["user_id", "User id"],
  ["email", "Email"],
  ["email_verified", "Email verified"],
  ["username", "Username"],
  ["nickname", "Nickname"],
  ["given_name", "Given name"],
  ["family_name", "Family name"],
  ["phone_number", "Phone"],
  ["created_at", "Created"],
  ["updated_at", "Updated"],
  ["last_login", "Last login"],
  ["last_ip", "Last IP"],
  ["logins_count", "Logins"],
  ["multifactor", "MFA"],
];

// Each tab with the operation(s) that let the caller read it (operation ids).
const TABS = [
  { id: "overview", label: "Overview", reads: [] },
  { id: "permissions", label: "Permissions", reads: ["get_permissions"] },
  { id: "sessions", label: "Sessions",
    reads: ["get_sessions_for_user", "get_refresh_tokens_for_user"] },
  { id: "mfa", label: "MFA", reads: ["get_authentication-methods"] },
  { id: "identities", label: "Identities", reads: [] },
  { id: "organizations", label: "Organizations", reads: ["get_user_organizations"] },
];

function show(name, value) {
  if (value === undefined || value === null || value === "") return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.join(", ") || "–";
  if (/_at$|last_login/.test(name)) return formatDate(value);
  return String(value);
}

export default function UserDetail({ api, userId, tab, audience }) {
  const access = useAccess();
  const path = userPath(userId);
  const user = useLoad(() => api.get(path), [api, path]);
  const [editing, setEditing] = useState(false);
  const action = useAction();
  const { busy, run: act, setNotice } = action;
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [reason, setReason] = useState("");
  // Bumped after a lock-out, so that the open tab reads its lists again.
  const [version, setVersion] = useState(0);

  if (user.loading && !user.data) return <Loading what="Loading user" />;
  if (user.error) {
    return (
      <section>
        <p><a href="#/users">← Users</a></p>
        <Problem error={user.error} />
      </section>
    );
  }
  const u = user.data;
  // PATCH is listed when the caller may change some field; each field has its own
  // permission (blocked: users:block; profile: users:update; metadata: their own).
  const canPatch = may(access, "updateUser");
  const canEdit = canPatch && ["users:update", "users:update_metadata",
    "users:update_app_metadata"].some((p) => access.has(p));
  const canBlock = canPatch && access.has("users:block");
  const canTicket = may(access, "passwordTicket");
  const canVerify = may(access, "verificationEmail");
  const canDelete = may(access, "deleteUser");
  const tabs = TABS.map((t) => ({ ...t, allowed: t.reads.length === 0
    || t.reads.some((operationId) => access.can(operationId)) }))
    .filter((t) => access.show(t.allowed));
  const current = tabs.some((t) => t.id === tab) ? tab : "overview";

  const setBlocked = (blocked) => act(
    () => api.send("PATCH", path, { blocked }),
    blocked ? "User blocked." : "User unblocked.",
  ).then((result) => result && user.reload());

  return (
    <section className="detail">
      <p><a href="#/users">← Users</a></p>
      <header className="user-head">
        <span className="avatar large" aria-hidden="true">{initials(u.name || u.email)}</span>
        <div>
          <h1 data-testid="user-name">{u.name || u.user_id}</h1>
          <p className="muted">{u.email} · <code>{u.user_id}</code></p>
          <p>
            {u.blocked ? <Badge kind="danger">blocked</Badge> : <Badge kind="ok">active</Badge>}
            {u.email_verified ? <Badge kind="ok">email verified</Badge>
              : <Badge kind="warn">email not verified</Badge>}
            {u.app_metadata?.department ? <Badge kind="info">{u.app_metadata.department}</Badge> : null}
          </p>
        </div>
      </header>

      <div className="actions" aria-label="Actions">
        {access.show(canEdit) ? (
          <ActionButton allowed={canEdit} disabled={busy}
                        onClick={() => { setEditing(true); setNotice(null); }}>
            Edit profile
          </ActionButton>
        ) : null}
        {access.show(canBlock) ? (
          <ActionButton allowed={canBlock} disabled={busy}
                        className={u.blocked ? "" : "danger"}
                        onClick={() => setBlocked(!u.blocked)}>
            {u.blocked ? "Unblock" : "Block"}
          </ActionButton>
        ) : null}
        {access.show(canTicket) ? (
          <ActionButton allowed={canTicket} disabled={busy} onClick={() => act(
            () => api.send("POST", "/api/v2/tickets/password-change", { user_id: u.user_id }),
            (result) => ({ text: "Password-change ticket created. Send this link to the user:",
                           link: result?.ticket }),
          )}>Reset password</ActionButton>
        ) : null}
        {access.show(canVerify) ? (
          <ActionButton allowed={canVerify} disabled={busy} onClick={() => act(
            () => api.send("POST", "/api/v2/jobs/verification-email", { user_id: u.user_id }),
            (result) => `Verification email queued (job ${result?.id || "?"}).`,
          )}>Resend verification email</ActionButton>
        ) : null}
        {access.show(canDelete) ? (
          confirmDelete ? (
            <span className="confirm">
              Delete {u.email || u.user_id} for good?{" "}
              <input aria-label="Reason (shown to approvers)" placeholder="Reason (for approvers)"
                     value={reason} onChange={(event) => setReason(event.target.value)} />{" "}
              <ActionButton allowed={canDelete} className="danger" disabled={busy} onClick={() => act(
                () => api.send("DELETE", path, undefined,
                  reason.trim() ? { "X-Approval-Reason": reason.trim() } : undefined),
                "User deleted.",
              ).then((result) => {
                setConfirmDelete(false);
                if (result !== undefined) navigate(["users"]);
              })}>Yes, delete</ActionButton>{" "}
              <button type="button" onClick={() => setConfirmDelete(false)}>Cancel</button>
            </span>
          ) : (
            <ActionButton allowed={canDelete} className="danger" disabled={busy}
                          onClick={() => setConfirmDelete(true)}>Delete user</ActionButton>
          )
        ) : null}
        {!canEdit && !canBlock && !canTicket && !canVerify && !canDelete
          && !access.can("lock_out") ? (
          <span className="muted" data-testid="read-only">Read-only: your role may not change users.</span>
        ) : null}
      </div>

      <LockOut api={api} user={u} onDone={() => { user.reload(); setVersion((n) => n + 1); }} />
      <Outcome action={action} />

      {editing ? (
        <EditProfile api={api} user={u} onCancel={() => setEditing(false)}
                     onSaved={() => { setEditing(false); setNotice("Profile saved."); user.reload(); }} />
      ) : null}

      <Tabs label="Parts of the account" tabs={tabs} current={current}
            onSelect={(id) => navigate(["users", userId], id === "overview" ? {} : { tab: id })} />
      {current === "overview" ? <Overview api={api} user={u} /> : null}
      <Suspense fallback={<Loading />}>
        {current === "permissions" ? (
          <UserPermissions api={api} userId={u.user_id} audience={audience} />
        ) : null}
        {current === "sessions" ? <UserSessions api={api} userId={u.user_id} version={version} /> : null}
        {current === "mfa" ? <UserMfa api={api} userId={u.user_id} onChanged={user.reload} /> : null}
        {current === "identities" ? (
          <UserIdentities api={api} user={u} onChanged={user.reload} />
        ) : null}
        {current === "organizations" ? <UserOrganizations api={api} userId={u.user_id} /> : null}
      </Suspense>
    </section>
  );
}

function Overview({ api, user: u }) {
  return (
    <>
      <div className="grid">
        <article className="card">
          <h2>Profile</h2>
          <dl className="profile">
            {PROFILE_ROWS.map(([name, label]) => (
              <div key={name}><dt>{label}</dt><dd>{show(name, u[name])}</dd></div>
            ))}
            <div><dt>Connections</dt>
              <dd>{(u.identities || []).map((i) => i.connection).join(", ") || "–"}</dd></div>
          </dl>
        </article>
        <article className="card">
          <h2>Metadata</h2>
          <h3>user_metadata</h3>
          <pre className="json">{JSON.stringify(u.user_metadata || {}, null, 2)}</pre>
          <h3>app_metadata</h3>
          <pre className="json">{JSON.stringify(u.app_metadata || {}, null, 2)}</pre>
        </article>
        <Roles api={api} userId={u.user_id} />
        <Blocks api={api} userId={u.user_id} />
      </div>
      <Logs api={api} userId={u.user_id} />
    </>
  );
}

function Roles({ api, userId }) {
  const access = useAccess();
  const path = `${userPath(userId)}/roles`;
  const roles = useLoad(() => (may(access, "getRoles") ? api.get(path) : Promise.resolve(null)),
    [api, path, access]);
  const canAssign = may(access, "assignRoles") && may(access, "listRoles");
  const canRemove = may(access, "removeRoles");
  const allRoles = useLoad(() => (access.show(canAssign) && may(access, "listRoles")
    ? api.get("/api/v2/roles") : Promise.resolve([])), [api, access, canAssign]);
  const [choice, setChoice] = useState("");
  const [error, setError] = useState(null);

  async function change(method, roleId) {
    setError(null);
    try {
      await api.send(method, path, { roles: [roleId] });
      setChoice("");
      roles.reload();
    } catch (failure) {
      setError(failure);
    }
  }

  if (!may(access, "getRoles")) return null;
  const held = roles.data || [];
  const assignable = (allRoles.data || []).filter((r) => !held.some((h) => h.id === r.id));
  return (
    <article className="card" data-testid="roles">
      <h2>Roles</h2>
      <Problem error={roles.error || error} onDismiss={error ? () => setError(null) : undefined} />
      {roles.loading && !roles.data ? <Loading /> : null}
      {roles.data && held.length === 0 ? <p className="muted">No roles.</p> : null}
      <ul className="plain">
        {held.map((role) => (
          <li key={role.id}>
            <strong>{access.can("get_role_user")
              ? <a href={href(["roles", role.id])}>{role.name}</a> : role.name}</strong>{" "}
            <span className="muted">{role.description}</span>
            {access.show(canRemove) ? (
              <> <ActionButton allowed={canRemove} className="small"
                               onClick={() => change("DELETE", role.id)}>Remove</ActionButton></>
            ) : null}
          </li>
        ))}
      </ul>
      {access.show(canAssign) ? (
        <form className="inline-form" onSubmit={(event) => {
          event.preventDefault();
          if (choice) change("POST", choice);
        }}>
          <select value={choice} aria-label="Role to assign"
                  onChange={(event) => setChoice(event.target.value)}>
            <option value="">Choose a role…</option>
            {assignable.map((role) => <option key={role.id} value={role.id}>{role.name}</option>)}
          </select>{" "}
          <ActionButton allowed={canAssign} type="submit" className="small">Assign</ActionButton>
        </form>
      ) : null}
    </article>
  );
}

function Blocks({ api, userId }) {
  const access = useAccess();
  const path = `/api/v2/user-blocks/${encodeURIComponent(userId)}`;
  const result = useLoad(() => (may(access, "getBlocks") ? api.get(path) : Promise.resolve(null)),
    [api, path, access]);
  const [error, setError] = useState(null);
  const canClear = may(access, "clearBlocks");
  const blocks = result.data?.blocked_for || [];
  if (!may(access, "getBlocks") || (!result.error && blocks.length === 0)) return null;
  return (
    <article className="card">
      <h2>Brute-force blocks</h2>
      <Problem error={result.error || error} />
      <ul className="plain">
        {blocks.map((b, i) => (
          <li key={i}>{b.identifier} from <code>{b.ip}</code>
            {b.connection ? <span className="muted"> ({b.connection})</span> : null}</li>
        ))}
      </ul>
      {access.show(canClear) ? (
        <ActionButton allowed={canClear} className="small" onClick={() => api.send("DELETE", path)
          .then(() => result.reload(), setError)}>Clear blocks</ActionButton>
      ) : null}
    </article>
  );
}

function Logs({ api, userId }) {
  const access = useAccess();
  const path = `${userPath(userId)}/logs`;
  const result = useLoad(() => (may(access, "getLogs")
    ? api.get(path, { per_page: 10, page: 0, sort: "date:-1" }) : Promise.resolve(null)),
  [api, path, access]);
  if (!may(access, "getLogs")) return null;
  const logs = result.data || [];
  return (
    <article className="card wide" data-testid="logs">
      <h2>Recent logs</h2>
      <Problem error={result.error} />
      {result.loading && !result.data ? <Loading /> : null}
      {result.data && logs.length === 0 ? <p className="muted">No log events.</p> : null}
      {logs.length ? (
        <table>
          <thead><tr><th>Date</th><th>Type</th><th>Description</th><th>IP</th><th>Application</th></tr></thead>
          <tbody>
            {logs.map((log) => (
              <tr key={log.log_id}>
                <td>{formatDate(log.date)}</td>
                <td><code>{log.type}</code></td>
                <td>{log.description}</td>
                <td>{log.ip}</td>
                <td>{log.client_name}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </article>
  );
}
