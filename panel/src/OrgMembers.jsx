// An organization's members (GET /api/v2/organizations/{id}/members, paged; a scoped
// caller sees only the members inside its delegated scope), adding and removing members
// (POST/DELETE .../members {"members": [user_id]}) and each member's roles in the
// organization (GET/POST/DELETE .../members/{user_id}/roles {"roles": [role_id]}).

import { Fragment, useState } from "react";

import { useAccess } from "./access.js";
import {
  ActionButton, ConfirmButton, Loading, Outcome, Problem, listOf, useAction, useLoad,
} from "./components.jsx";
import RoleChoice from "./RoleChoice.jsx";
import { href } from "./router.js";

const PER_PAGE = 25;
const orgPath = (orgId) => `/api/v2/organizations/${encodeURIComponent(orgId)}`;

export default function OrgMembers({ api, orgId }) {
  const access = useAccess();
  const path = `${orgPath(orgId)}/members`;
  const [page, setPage] = useState(0);
  const result = useLoad(() => api.get(path, { page, per_page: PER_PAGE, include_totals: "true" }),
    [api, path, page]);
  const action = useAction();
  const [open, setOpen] = useState(null);
  const canAdd = access.can("post_members");
  const canRemove = access.can("delete_members");
  const canRoles = access.can("get_organization_member_roles");
  const members = listOf(result.data, "members");
  const total = result.data?.total ?? members.length;
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));

  const change = (method, userId, message) => action.run(
    () => api.send(method, path, { members: [userId] }), message,
  ).then((answer) => {
    if (answer !== undefined) result.reload();
    return answer;
  });

  return (
    <article className="card wide" data-testid="members">
      <h2>Members</h2>
      <Problem error={result.error} />
      <Outcome action={action} />
      {result.loading && !result.data ? <Loading /> : null}
      {result.data ? (
        <p className="muted small" data-testid="members-summary">
          {total === 0 ? "No members." : `${total} member${total === 1 ? "" : "s"}`}
          {pages > 1 ? `, page ${page + 1} of ${pages}` : ""}</p>
      ) : null}
      {members.length ? (
        <table aria-busy={result.loading ? "true" : "false"}>
          <thead><tr><th>Name</th><th>Email</th><th>User id</th><th /></tr></thead>
          <tbody>
            {members.map((member) => (
              <Fragment key={member.user_id}>
                <tr data-testid="member" data-user-id={member.user_id}>
                  <td><a href={href(["users", member.user_id])}>{member.name || member.user_id}</a></td>
                  <td>{member.email || "–"}</td>
                  <td><code>{member.user_id}</code></td>
                  <td className="row-actions">
                    {access.show(canRoles) ? (
                      <ActionButton allowed={canRoles} className="small" aria-expanded={open === member.user_id}
                                    onClick={() => setOpen(open === member.user_id ? null : member.user_id)}>
                        Roles</ActionButton>
                    ) : null}{" "}
                    {access.show(canRemove) ? (
                      <ConfirmButton allowed={canRemove} className="small danger" disabled={action.busy}
                                     question="Remove from the organization?" confirm="Yes, remove"
                                     onConfirm={() => change("DELETE", member.user_id,
                                       `${member.name || member.user_id} is no longer a member.`)}>
                        Remove</ConfirmButton>
                    ) : null}
                  </td>
                </tr>
                {open === member.user_id ? (
                  <tr className="sub"><td colSpan={4}>
                    <MemberRoles api={api} orgId={orgId} member={member} />
                  </td></tr>
                ) : null}
              </Fragment>
            ))}
          </tbody>
        </table>
      ) : null}
      {pages > 1 ? (
        <nav className="pager" aria-label="Member pages">
          <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>← Previous</button>
          <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>Next →</button>
        </nav>
      ) : null}
      {access.show(canAdd) ? (
        <AddMember allowed={canAdd} busy={action.busy}
                   onAdd={(userId, done) => change("POST", userId, `${userId} is now a member.`)
                     .then((answer) => answer !== undefined && done())} />
      ) : null}
    </article>
  );
}

function AddMember({ allowed, busy, onAdd }) {
  const [userId, setUserId] = useState("");
  return (
    <form className="inline-form" aria-label="Add a member" onSubmit={(event) => {
      event.preventDefault();
      if (userId.trim()) onAdd(userId.trim(), () => setUserId(""));
    }}>
      <input aria-label="User id of the new member" placeholder="User id (auth0|…)" className="wide"
             value={userId} onChange={(event) => setUserId(event.target.value)} />
      <ActionButton allowed={allowed} type="submit" className="small" disabled={busy}>
        Add member</ActionButton>
    </form>
  );
}

function MemberRoles({ api, orgId, member }) {
  const access = useAccess();
  const path = `${orgPath(orgId)}/members/${encodeURIComponent(member.user_id)}/roles`;
  const result = useLoad(() => api.get(path), [api, path]);
  const action = useAction();
  const [choice, setChoice] = useState("");
  const canAssign = access.can("post_organization_member_roles");
  const canRemove = access.can("delete_organization_member_roles");
  const roles = listOf(result.data, "roles");

  const change = (method, roleId, message) => action.run(
    () => api.send(method, path, { roles: [roleId] }), message,
  ).then((answer) => {
    if (answer === undefined) return;
    setChoice("");
    result.reload();
  });

  return (
    <div className="member-roles" data-testid="member-roles">
      <strong>Roles of {member.name || member.user_id} in this organization</strong>
      <Problem error={result.error} />
      <Outcome action={action} />
      {result.loading && !result.data ? <Loading /> : null}
      {result.data && roles.length === 0 ? <p className="muted">No roles here.</p> : null}
      <ul className="plain">
        {roles.map((role) => (
          <li key={role.id} data-testid="member-role">{role.name}{" "}
            {access.show(canRemove) ? (
              <ActionButton allowed={canRemove} className="small" disabled={action.busy}
                            onClick={() => change("DELETE", role.id, `Removed ${role.name}.`)}>
                Remove</ActionButton>
            ) : null}
          </li>
        ))}
      </ul>
      {access.show(canAssign) ? (
        <form className="inline-form" aria-label="Assign an organization role" onSubmit={(event) => {
          event.preventDefault();
          if (choice.trim()) change("POST", choice.trim(), "Role assigned.");
        }}>
          <RoleChoice api={api} value={choice} onChange={setChoice} label="Organization role"
                      exclude={roles.map((role) => role.id)} />
          <ActionButton allowed={canAssign} type="submit" className="small" disabled={action.busy}>
            Assign</ActionButton>
        </form>
      ) : null}
    </div>
  );
}
