// A user's identities tab: the accounts linked into this user (the user object's
// `identities`; the first is the primary one, the user's own). Unlinking a secondary
// identity (DELETE /api/v2/users/{id}/identities/{provider}/{user_id}) makes it a user
// of its own again.

import { userPath } from "./api.js";
import { useAccess } from "./access.js";
import { Badge, ConfirmButton, Outcome, useAction } from "./components.jsx";
import { href } from "./router.js";

const fullId = (identity) => `${identity.provider}|${identity.user_id}`;

export default function UserIdentities({ api, user, onChanged }) {
  const access = useAccess();
  const action = useAction();
  const canUnlink = access.can("delete_user_identity_by_user_id");
  const identities = user.identities || [];
  // Auth0 lists the primary identity first; its provider|user_id is the user's id.
  const primary = identities.find((i) => fullId(i) === user.user_id) || identities[0];

  const unlink = (identity) => action.run(
    () => api.send("DELETE", `${userPath(user.user_id)}/identities/`
      + `${encodeURIComponent(identity.provider)}/${encodeURIComponent(identity.user_id)}`),
    { text: `Unlinked: the ${identity.provider} account is a user of its own again,`,
      link: fullId(identity), href: href(["users", fullId(identity)]) },
  ).then((answer) => answer !== undefined && onChanged());

  return (
    <article className="card wide" data-testid="identities">
      <h2>Linked identities</h2>
      <Outcome action={action} />
      {identities.length === 0 ? <p className="muted">No identities.</p> : (
        <table>
          <thead>
            <tr><th>Provider</th><th>Connection</th><th>Account</th><th>Email</th><th /></tr>
          </thead>
          <tbody>
            {identities.map((identity) => (
              <tr key={fullId(identity)} data-testid="identity" data-provider={identity.provider}>
                <td>{identity.provider}{" "}
                  {identity === primary ? <Badge kind="info">primary</Badge> : null}
                  {identity.isSocial ? <Badge kind="ok">social</Badge> : null}</td>
                <td>{identity.connection}</td>
                <td><code>{identity.user_id}</code></td>
                <td>{identity.profileData?.email || (identity === primary ? user.email : "") || "–"}</td>
                <td>{identity !== primary && access.show(canUnlink) ? (
                  <ConfirmButton allowed={canUnlink} className="small" disabled={action.busy}
                                 question={`Unlink ${identity.provider}?`} confirm="Yes, unlink"
                                 onConfirm={() => unlink(identity)}>Unlink</ConfirmButton>
                ) : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {access.show(canUnlink) && identities.length < 2 ? (
        <p className="muted small">Only the primary identity: nothing to unlink.</p>
      ) : null}
    </article>
  );
}
