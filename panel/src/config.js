// The tenant's settings, read at run time from config.json next to index.html,
// so one build serves any tenant (docs/panel.md, "Configuration").

const REQUIRED = ["domain", "clientId", "audience", "gatewayUrl"];

export async function loadConfig() {
  const url = new URL("config.json", document.baseURI);
  let response;
  try {
    response = await fetch(url, { cache: "no-store" });
  } catch (error) {
    throw new Error(`Cannot load ${url}: ${error.message}`);
  }
  if (!response.ok) {
    throw new Error(`Cannot load ${url}: HTTP ${response.status}. Copy config.example.json ` +
      "to config.json next to index.html and fill it in.");
  }
  const config = await response.json();
  const missing = REQUIRED.filter((name) => typeof config[name] !== "string" || !config[name]);
  if (missing.length) {
    throw new Error(`config.json lacks ${missing.join(", ")}.`);
  }
  return {
    ...config,
    // "127.0.0.1:8787" works like Auth0's "tenant.auth0.com"; a scheme is kept as given.
    domain: config.domain.replace(/\/+$/, ""),
    gatewayUrl: config.gatewayUrl.replace(/\/+$/, ""),
    title: config.title || "Admin panel",
  };
}
