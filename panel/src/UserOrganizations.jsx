// A user's organizations tab: GET /api/v2/users/{id}/organizations (without
// orgs:scope:all, the gateway shows only the organization the caller logged in through),
// each linked to the Organizations screen when the
// caller may read its members.

import { userPath } from "./api.js";
import { useAccess } from "./access.js";
import { Loading, Problem, listOf, useLoad } from "./components.jsx";
import { href } from "./router.js";

export default function UserOrganizations({ api, userId }) {
  const access = useAccess();
  const path = `${userPath(userId)}/organizations`;
  // Shown (and read) with "show all actions" too: the gateway's refusal says why.
  const reading = access.show(access.can("get_user_organizations"));
  const result = useLoad(() => (reading ? api.get(path) : Promise.resolve(null)),
    [api, path, reading]);
  const canOpen = access.can("get_organization_members");
  const organizations = listOf(result.data, "organizations");
  return (
    <article className="card wide" data-testid="organizations">
      <h2>Organizations</h2>
      <Problem error={result.error} />
      {result.loading && !result.data ? <Loading /> : null}
      {result.data && organizations.length === 0 ? (
        <p className="muted" data-testid="no-organizations">{access.has("orgs:scope:all")
          ? "Not a member of any organization."
          : "No organization you may see: without orgs:scope:all, the gateway shows only the "
            + "organization you logged in through."}</p>
      ) : null}
      <ul className="plain">
        {organizations.map((org) => (
          <li key={org.id} data-testid="organization">
            <strong>{canOpen
              ? <a href={href(["organizations", org.id])}>{org.display_name || org.name}</a>
              : org.display_name || org.name}</strong>{" "}
            <span className="muted">{org.name}</span> <code>{org.id}</code>
          </li>
        ))}
      </ul>
    </article>
  );
}
