import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Auth0Provider } from "@auth0/auth0-react";

import App from "./App.jsx";
import { loadConfig } from "./config.js";
import "./styles.css";

const root = createRoot(document.getElementById("root"));

function onRedirectCallback(appState) {
  // Back to the screen the user was on when login started (hash routes).
  const target = appState?.returnTo || "#/users";
  window.history.replaceState({}, document.title, window.location.pathname + target);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

loadConfig().then(
  (config) => {
    root.render(
      <StrictMode>
        <Auth0Provider
          domain={config.domain}
          clientId={config.clientId}
          authorizationParams={{
            redirect_uri: window.location.origin,
            audience: config.audience,
            scope: "openid profile email",
          }}
          // Tokens stay in memory (never in localStorage); a reload logs in again
          // silently (prompt=none in a hidden iframe) while the tenant session lasts.
          cacheLocation="memory"
          useRefreshTokens={false}
          onRedirectCallback={onRedirectCallback}
        >
          <App config={config} />
        </Auth0Provider>
      </StrictMode>,
    );
  },
  (error) => {
    root.render(
      <main className="centered">
        <div className="problem" role="alert">
          <strong>The panel is not configured</strong>
          <p>{error.message}</p>
        </div>
      </main>,
    );
  },
);
