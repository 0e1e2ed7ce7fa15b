// What the signed-in user may do, from GET /gateway/me: `operations` lists
// {method, path, operation_id} the caller may call (`can` asks by operation_id,
// `may` by method and path), `permissions` the gateway
// permissions (some body fields need one of their own, e.g. `blocked` needs
// users:block). Buttons appear only for what is allowed; the gateway still
// decides (it is the one that enforces).

import { createContext, useContext } from "react";

export function accessFrom(me, showAll = false) {
  const operations = new Set((me?.operations || []).map((op) => `${op.method} ${op.path}`));
  const operationIds = new Set((me?.operations || []).map((op) => op.operation_id));
  const permissions = new Set(me?.permissions || []);
  return {
    me,
    showAll,
    may: (method, path) => operations.has(`${method} ${path}`),
    can: (operationId) => operationIds.has(operationId),
    has: (permission) => permissions.has(permission),
    // A control is shown when allowed, or when "show all actions" is on (then marked).
    show(allowed) {
      return allowed || showAll;
    },
  };
}

export const AccessContext = createContext(accessFrom(null));
export const useAccess = () => useContext(AccessContext);

// The catalog's path templates (GET /gateway/me spells them this way).
export const OPS = {
  searchUsers: ["GET", "/api/v2/users"],
  createUser: ["POST", "/api/v2/users"],
  getUser: ["GET", "/api/v2/users/{id}"],
  updateUser: ["PATCH", "/api/v2/users/{id}"],
  deleteUser: ["DELETE", "/api/v2/users/{id}"],
  getRoles: ["GET", "/api/v2/users/{id}/roles"],
  assignRoles: ["POST", "/api/v2/users/{id}/roles"],
  removeRoles: ["DELETE", "/api/v2/users/{id}/roles"],
  getPermissions: ["GET", "/api/v2/users/{id}/permissions"],
  getLogs: ["GET", "/api/v2/users/{id}/logs"],
  getBlocks: ["GET", "/api/v2/user-blocks/{id}"],
  clearBlocks: ["DELETE", "/api/v2/user-blocks/{id}"],
  passwordTicket: ["POST", "/api/v2/tickets/password-change"],
  verificationEmail: ["POST", "/api/v2/jobs/verification-email"],
  listRoles: ["GET", "/api/v2/roles"],
};

export const may = (access, op) => access.may(OPS[op][0], OPS[op][1]);
