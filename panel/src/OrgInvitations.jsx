// An organization's invitations: GET /api/v2/organizations/{id}/invitations, a new one
// (POST .../invitations {inviter: {name}, invitee: {email}, client_id[, roles]}: the
// application whose login the invitation link opens, this panel by default) and revoking
// one (DELETE .../invitations/{invitation_id}).

import { useAuth0 } from "@auth0/auth0-react";
import { useState } from "react";

import { useAccess } from "./access.js";
import {
  ActionButton, ConfirmButton, Loading, Outcome, Problem, formatDate, listOf, useAction, useLoad,
} from "./components.jsx";
import RoleChoice from "./RoleChoice.jsx";

export default function OrgInvitations({ api, orgId, clientId }) {
  const access = useAccess();
  const path = `/api/v2/organizations/${encodeURIComponent(orgId)}/invitations`;
  // Shown (and read) with "show all actions" too: the gateway's refusal says why.
  const reading = access.show(access.can("get_invitations"));
  const result = useLoad(() => (reading ? api.get(path) : Promise.resolve(null)),
    [api, path, reading]);
  const action = useAction();
  const canInvite = access.can("post_invitations");
  const canRevoke = access.can("delete_invitations_by_invitation_id");
  const invitations = listOf(result.data, "invitations");

  const write = (method, target, body, message) => action.run(
    () => api.send(method, target, body), message,
  ).then((answer) => {
    if (answer !== undefined) result.reload();
    return answer;
  });

  return (
    <article className="card wide" data-testid="invitations">
      <h2>Invitations</h2>
      <Problem error={result.error} />
      <Outcome action={action} />
      {result.loading && !result.data ? <Loading /> : null}
      {result.data && invitations.length === 0 ? <p className="muted">No open invitations.</p> : null}
      {invitations.length ? (
        <table>
          <thead>
            <tr><th>Invitee</th><th>Invited by</th><th>Sent</th><th>Expires</th><th>Link</th><th /></tr>
          </thead>
          <tbody>
            {invitations.map((invitation) => (
              <tr key={invitation.id} data-testid="invitation"
                  data-email={invitation.invitee?.email}>
                <td>{invitation.invitee?.email}</td>
                <td>{invitation.inviter?.name}</td>
                <td>{formatDate(invitation.created_at)}</td>
                <td>{formatDate(invitation.expires_at)}</td>
                <td>{invitation.invitation_url
                  ? <code className="small">{invitation.invitation_url}</code> : "–"}</td>
                <td>{access.show(canRevoke) ? (
                  <ConfirmButton allowed={canRevoke} className="small danger" disabled={action.busy}
                                 question="Revoke it?" confirm="Yes, revoke"
                                 onConfirm={() => write("DELETE",
                                   `${path}/${encodeURIComponent(invitation.id)}`, undefined,
                                   `The invitation of ${invitation.invitee?.email} is revoked.`)}>
                    Revoke</ConfirmButton>
                ) : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {access.show(canInvite) ? (
        <InviteForm api={api} allowed={canInvite} busy={action.busy} clientId={clientId}
                    onInvite={(body) => write("POST", path, body,
                      `Invitation sent to ${body.invitee.email}.`)} />
      ) : null}
    </article>
  );
}

function InviteForm({ api, allowed, busy, clientId, onInvite }) {
  const { user } = useAuth0();
  const [email, setEmail] = useState("");
  const [inviter, setInviter] = useState(user?.name || user?.email || "");
  const [application, setApplication] = useState(clientId || "");
  const [role, setRole] = useState("");

  return (
    // noValidate: the gateway validates, and its field errors are what we show.
    <form className="edit invite" aria-label="Invite someone" noValidate onSubmit={(event) => {
      event.preventDefault();
      const body = { inviter: { name: inviter.trim() }, invitee: { email: email.trim() },
                     client_id: application.trim() };
      if (role.trim()) body.roles = [role.trim()];
      onInvite(body).then((answer) => {
        if (answer !== undefined) {
          setEmail("");
          setRole("");
        }
      });
    }}>
      <h3>Invite someone</h3>
      <div className="fields">
        <label>Email of the invitee
          <input name="invitee" type="email" value={email}
                 onChange={(event) => setEmail(event.target.value)} /></label>
        <label>Invited by (shown in the email)
          <input name="inviter" value={inviter}
                 onChange={(event) => setInviter(event.target.value)} /></label>
        <label>Application (client id) whose login the link opens
          <input name="client_id" value={application}
                 onChange={(event) => setApplication(event.target.value)} /></label>
        <label>Role in the organization (optional)
          <RoleChoice api={api} value={role} onChange={setRole} label="Role of the invitee" /></label>
      </div>
      <div className="buttons">
        <ActionButton allowed={allowed} type="submit" className="primary" disabled={busy}>
          Send invitation</ActionButton>
      </div>
    </form>
  );
}
