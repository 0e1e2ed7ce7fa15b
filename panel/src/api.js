// The gateway client: bearer token from the Auth0 SDK, JSON in and out, and every
// failure as a GatewayError carrying the RFC 9457 problem the gateway answered.

import { useAuth0 } from "@auth0/auth0-react";
import { useCallback, useMemo } from "react";

export class GatewayError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title);
    this.problem = problem;
  }
}

function problemFrom(response, data, text) {
  const requestId = response.headers.get("X-Request-ID");
  if (data && typeof data === "object" && (data.title || data.detail)) {
    return { ...data, status: data.status || response.status,
             request_id: data.request_id || requestId };
  }
  // Not problem+json (a proxy in between, say): keep what can be shown.
  return {
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: (data && (data.message || data.error_description)) || text.slice(0, 300),
    request_id: requestId,
  };
}

export async function callGateway(baseUrl, token, method, path, { query, body, headers: extra } = {}) {
  const url = new URL(baseUrl + path);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") {
      url.searchParams.set(name, String(value));
    }
  }
  const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  Object.assign(headers, extra || {});
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
  } catch (error) {
    throw new GatewayError({
      title: "The gateway cannot be reached",
      status: 0,
      detail: `${error.message} (${url.origin}). Is it running, and does its CORS_ORIGINS ` +
        `include ${window.location.origin}?`,
    });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) throw new GatewayError(problemFrom(response, data, text));
  // 202: the gateway held the write for four-eyes approval (data is the approval).
  if (response.status === 202 && data && data.links && data.state) return { approval: data };
  return data;
}

// RFC 9470: the operation needs a fresher or stronger login (acr_values, max_age).
export const isStepUp = (error) => error instanceof GatewayError && error.problem.status === 401 &&
  String(error.problem.type || "").endsWith("/insufficient-user-authentication");

// Wraps SDK failures (login_required, consent_required, ...) as problems too.
function authProblem(error) {
  return new GatewayError({
    title: "Cannot get an access token",
    status: 401,
    detail: error.error_description || error.message || String(error),
  });
}

// `stepUp(problem)`: resolves once the user logged in again as the problem asks (the
// panel's step-up prompt), rejects when they decline; the call is then retried once.
export function useGateway(config, stepUp) {
  const { getAccessTokenSilently } = useAuth0();
  const call = useCallback(async (method, path, options) => {
    const token = async () => {
      try {
        return await getAccessTokenSilently();
      } catch (error) {
        throw authProblem(error);
      }
    };
    try {
      return await callGateway(config.gatewayUrl, await token(), method, path, options);
    } catch (error) {
      if (!stepUp || !isStepUp(error)) throw error;
      await stepUp(error.problem);
      return callGateway(config.gatewayUrl, await token(), method, path, options);
    }
  }, [config.gatewayUrl, getAccessTokenSilently, stepUp]);
  return useMemo(() => ({
    call,
    get: (path, query) => call("GET", path, { query }),
    send: (method, path, body, headers) => call(method, path, { body, headers }),
  }), [call]);
}

export const userPath = (userId) => `/api/v2/users/${encodeURIComponent(userId)}`;
