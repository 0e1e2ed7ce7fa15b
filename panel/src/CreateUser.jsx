// Create a user: POST /api/v2/users in the database connection. Auth0's and the
// gateway's validation errors come back as problem+json with field errors.

import { useState } from "react";

import { useAccess } from "./access.js";
import { Problem } from "./components.jsx";
import { navigate } from "./router.js";

const CONNECTION = "Username-Password-Authentication";

export default function CreateUser({ api }) {
  const access = useAccess();
  const [values, setValues] = useState({
    email: "", password: "", name: "", connection: CONNECTION,
    department: access.me?.department || "",
  });
  const [error, setError] = useState(null);
  const [saving, setSaving] = useState(false);
  const set = (name) => (event) => setValues({ ...values, [name]: event.target.value });
  const withAppMetadata = access.has("users:update_app_metadata");

  async function create(event) {
    event.preventDefault();
    setError(null);
    setSaving(true);
    const body = { connection: values.connection, email: values.email,
                   password: values.password };
    if (values.name) body.name = values.name;
    if (withAppMetadata && values.department) body.app_metadata = { department: values.department };
    try {
      const user = await api.send("POST", "/api/v2/users", body);
      navigate(["users", user.user_id]);
    } catch (failure) {
      setError(failure);
    } finally {
      setSaving(false);
    }
  }

  return (
    <section>
      <p><a href="#/users">← Users</a></p>
      <h1>Create user</h1>
      {/* noValidate: the gateway validates, and its field errors are what we show. */}
      <form className="card edit" onSubmit={create} aria-label="Create user" noValidate>
        <div className="fields">
          <label>Email<input name="email" type="email" required value={values.email}
                             onChange={set("email")} autoComplete="off" /></label>
          <label>Password<input name="password" type="password" required value={values.password}
                                onChange={set("password")} autoComplete="new-password" /></label>
          <label>Name<input name="name" value={values.name} onChange={set("name")} /></label>
          <label>Connection<input name="connection" value={values.connection}
                                  onChange={set("connection")} /></label>
          {withAppMetadata ? (
            <label>Department (app_metadata)
              <input name="department" value={values.department} onChange={set("department")} />
            </label>
          ) : null}
        </div>
        <Problem error={error} />
        <div className="buttons">
          <button type="submit" className="primary" disabled={saving}>
            {saving ? "Creating…" : "Create"}
          </button>
          <a className="button" href="#/users">Cancel</a>
        </div>
      </form>
    </section>
  );
}
