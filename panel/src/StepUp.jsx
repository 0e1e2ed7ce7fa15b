// Step-up authentication (RFC 9470): when the gateway answers 401
// insufficient_user_authentication, the panel asks the user to log in again with the
// challenge's acr_values and max_age (a popup through @auth0/auth0-react, so the screen
// and the pending action survive), then the action is retried once.

import { useAuth0 } from "@auth0/auth0-react";
import { useCallback, useRef, useState } from "react";

import { GatewayError } from "./api.js";
import { Problem } from "./components.jsx";

export function useStepUp() {
  const { loginWithPopup } = useAuth0();
  const [pending, setPending] = useState(null);
  const [error, setError] = useState(null);
  const waiting = useRef(null);

  const request = useCallback((problem) => new Promise((resolve, reject) => {
    waiting.current = { resolve, reject, problem };
    setError(null);
    setPending(problem);
  }), []);

  const verify = useCallback(async () => {
    const current = waiting.current;
    if (!current) return;
    const params = { prompt: "login" };
    if (current.problem.acr_values) params.acr_values = current.problem.acr_values;
    if (current.problem.max_age !== undefined) params.max_age = current.problem.max_age;
    try {
      await loginWithPopup({ authorizationParams: params });
    } catch (failure) {
      setError(failure);
      return;
    }
    waiting.current = null;
    setPending(null);
    current.resolve();
  }, [loginWithPopup]);

  const cancel = useCallback(() => {
    const current = waiting.current;
    waiting.current = null;
    setPending(null);
    if (current) current.reject(new GatewayError(current.problem));
  }, []);

  return { request, pending, error, verify, cancel };
}

export function StepUpPrompt({ stepUp }) {
  const problem = stepUp.pending;
  if (!problem) return null;
  const mfa = /multi-factor/.test(problem.acr_values || "");
  return (
    <div className="overlay">
      <div className="card modal" role="dialog" aria-modal="true" aria-labelledby="step-up-title"
           data-testid="step-up">
        <h2 id="step-up-title">Confirm it’s you</h2>
        <p>{problem.detail}</p>
        <p className="muted small">
          The gateway asks for a login {mfa ? "with a second factor " : ""}
          {problem.max_age !== undefined ? `in the last ${problem.max_age} seconds` : ""}
          {" "}(RFC 9470 step-up). Your action is retried afterwards.
        </p>
        {stepUp.error ? <Problem error={{ message: stepUp.error.error_description
          || stepUp.error.message || String(stepUp.error) }} /> : null}
        <div className="actions">
          <button type="button" className="primary" onClick={stepUp.verify}>
            {mfa ? "Verify with a second factor" : "Log in again"}
          </button>
          <button type="button" onClick={stepUp.cancel}>Cancel</button>
        </div>
      </div>
    </div>
  );
}
