// Hash routes (#/users?q=..., #/users/<id>, #/new-user, #/audit): the static
// server needs no rewrite rules, and the login redirect keeps the screen in appState.

import { useEffect, useState } from "react";

export function parseHash(hash) {
  const raw = (hash || "").replace(/^#/, "") || "/users";
  const [path, search = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(search) };
}

export function useRoute() {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(window.location.hash));
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function href(parts, params) {
  const path = "#/" + parts.map(encodeURIComponent).join("/");
  const query = params ? new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""),
  ).toString() : "";
  return query ? `${path}?${query}` : path;
}

export function navigate(parts, params) {
  window.location.hash = href(parts, params);
}
