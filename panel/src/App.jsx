// The panel's frame: login state, /gateway/me, navigation, and the screens.

import { useAuth0 } from "@auth0/auth0-react";
import { Suspense, lazy, useMemo, useState } from "react";

import { useGateway } from "./api.js";
import { AccessContext, accessFrom } from "./access.js";
import Approvals from "./Approvals.jsx";
import AuditTrail from "./AuditTrail.jsx";
import { Loading, Problem, initials, useLoad } from "./components.jsx";
import CreateUser from "./CreateUser.jsx";
import { useRoute } from "./router.js";
import { StepUpPrompt, useStepUp } from "./StepUp.jsx";
import UserDetail from "./UserDetail.jsx";
import UserSearch from "./UserSearch.jsx";

// Screens most sessions never open load when first opened (a chunk each).
const Organizations = lazy(() => import("./Organizations.jsx"));
const Roles = lazy(() => import("./Roles.jsx"));

export default function App({ config }) {
  const { isLoading, isAuthenticated, error, loginWithRedirect } = useAuth0();
  const login = () => loginWithRedirect({ appState: { returnTo: window.location.hash } });

  // Only the first sign-in: a step-up login (a popup) must keep the screen and its action.
  if (isLoading && !isAuthenticated) {
    return <main className="centered"><Loading what="Signing in" /></main>;
  }
  if (!isAuthenticated) {
    return (
      <main className="centered">
        <div className="card login">
          <h1>{config.title}</h1>
          <p className="muted">Manage users through admin-gateway. Sign in with your tenant
            account; what you may do follows your roles.</p>
          {error ? <Problem error={{ message: error.message }} /> : null}
          <button type="button" className="primary" onClick={login}>Log in</button>
          <p className="muted small">Tenant <code>{config.domain}</code> · gateway{" "}
            <code>{config.gatewayUrl}</code></p>
        </div>
      </main>
    );
  }
  return <SignedIn config={config} />;
}

function SignedIn({ config }) {
  const { user, logout } = useAuth0();
  const stepUp = useStepUp();
  const api = useGateway(config, stepUp.request);
  const me = useLoad(() => api.get("/gateway/me"), [api]);
  const [showAll, setShowAll] = useState(false);
  const access = useMemo(() => accessFrom(me.data, showAll), [me.data, showAll]);
  const route = useRoute();
  const [screen, id] = route.parts;

  let content;
  if (me.error) {
    content = <Problem error={me.error} />;
  } else if (!me.data) {
    content = <Loading what="Loading your permissions" />;
  } else if (screen === "users" && id) {
    content = <UserDetail key={id} api={api} userId={id} tab={route.params.get("tab")}
                          audience={config.audience} />;
  } else if (screen === "organizations") {
    content = <Organizations api={api} orgId={id} clientId={config.clientId} />;
  } else if (screen === "roles") {
    content = <Roles api={api} roleId={id} />;
  } else if (screen === "new-user") {
    content = <CreateUser api={api} />;
  } else if (screen === "audit") {
    content = <AuditTrail api={api} />;
  } else if (screen === "approvals") {
    content = <Approvals api={api} focus={id} />;
  } else {
    content = <UserSearch api={api} params={route.params} />;
  }

  const roles = me.data?.roles || [];
  const other = ["audit", "approvals", "organizations", "roles"];
  const rolesScreen = access.can("get_roles") || access.can("get_role_user");
  const orgScreen = access.can("get_organization_members") || access.can("get_invitations");
  return (
    <AccessContext.Provider value={access}>
      <header className="top">
        <a className="brand" href="#/users">{config.title}</a>
        <nav aria-label="Main">
          <a href="#/users" className={other.includes(screen) ? "" : "active"}>Users</a>
          {rolesScreen ? (
            <a href="#/roles" className={screen === "roles" ? "active" : ""}>Roles</a>
          ) : null}
          {orgScreen ? (
            <a href="#/organizations" className={screen === "organizations" ? "active" : ""}>
              Organizations</a>
          ) : null}
          <a href="#/approvals" className={screen === "approvals" ? "active" : ""}>Approvals</a>
          {access.has("audit:read") || showAll ? (
            <a href="#/audit" className={screen === "audit" ? "active" : ""}>Audit trail</a>
          ) : null}
        </nav>
        <div className="who" data-testid="who">
          <span className="avatar" aria-hidden="true">{initials(user?.name || user?.email)}</span>
          <span>
            <strong>{user?.name || user?.email}</strong>
            <span className="muted small">{roles.length ? roles.join(", ") : "no role"}
              {me.data?.department ? ` · ${me.data.department}` : ""}</span>
          </span>
          <button type="button" onClick={() => logout({
            logoutParams: { returnTo: window.location.origin },
          })}>Log out</button>
        </div>
      </header>
      <main className="content">
        <Suspense fallback={<Loading />}>{content}</Suspense>
      </main>
      <StepUpPrompt stepUp={stepUp} />
      <footer className="bottom">
        <label className="muted small">
          <input type="checkbox" checked={showAll} data-testid="show-all"
                 onChange={(event) => setShowAll(event.target.checked)} />
          {" "}Show actions my role may not call (the gateway refuses them; useful to see why)
        </label>
        <span className="muted small">
          {me.data ? `${me.data.permissions.length} permissions · ` : ""}gateway{" "}
          <code>{config.gatewayUrl}</code>
        </span>
      </footer>
    </AccessContext.Provider>
  );
}
