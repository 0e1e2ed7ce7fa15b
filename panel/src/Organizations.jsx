// Organizations screen (#/organizations[/<org id>]): the members and invitations of one
// organization. An organization administrator manages the organization they logged in
// through (`org_id` in /gateway/me); a holder of orgs:scope:all opens any by its id (or
// from a user's Organizations tab). The gateway refuses any other organization.

import { useState } from "react";

import { useAccess } from "./access.js";
import { Badge } from "./components.jsx";
import OrgInvitations from "./OrgInvitations.jsx";
import OrgMembers from "./OrgMembers.jsx";
import { navigate } from "./router.js";

export default function Organizations({ api, orgId, clientId }) {
  const access = useAccess();
  const own = access.me?.org_id || null;
  const anyOrg = access.has("orgs:scope:all");
  const current = orgId || own;
  return (
    <section>
      <div className="toolbar">
        <h1>Organization</h1>
        {anyOrg ? <OrgPicker current={current} /> : null}
      </div>
      {current ? (
        <OrgView key={current} api={api} orgId={current} own={current === own}
                 clientId={clientId} />
      ) : (
        <p className="muted" data-testid="no-organization">{anyOrg
          ? "Open an organization by its id, or from a user's Organizations tab."
          : "You did not log in through an organization, so there is none to manage here."}</p>
      )}
    </section>
  );
}

function OrgPicker({ current }) {
  const [draft, setDraft] = useState(current || "");
  return (
    <form className="search" aria-label="Open an organization" onSubmit={(event) => {
      event.preventDefault();
      if (draft.trim()) navigate(["organizations", draft.trim()]);
    }}>
      <input aria-label="Organization id" placeholder="org_…" value={draft}
             onChange={(event) => setDraft(event.target.value)} />
      <button type="submit">Open</button>
    </form>
  );
}

function OrgView({ api, orgId, own, clientId }) {
  const access = useAccess();
  return (
    <>
      <p className="muted" data-testid="organization-id">Organization <code>{orgId}</code>{" "}
        {own ? <Badge kind="info">the organization you logged in through</Badge> : null}</p>
      {access.show(access.can("get_organization_members")) ? (
        <OrgMembers api={api} orgId={orgId} />
      ) : null}
      {access.show(access.can("get_invitations")) ? (
        <OrgInvitations api={api} orgId={orgId} clientId={clientId} />
      ) : null}
    </>
  );
}
