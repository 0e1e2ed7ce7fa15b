// User search: GET /api/v2/users with q, page, per_page, sort, include_totals.
// The gateway narrows every search to the users the caller may see (delegated
// scope); the total is what Auth0 counted for that narrowed query.

import { useState } from "react";

import { may, useAccess } from "./access.js";
import { ActionButton, Badge, Loading, Problem, formatDate, useLoad } from "./components.jsx";
import { href, navigate } from "./router.js";

const PAGE_SIZES = [10, 25, 50, 100];
const COLUMNS = [
  ["name", "Name"],
  ["email", "Email"],
  [null, "Department"],
  [null, "Status"],
  ["last_login", "Last login"],
  ["logins_count", "Logins"],
];
const FIELDS = "user_id,name,email,email_verified,blocked,app_metadata,last_login,logins_count";

// Plain words search names and emails (each word, as a substring); anything with a
// colon or quotes is passed as Lucene (email:ali*, name:"Alice Anders").
export function toLucene(text) {
  const trimmed = text.trim();
  if (!trimmed || /[:"()]/.test(trimmed)) return trimmed;
  return trimmed.split(/\s+/)
    .map((word) => word.replace(/[+\-!(){}[\]^"~*?:\\/&|]/g, "\\$&"))
    .map((word) => `(name:*${word}* OR email:*${word}*)`)
    .join(" AND ");
}

export default function UserSearch({ api, params }) {
  const access = useAccess();
  const text = params.get("text") || "";
  const page = Number(params.get("page") || 0);
  const perPage = Number(params.get("per_page") || 25);
  const sort = params.get("sort") || "name:1";
  const [draft, setDraft] = useState(text);

  const result = useLoad(() => api.get("/api/v2/users", {
    q: toLucene(text), page, per_page: perPage, sort, include_totals: "true",
    fields: FIELDS, search_engine: "v3",
  }), [api, text, page, perPage, sort]);

  const go = (changes) => navigate(["users"], {
    text, page, per_page: perPage, sort, ...changes,
  });
  const [sortField, sortDir] = sort.split(":");
  // Paging as Auth0 answered it (start, limit), so the summary always matches the rows.
  const total = result.data?.total ?? 0;
  const shownLimit = result.data?.limit || perPage;
  const shownPage = result.data ? Math.floor(result.data.start / shownLimit) : page;
  const pages = Math.max(1, Math.ceil(Math.min(total, 1000) / shownLimit));

  return (
    <section>
      <div className="toolbar">
        <h1>Users</h1>
        {access.show(may(access, "createUser")) ? (
          <ActionButton allowed={may(access, "createUser")} className="primary"
                        onClick={() => navigate(["new-user"])}>Create user</ActionButton>
        ) : null}
      </div>
      <form className="search" role="search" onSubmit={(event) => {
        event.preventDefault();
        go({ text: draft, page: 0 });
      }}>
        <input type="search" aria-label="Search users" value={draft}
               placeholder='Name or email – or Lucene: email:ali*, blocked:true'
               onChange={(event) => setDraft(event.target.value)} />
        <button type="submit" className="primary">Search</button>
        <label className="inline">Per page{" "}
          <select value={perPage} aria-label="Users per page"
                  onChange={(event) => go({ per_page: event.target.value, page: 0 })}>
            {PAGE_SIZES.map((size) => <option key={size} value={size}>{size}</option>)}
          </select>
        </label>
      </form>
      <Problem error={result.error} />
      {result.loading && !result.data ? <Loading what="Searching" /> : null}
      {result.data ? (
        <>
          <p className="muted summary" data-testid="result-summary">
            {total === 0 ? "No users match." : `${total} user${total === 1 ? "" : "s"}, page ${shownPage + 1} of ${pages}`}
            {access.me?.department && !access.has("users:scope:all")
              ? ` · limited to department “${access.me.department}”` : ""}
          </p>
          <table className="users" aria-busy={result.loading ? "true" : "false"}>
            <thead>
              <tr>
                {COLUMNS.map(([field, label]) => (
                  <th key={label} scope="col" aria-sort={field === sortField
                    ? (sortDir === "1" ? "ascending" : "descending") : undefined}>
                    {field ? (
                      <button type="button" className="link sort"
                              onClick={() => go({
                                sort: `${field}:${field === sortField && sortDir === "1" ? -1 : 1}`,
                                page: 0,
                              })}>
                        {label}{field === sortField ? (sortDir === "1" ? " ▲" : " ▼") : ""}
                      </button>
                    ) : label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {result.data.users.map((user) => (
                <tr key={user.user_id}>
                  <td><a href={href(["users", user.user_id])}>{user.name || user.user_id}</a></td>
                  <td>{user.email}</td>
                  <td>{user.app_metadata?.department || "–"}</td>
                  <td>
                    {user.blocked ? <Badge kind="danger">blocked</Badge> : <Badge kind="ok">active</Badge>}
                    {user.email_verified === false ? <Badge kind="warn">unverified</Badge> : null}
                  </td>
                  <td>{formatDate(user.last_login)}</td>
                  <td className="number">{user.logins_count ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav className="pager" aria-label="Pages">
            <button type="button" disabled={page === 0} onClick={() => go({ page: page - 1 })}>
              ← Previous
            </button>
            <span className="muted">Page {shownPage + 1} of {pages}</span>
            <button type="button" disabled={page + 1 >= pages}
                    onClick={() => go({ page: page + 1 })}>Next →</button>
          </nav>
        </>
      ) : null}
    </section>
  );
}
