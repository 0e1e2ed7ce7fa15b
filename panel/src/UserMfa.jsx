// A user's MFA tab: the authentication methods (GET /api/v2/users/{id}/authentication-methods),
// each deletable on its own (a lost phone: DELETE .../authentication-methods/{method id}),
// or all at once; "Invalidate remembered browsers" (POST .../multifactor/actions/
// invalidate-remember-browser) and "Regenerate recovery code" (POST
// .../recovery-code-regeneration), whose new code is shown once and kept nowhere.

import { useState } from "react";

import { userPath } from "./api.js";
import { useAccess } from "./access.js";
import {
  ActionButton, ConfirmButton, Loading, Outcome, Problem, formatDate, listOf, useAction, useLoad,
} from "./components.jsx";

const TYPES = {
  totp: "Authenticator app (OTP)",
  push: "Push notification (Guardian)",
  phone: "Phone (SMS / voice)",
  email: "Email",
  "webauthn-roaming": "Security key",
  "webauthn-platform": "Device biometrics",
  "recovery-code": "Recovery code",
  password: "Password",
  passkey: "Passkey",
};

export default function UserMfa({ api, userId, onChanged }) {
  const access = useAccess();
  const base = userPath(userId);
  const path = `${base}/authentication-methods`;
  // Shown (and read) with "show all actions" too: the gateway's refusal says why.
  const reading = access.show(access.can("get_authentication-methods"));
  const result = useLoad(() => (reading ? api.get(path) : Promise.resolve(null)),
    [api, path, reading]);
  const action = useAction();
  const [recoveryCode, setRecoveryCode] = useState(null);
  const canDelete = access.can("delete_authentication-methods_by_authentication_method_id");
  const canDeleteAll = access.can("delete_authentication-methods");
  const canForget = access.can("post_invalidate-remember-browser");
  const canRegenerate = access.can("post_recovery-code-regeneration");
  const methods = listOf(result.data, "authenticators");

  const write = (method, target, message) => action.run(() => api.send(method, target), message)
    .then((answer) => {
      if (answer !== undefined) {
        result.reload();
        onChanged(); // the profile's `multifactor` follows the methods
      }
      return answer;
    });

  const regenerate = () => {
    setRecoveryCode(null);
    write("POST", `${base}/recovery-code-regeneration`,
      "A new recovery code replaces the old one.").then((answer) => {
      if (answer?.recovery_code) setRecoveryCode(answer.recovery_code);
    });
  };

  return (
    <article className="card wide" data-testid="mfa">
      <div className="card-head">
        <h2>Authentication methods</h2>
        <div className="actions">
          {access.show(canForget) ? (
            <ActionButton allowed={canForget} className="small" disabled={action.busy}
                          onClick={() => write("POST",
                            `${base}/multifactor/actions/invalidate-remember-browser`,
                            "Remembered browsers are forgotten: MFA asks again on each.")}>
              Invalidate remembered browsers</ActionButton>
          ) : null}
          {access.show(canRegenerate) ? (
            <ActionButton allowed={canRegenerate} className="small" disabled={action.busy}
                          onClick={regenerate}>Regenerate recovery code</ActionButton>
          ) : null}
          {methods.length && access.show(canDeleteAll) ? (
            <ConfirmButton allowed={canDeleteAll} className="danger small" disabled={action.busy}
                           question="Remove every method?" confirm="Yes, remove all"
                           onConfirm={() => write("DELETE", path,
                             "Every authentication method is removed.")}>
              Remove all</ConfirmButton>
          ) : null}
        </div>
      </div>
      {recoveryCode ? (
        <div className="notice secret" role="status" data-testid="recovery-code">
          New recovery code: <code className="ticket">{recoveryCode}</code>
          <p className="small">Give it to the user now: it is shown only this once and not
            kept anywhere. {" "}
            <button type="button" className="small" onClick={() => setRecoveryCode(null)}>
              Done, hide it</button></p>
        </div>
      ) : null}
      <Problem error={result.error} />
      <Outcome action={action} />
      {result.loading && !result.data ? <Loading /> : null}
      {result.data && methods.length === 0 ? (
        <p className="muted">No authentication methods beyond the login.</p>
      ) : null}
      {methods.length ? (
        <table>
          <thead>
            <tr><th>Method</th><th>Name</th><th>Detail</th><th>Enrolled</th><th>Last used</th>
              <th /></tr>
          </thead>
          <tbody>
            {methods.map((m) => (
              <tr key={m.id} data-testid="mfa-method" data-type={m.type}>
                <td>{TYPES[m.type] || m.type}
                  {m.confirmed === false ? <span className="muted small"> (unconfirmed)</span> : null}
                </td>
                <td>{m.name || "–"}</td>
                <td>{m.phone_number || m.email || m.relying_party_identifier || "–"}</td>
                <td>{formatDate(m.enrolled_at || m.created_at)}</td>
                <td>{formatDate(m.last_auth_at)}</td>
                <td>{access.show(canDelete) ? (
                  <ActionButton allowed={canDelete} className="small danger" disabled={action.busy}
                                onClick={() => write("DELETE",
                                  `${path}/${encodeURIComponent(m.id)}`,
                                  `${TYPES[m.type] || m.type} deleted.`)}>Delete</ActionButton>
                ) : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </article>
  );
}
