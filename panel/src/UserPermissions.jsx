// A user's permissions tab: GET /api/v2/users/{id}/permissions (each permission once,
// with its sources: assigned directly or through a role), and direct assignments:
// POST/DELETE .../permissions {"permissions": [{permission_name, resource_server_identifier}]}.
// Only direct assignments can be removed here; a role's permissions go with the role.

import { useState } from "react";

import { userPath } from "./api.js";
import { useAccess } from "./access.js";
import {
  ActionButton, Badge, Loading, Outcome, Problem, listOf, useAction, useLoad,
} from "./components.jsx";

const isDirect = (permission) => (permission.sources || [])
  .some((source) => source.source_type === "DIRECT");

export default function UserPermissions({ api, userId, audience }) {
  const access = useAccess();
  const path = `${userPath(userId)}/permissions`;
  // Shown (and read) with "show all actions" too: the gateway's refusal says why.
  const reading = access.show(access.can("get_permissions"));
  const result = useLoad(() => (reading ? api.get(path) : Promise.resolve(null)),
    [api, path, reading]);
  const canAssign = access.can("post_permissions");
  const canRemove = access.can("delete_permissions");
  const action = useAction();
  const permissions = listOf(result.data, "permissions");

  const change = (method, permission, done) => action.run(
    () => api.send(method, path, { permissions: [{
      permission_name: permission.permission_name,
      resource_server_identifier: permission.resource_server_identifier,
    }] }),
    `${method === "POST" ? "Assigned" : "Removed"} ${permission.permission_name}.`,
  ).then((answer) => {
    if (answer === undefined) return;
    if (done) done();
    result.reload();
  });

  return (
    <article className="card wide" data-testid="permissions">
      <h2>Permissions</h2>
      <Problem error={result.error} />
      <Outcome action={action} />
      {result.loading && !result.data ? <Loading /> : null}
      {result.data && permissions.length === 0 ? <p className="muted">No permissions.</p> : null}
      {permissions.length ? (
        <table>
          <thead><tr><th>Permission</th><th>API</th><th>Sources</th><th /></tr></thead>
          <tbody>
            {permissions.map((p) => (
              <tr key={`${p.resource_server_identifier} ${p.permission_name}`}
                  data-testid="permission" data-permission={p.permission_name}>
                <td><code>{p.permission_name}</code>
                  {p.description ? <div className="muted small">{p.description}</div> : null}</td>
                <td><code title={p.resource_server_name}>{p.resource_server_identifier}</code></td>
                <td>{(p.sources || []).map((source, n) => (
                  <Badge key={n} kind={source.source_type === "DIRECT" ? "info" : "ok"}>
                    {source.source_type === "DIRECT" ? "direct"
                      : `${(source.source_type || "").toLowerCase()}: ${source.source_name}`}
                  </Badge>
                ))}</td>
                <td>{isDirect(p) && access.show(canRemove) ? (
                  <ActionButton allowed={canRemove} className="small" disabled={action.busy}
                                onClick={() => change("DELETE", p)}>Remove</ActionButton>
                ) : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {access.show(canAssign) ? (
        <AssignForm allowed={canAssign} busy={action.busy} audience={audience}
                    onAssign={(permission, done) => change("POST", permission, done)} />
      ) : null}
    </article>
  );
}

function AssignForm({ allowed, busy, audience, onAssign }) {
  const [name, setName] = useState("");
  const [api, setApi] = useState(audience || "");
  return (
    <form className="inline-form" aria-label="Assign a permission" onSubmit={(event) => {
      event.preventDefault();
      if (name.trim() && api.trim()) {
        onAssign({ permission_name: name.trim(), resource_server_identifier: api.trim() },
          () => setName(""));
      }
    }}>
      <input aria-label="Permission name" placeholder="Permission, e.g. users:read"
             value={name} onChange={(event) => setName(event.target.value)} />
      <input aria-label="API identifier" placeholder="API identifier (audience)" className="wide"
             value={api} onChange={(event) => setApi(event.target.value)} />
      <ActionButton allowed={allowed} type="submit" className="small" disabled={busy}>
        Assign</ActionButton>
    </form>
  );
}
