"""The post-login Action that puts the gateway's claims into access tokens.

Auth0 adds no custom claim by itself. The Action sets, under the gateway's
namespace (the namespace of ROLES_CLAIM):
- ROLES_CLAIM: `event.authorization.roles` (names of the user's Auth0 roles),
  which the policy maps to permissions;
- DEPARTMENT_CLAIM: `app_metadata.department`, which delegated-scope rules
  compare (`equals = "department"`); `org_id` needs no Action: Auth0 adds it to
  every token issued through an Organization;
- `auth_time`, `acr`, `amr`: when and how the user authenticated
  (`event.authentication.methods`, `name` "mfa" after MFA), for step-up
  (RFC 9470) — access tokens carry none of them unless an Action adds them.

The code is generated from the settings (tests run it in Node when present).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

ACTION_NAME = "admin-gateway-claims"
ACTION_RUNTIME = "node22"
POST_LOGIN = "post-login"
MFA_ACR = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
MARKER = "// managed by admin-gateway: regenerate with `admin-gateway tenant plan`"

_TEMPLATE = """{marker}
const CLAIMS = {claims};
const MFA_ACR = {mfa_acr};

exports.onExecutePostLogin = async (event, api) => {{
  const roles = (event.authorization && event.authorization.roles) || [];
  api.accessToken.setCustomClaim(CLAIMS.roles, roles);

  const appMetadata = (event.user && event.user.app_metadata) || {{}};
  if (typeof appMetadata.department === "string" && appMetadata.department) {{
    api.accessToken.setCustomClaim(CLAIMS.department, appMetadata.department);
  }}

  const methods = (event.authentication && event.authentication.methods) || [];
  const times = methods
    .map((m) => Date.parse(m.timestamp))
    .filter((t) => Number.isFinite(t));
  if (times.length > 0) {{
    api.accessToken.setCustomClaim(CLAIMS.auth_time, Math.floor(Math.max(...times) / 1000));
  }}
  const amr = [...new Set(methods.map((m) => m.name).filter((n) => typeof n === "string"))];
  api.accessToken.setCustomClaim(CLAIMS.amr, amr);
  if (amr.includes("mfa")) {{
    api.accessToken.setCustomClaim(CLAIMS.acr, MFA_ACR);
  }}
}};
"""


def action_code(claims: Mapping[str, str]) -> str:
    """The Action's JavaScript, with the claim names of these settings."""
    return _TEMPLATE.format(marker=MARKER, claims=json.dumps(dict(claims), indent=2),
                            mfa_acr=json.dumps(MFA_ACR))
