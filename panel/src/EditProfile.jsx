// Edit profile: PATCH /api/v2/users/{id} with only the fields that changed.
// Metadata editors appear only with their own permissions (users:update_metadata,
// users:update_app_metadata); the gateway checks each field anyway.

import { useState } from "react";

import { userPath } from "./api.js";
import { useAccess } from "./access.js";
import { Problem } from "./components.jsx";

const TEXT_FIELDS = [
  ["name", "Name"],
  ["given_name", "Given name"],
  ["family_name", "Family name"],
  ["nickname", "Nickname"],
  ["email", "Email"],
];

function parseJson(label, text) {
  try {
    const value = JSON.parse(text || "{}");
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // fall through
  }
  throw new Error(`${label} must be a JSON object.`);
}

export default function EditProfile({ api, user, onCancel, onSaved }) {
  const access = useAccess();
  const [values, setValues] = useState(() => Object.fromEntries(
    TEXT_FIELDS.map(([name]) => [name, user[name] || ""])));
  const [userMeta, setUserMeta] = useState(JSON.stringify(user.user_metadata || {}, null, 2));
  const [appMeta, setAppMeta] = useState(JSON.stringify(user.app_metadata || {}, null, 2));
  const [error, setError] = useState(null);
  const [saving, setSaving] = useState(false);
  const editProfile = access.has("users:update");
  const editUserMeta = access.has("users:update_metadata");
  const editAppMeta = access.has("users:update_app_metadata");

  async function save(event) {
    event.preventDefault();
    setError(null);
    const body = {};
    for (const [name] of TEXT_FIELDS) {
      if ((values[name] || "") !== (user[name] || "")) body[name] = values[name];
    }
    try {
      const original = (value) => JSON.stringify(value || {}, null, 2);
      if (editUserMeta && userMeta !== original(user.user_metadata)) {
        body.user_metadata = parseJson("user_metadata", userMeta);
      }
      if (editAppMeta && appMeta !== original(user.app_metadata)) {
        body.app_metadata = parseJson("app_metadata", appMeta);
      }
    } catch (failure) {
      setError(failure);
      return;
    }
    if (Object.keys(body).length === 0) {
      onCancel();
      return;
    }
    setSaving(true);
    try {
      await api.send("PATCH", userPath(user.user_id), body);
      onSaved();
    } catch (failure) {
      setError(failure);
    } finally {
      setSaving(false);
    }
  }

  return (
    <form className="card edit" onSubmit={save} aria-label="Edit profile">
      <h2>Edit profile</h2>
      <div className="fields">
        {TEXT_FIELDS.map(([name, label]) => (
          <label key={name}>{label}
            <input name={name} value={values[name]} disabled={!editProfile}
                   title={editProfile ? undefined : "Needs the permission users:update"}
                   onChange={(e) => setValues({ ...values, [name]: e.target.value })} />
          </label>
        ))}
      </div>
      {editUserMeta ? (
        <label>user_metadata (JSON)
          <textarea name="user_metadata" rows={5} value={userMeta}
                    onChange={(e) => setUserMeta(e.target.value)} />
        </label>
      ) : null}
      {editAppMeta ? (
        <label>app_metadata (JSON)
          <textarea name="app_metadata" rows={5} value={appMeta}
                    onChange={(e) => setAppMeta(e.target.value)} />
        </label>
      ) : null}
      <Problem error={error} />
      <div className="buttons">
        <button type="submit" className="primary" disabled={saving}>
          {saving ? "Saving…" : "Save"}
        </button>
        <button type="button" onClick={onCancel} disabled={saving}>Cancel</button>
      </div>
    </form>
  );
}
