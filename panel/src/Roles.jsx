// Roles screen: the tenant's roles (GET /api/v2/roles, #/roles) and who holds one
// (GET /api/v2/roles/{id}/users, #/roles/<id>, paged; a scoped caller sees only the
// holders inside its delegated scope, and counts only them).

import { useState } from "react";

import { useAccess } from "./access.js";
import { Loading, Problem, listOf, useLoad } from "./components.jsx";
import { href } from "./router.js";

const PER_PAGE = 25;

export default function Roles({ api, roleId }) {
  const access = useAccess();
  const canList = access.can("get_roles");
  const roles = useLoad(() => (canList ? api.get("/api/v2/roles") : Promise.resolve(null)),
    [api, canList]);
  const list = listOf(roles.data, "roles");
  const role = list.find((r) => r.id === roleId);
  return (
    <section>
      <p>{roleId ? <a href="#/roles">← Roles</a> : null}</p>
      <h1>{roleId ? (role?.name || "Role") : "Roles"}</h1>
      {roleId ? <p className="muted">{role?.description} <code>{roleId}</code></p> : null}
      <Problem error={roles.error} />
      {roles.loading && !roles.data ? <Loading what="Loading roles" /> : null}
      {!roleId && roles.data ? (
        <ul className="plain" data-testid="role-list">
          {list.map((r) => (
            <li key={r.id}>
              <strong>{access.can("get_role_user")
                ? <a href={href(["roles", r.id])}>{r.name}</a> : r.name}</strong>{" "}
              <span className="muted">{r.description}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {roleId && access.can("get_role_user") ? <RoleUsers key={roleId} api={api} roleId={roleId} /> : null}
    </section>
  );
}

function RoleUsers({ api, roleId }) {
  const [page, setPage] = useState(0);
  const path = `/api/v2/roles/${encodeURIComponent(roleId)}/users`;
  const result = useLoad(() => api.get(path, { page, per_page: PER_PAGE, include_totals: "true" }),
    [api, path, page]);
  const users = listOf(result.data, "users");
  const total = result.data?.total ?? users.length;
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  return (
    <article className="card wide" data-testid="role-users">
      <h2>Users with this role</h2>
      <Problem error={result.error} />
      {result.loading && !result.data ? <Loading /> : null}
      {result.data ? (
        <p className="muted small" data-testid="role-users-summary">
          {total === 0 ? "Nobody you may see holds this role."
            : `${total} user${total === 1 ? "" : "s"}${pages > 1 ? `, page ${page + 1} of ${pages}` : ""}`}
        </p>
      ) : null}
      {users.length ? (
        <table aria-busy={result.loading ? "true" : "false"}>
          <thead><tr><th>Name</th><th>Email</th><th>User id</th></tr></thead>
          <tbody>
            {users.map((user) => (
              <tr key={user.user_id} data-testid="role-user">
                <td><a href={href(["users", user.user_id])}>{user.name || user.user_id}</a></td>
                <td>{user.email || "–"}</td>
                <td><code>{user.user_id}</code></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {pages > 1 ? (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>← Previous</button>
          <span className="muted">Page {page + 1} of {pages}</span>
          <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>Next →</button>
        </nav>
      ) : null}
    </article>
  );
}
