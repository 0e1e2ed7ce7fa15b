// Choose a role to assign: a list of the tenant's roles (GET /api/v2/roles) when the
// caller may read them, otherwise the role's id typed in (rol_...).

import { useAccess } from "./access.js";
import { listOf, useLoad } from "./components.jsx";

export default function RoleChoice({ api, value, onChange, exclude = [], label = "Role" }) {
  const access = useAccess();
  const canList = access.can("get_roles");
  const roles = useLoad(() => (canList ? api.get("/api/v2/roles") : Promise.resolve(null)),
    [api, canList]);
  if (!canList) {
    return (
      <input aria-label={label} placeholder="Role id (rol_…)" value={value}
             onChange={(event) => onChange(event.target.value)} />
    );
  }
  const choices = listOf(roles.data, "roles").filter((role) => !exclude.includes(role.id));
  return (
    <select aria-label={label} value={value} onChange={(event) => onChange(event.target.value)}>
      <option value="">Choose a role…</option>
      {choices.map((role) => <option key={role.id} value={role.id}>{role.name}</option>)}
    </select>
  );
}
