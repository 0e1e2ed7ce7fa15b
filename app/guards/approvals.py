"""Four-eyes approvals, the facade's `approvals.hold` step: writes the policy names are
validated and checked as usual, then stored (encrypted, in Redis) and answered `202
Accepted` with an approval resource instead of being sent. Another holder of the approver
permission approves or rejects; on approval every check runs again on a fresh `Call` and
the Management API is called once, whatever the number of instances or retries.

    [approvals]
    operations = ["delete_users_by_id", "delete_authenticators"]   # operation ids
    permissions = ["users:update_app_metadata", "users:roles:assign"]
    approver_permission = "approvals:decide"
    approvers = 1            # distinct approvers needed, never the requester
    expires_in = 86400       # seconds a request waits for its approvers

Exactly once: a record's state moves only by compare-and-set on its version (one Lua
script, one key), and only the decision that moves it from `pending` to `executing`
executes it; `executing` ends as `executed` or `failed` with the outcome stored. A crash in
between leaves it `executing` — never executed twice (it may or may not have reached Auth0).

Design: docs/guardrails.md, "Four-eyes approvals".
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, current_app
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from config.settings import Settings

from .. import audit
from ..auth.access import decide
from ..auth.policy import Locator
from ..auth.principal import Principal
from ..call import Call
from ..catalog import BY_ID, PERMISSIONS, Operation
from ..errors import Problem, forbidden
from ..management import upstream
from ..management.response_filter import filter_response
from ..redis_conn import key as redis_key
from ..redis_conn import redis_client
from ..schemas.requests import validator_for
from ..state import policy, policy_section
from . import escalation, scope, stepup

log = logging.getLogger("admin_gateway.approvals")

SECTION = "approvals"
EXTENSION = "admin_gateway.approvals"
DEFAULT_APPROVER_PERMISSION = "approvals:decide"
KEYS = ("operations", "permissions", "approver_permission", "approvers", "expires_in")
STATES = ("pending", "executing", "executed", "failed", "rejected", "expired", "withdrawn")
RETENTION_SECONDS = 30 * 86400  # decided records stay readable this long
MAX_REASON_CHARS = 500
MAX_SCAN = 2000
CAS_ATTEMPTS = 20
REDACTED_FIELDS = frozenset({"password"})

# Move a record only if nobody moved it since we read it (version compare-and-set).
_CAS = """
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'state', ARGV[3], 'sealed', ARGV[4])
return 1
"""


@dataclass(frozen=True)
class ApprovalsConfig:
    operations: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    approver_permission: str = DEFAULT_APPROVER_PERMISSION
    approvers: int = 1
    expires_in: int = 86400

    def applies(self, operation: Operation, fields: Iterable[str]) -> bool:
        return (operation.operation_id in self.operations
                or bool(operation.required_permissions(fields) & self.permissions))


def _names(raw: Any) -> tuple[str, ...] | None:
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
        return None
    return tuple(dict.fromkeys(raw))


def parse_section(raw: Any, locate: Locator, problems: list[str]) -> ApprovalsConfig:
    def where(key: str | None = None, value: str | None = None) -> str:
        return locate.where(section=(SECTION,), key=key, value=value)

    if not isinstance(raw, dict):
        problems.append(f"{locate.where(key=SECTION)}: [approvals] must be a table")
        return ApprovalsConfig()
    unknown = set(raw) - set(KEYS)
    if unknown:
        problems.append(f"{where()}: [approvals]: unknown key(s) {', '.join(sorted(unknown))}; "
                        f"allowed: {', '.join(KEYS)}")
    operations = _names(raw.get("operations", []))
    permissions = _names(raw.get("permissions", []))
    if operations is None:
        problems.append(f"{where('operations')}: [approvals] operations must be a list of "
                        f"operation ids")
        operations = ()
    if permissions is None:
        problems.append(f"{where('permissions')}: [approvals] permissions must be a list of "
                        f"permissions")
        permissions = ()
    for name in operations:
        if name not in BY_ID:
            problems.append(f"{where(value=name)}: [approvals] unknown operation {name!r} "
                            f"(README, Endpoints)")
        elif not BY_ID[name].is_write:
            problems.append(f"{where(value=name)}: [approvals] {name!r} is a read: only "
                            f"writes can wait for approval")
    for name in permissions:
        if name not in PERMISSIONS:
            problems.append(f"{where(value=name)}: [approvals] unknown permission {name!r}")
    approver = raw.get("approver_permission", DEFAULT_APPROVER_PERMISSION)
    if approver not in PERMISSIONS:
        problems.append(f"{where('approver_permission')}: [approvals] approver_permission "
                        f"{approver!r} is not a gateway permission")
        approver = DEFAULT_APPROVER_PERMISSION
    count = raw.get("approvers", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 5:
        problems.append(f"{where('approvers')}: [approvals] approvers must be 1 to 5")
        count = 1
    expires = raw.get("expires_in", 86400)
    if isinstance(expires, bool) or not isinstance(expires, int) \
            or not 60 <= expires <= 30 * 86400:
        problems.append(f"{where('expires_in')}: [approvals] expires_in must be seconds "
                        f"between 60 and 2592000 (30 days)")
        expires = 86400
    if not (operations or permissions):
        problems.append(f"{where()}: [approvals] names no operations and no permissions: it "
                        f"would hold nothing")
    return ApprovalsConfig(frozenset(operations), frozenset(permissions), str(approver),
                           count, expires)


def config() -> ApprovalsConfig | None:
    found = policy_section(SECTION, None)
    assert found is None or isinstance(found, ApprovalsConfig)
    return found


# -- the requester, as stored -----------------------------------------------------------


def snapshot(principal: Principal) -> dict[str, Any]:
    """The requester as the approval needs them later. `token_permissions` are those the
    token itself carried (beyond what the policy granted its roles then): on execution the
    roles are re-read against the current policy."""
    from_roles = policy().permissions_for(principal.roles)
    data = dataclasses.asdict(principal)
    data["permissions"] = sorted(principal.permissions)
    data["token_permissions"] = sorted(principal.permissions - from_roles)
    data["roles"] = list(principal.roles)
    data["amr"] = list(principal.amr)
    data["unusable_claims"] = sorted(principal.unusable_claims)
    return data


def requester_now(stored: dict[str, Any]) -> Principal:
    """The requester with the permissions their token carried plus what the CURRENT policy
    grants their roles (a role the policy no longer grants loses its permissions)."""
    roles = tuple(str(r) for r in stored.get("roles", []))
    permissions = set(stored.get("token_permissions", [])) | policy().permissions_for(roles)
    return Principal(
        subject=str(stored["subject"]), client_id=stored.get("client_id"),
        org_id=stored.get("org_id"), department=stored.get("department"), roles=roles,
        permissions=frozenset(p for p in permissions if p in PERMISSIONS),
        is_machine=bool(stored.get("is_machine")), expires_at=int(stored["expires_at"]),
        unusable_claims=frozenset(stored.get("unusable_claims", [])),
        auth_time=stored.get("auth_time"), acr=stored.get("acr"),
        amr=tuple(stored.get("amr", [])))


# -- the store ----------------------------------------------------------------------------


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat(
        timespec="seconds").replace("+00:00", "Z")


def unavailable() -> Problem:
    return Problem(503, "Approval requests are kept in Redis, which is unavailable right now; "
                        "nothing was changed.", slug="approvals-unavailable",
                   headers={"Retry-After": "5"})


def not_found() -> Problem:
    return Problem(404, "No such approval request (or not yours to see).",
                   slug="approval-not-found")


@dataclass
class Stored:
    record: dict[str, Any]
    version: str

    @property
    def state(self) -> str:
        state = str(self.record["state"])
        if state == "pending" and time.time() >= float(self.record["expires_at"]):
            return "expired"
        return state


class ApprovalStore:
    """Approval records in Redis: a hash per record (state, version, sealed = the Fernet-
    encrypted record) and a sorted index by creation time."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.client = client
        self.fernet = Fernet(settings.token_cache_key.reveal().encode())
        self.index = redis_key(settings, "approvals")
        self._cas = client.register_script(_CAS)

    def key(self, approval_id: str) -> str:
        return redis_key(self.settings, "approval", approval_id)

    def _seal(self, record: dict[str, Any]) -> str:
        return self.fernet.encrypt(json.dumps(record).encode()).decode()

    def _open(self, sealed: Any) -> dict[str, Any] | None:
        try:
            data = json.loads(self.fernet.decrypt(sealed))
        except (InvalidToken, TypeError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def create(self, record: dict[str, Any]) -> None:
        key = self.key(record["id"])
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hset(key, mapping={"version": "1", "state": record["state"],
                                    "sealed": self._seal(record)})
            pipe.expireat(key, int(record["expires_at"]) + RETENTION_SECONDS)
            pipe.zadd(self.index, {record["id"]: record["created_at"]})
            pipe.execute()
        except redis.RedisError:
            raise unavailable() from None

    def get(self, approval_id: str) -> Stored | None:
        try:
            raw = self.client.hgetall(self.key(approval_id))
        except redis.RedisError:
            raise unavailable() from None
        return self._stored(raw)

    def _stored(self, raw: Any) -> Stored | None:
        if not raw:
            return None
        sealed = raw.get(b"sealed") or raw.get("sealed")
        version = raw.get(b"version") or raw.get("version")
        record = self._open(sealed)
        if record is None or version is None:
            log.warning("an approval record could not be decrypted (TOKEN_CACHE_KEY changed?)")
            return None
        return Stored(record, version.decode() if isinstance(version, bytes) else str(version))

    def swap(self, stored: Stored, record: dict[str, Any]) -> bool:
        """Store `record` if nobody changed the record since `stored` was read."""
        try:
            done = self._cas(keys=[self.key(record["id"])],
                             args=[stored.version, str(int(stored.version) + 1),
                                   record["state"], self._seal(record)])
        except redis.RedisError:
            raise unavailable() from None
        return bool(done)

    def newest(self, before: float | None = None) -> Iterator[Stored]:
        """Records newest first (at most MAX_SCAN); ids whose record is gone leave the index."""
        try:
            upper: Any = f"({before}" if before is not None else "+inf"
            ids: list[Any] = list(self.client.zrevrangebyscore(
                self.index, upper, "-inf", start=0, num=MAX_SCAN) or [])
            pipe = self.client.pipeline(transaction=False)
            for approval_id in ids:
                pipe.hgetall(self.key(approval_id.decode() if isinstance(approval_id, bytes)
                                      else str(approval_id)))
            rows = pipe.execute()
            gone = [i for i, row in zip(ids, rows, strict=True) if not row]
            if gone:
                self.client.zrem(self.index, *gone)
        except redis.RedisError:
            raise unavailable() from None
        for row in rows:
            stored = self._stored(row)
            if stored is not None:
                yield stored


def store(app: Flask | None = None) -> ApprovalStore:
    found = (app or current_app).extensions[EXTENSION]
    assert isinstance(found, ApprovalStore)
    return found


def init_app(app: Flask, settings: Settings) -> ApprovalStore:
    found = ApprovalStore(settings, redis_client(app))
    app.extensions[EXTENSION] = found
    return found


# -- what callers see -----------------------------------------------------------------------


def _shown_body(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    return {k: ("[redacted]" if k in REDACTED_FIELDS else v) for k, v in body.items()}


def resource(stored: Stored) -> dict[str, Any]:
    """The approval as `/gateway/approvals/{id}` shows it (never a password, never an
    upstream answer: a password-change ticket is a credential)."""
    record = stored.record
    operation = BY_ID[record["operation_id"]]
    requester = record["requester"]
    return {
        "id": record["id"],
        "state": stored.state,
        "operation": {"id": operation.operation_id, "method": operation.method,
                      "path": operation.gateway_path, "summary": operation.summary},
        "target": record.get("target"),
        "path_params": record["path"],
        "query": dict(record["query"]),
        "body": _shown_body(record["body"]),
        "requester": {"sub": requester["subject"], "roles": requester.get("roles", [])},
        "reason": record.get("reason"),
        "created_at": _iso(record["created_at"]),
        "expires_at": _iso(record["expires_at"]),
        "approvals_required": record["required"],
        "decisions": [{**d, "at": _iso(d["at"])} for d in record.get("decisions", [])],
        "outcome": record.get("outcome"),
        "links": {"self": f"/gateway/approvals/{record['id']}"},
    }


# -- the pipeline step ----------------------------------------------------------------------


def _reason(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = "".join(c for c in raw if c.isprintable()).strip()[:MAX_REASON_CHARS]
    return text or None


def hold(call: Call, reason: str | None) -> None:
    """Pipeline step (after escalation, before the Management call): when the policy says
    this write needs approval, store it and answer 202 with the approval resource."""
    rule = config()
    if rule is None or not call.operation.is_write or not rule.applies(call.operation,
                                                                       call.fields):
        return
    now = time.time()
    record: dict[str, Any] = {
        "id": "apr_" + secrets.token_hex(12),
        "state": "pending",
        "operation_id": call.operation.operation_id,
        "path": call.request.path,
        "query": [list(pair) for pair in call.request.upstream_query()],
        "body": call.request.body,
        "fields": list(call.fields),
        "target": call.target_user,
        # Everyone the call acts on (members a body lists, an unlink's restored account):
        # none of them may approve it.
        "acted": list(call.acted_users),
        "requester": snapshot(call.principal),
        "reason": _reason(reason),
        "created_at": now,
        "expires_at": now + rule.expires_in,
        "required": rule.approvers,
        "decisions": [],
        "outcome": None,
    }
    store().create(record)
    call.approval_id = record["id"]
    call.status = 202
    call.response = resource(Stored(record, "1"))


# -- deciding ------------------------------------------------------------------------------


def visible_to(stored: Stored, principal: Principal, rule: ApprovalsConfig) -> bool:
    return (stored.record["requester"]["subject"] == principal.subject
            or may_decide(principal, rule))


def may_decide(principal: Principal, rule: ApprovalsConfig) -> bool:
    """Approvers see every user's requests, so they also need the permission that lifts
    delegated scope (as for the audit trail)."""
    return (principal.has(rule.approver_permission)
            and principal.has(scope.config().unrestricted_permission))


def require_config() -> ApprovalsConfig:
    rule = config()
    if rule is None:
        raise Problem(404, "Approvals are not enabled in this gateway's policy.",
                      slug="approval-not-found")
    return rule


def _refuse(approval_id: str, target: str | None, status: int, slug: str, detail: str,
            decision: str, **extra: Any) -> Problem:
    problem = Problem(status, detail, slug=slug, extra={"approval_id": approval_id, **extra})
    audit.record_approval(decision, approval_id, target, status, slug, detail, None)
    return problem


def decide_request(approval_id: str, approver: Principal, decision: str,
                   reason: str | None) -> tuple[Stored, Problem | None]:
    """Approve or reject; on the approval that completes the count, execute (once)."""
    rule = require_config()
    if not may_decide(approver, rule):
        needed = (rule.approver_permission if not approver.has(rule.approver_permission)
                  else scope.config().unrestricted_permission)
        refusal = forbidden(needed, f"Deciding approval requests needs the permissions "
                                    f"{rule.approver_permission} and "
                                    f"{scope.config().unrestricted_permission}.")
        audit.record_approval(decision, approval_id, None, 403, "insufficient-permission",
                              str(refusal.description), None)
        raise refusal
    for _ in range(CAS_ATTEMPTS):
        stored = store().get(approval_id)
        if stored is None:
            raise not_found()
        record = dict(stored.record)
        target = record.get("target")
        requester = record["requester"]["subject"]
        state = stored.state
        if state == "expired" and record["state"] == "pending":
            record["state"] = "expired"
            store().swap(stored, record)
            audit.record_approval("expire", approval_id, target, 409, "approval-expired",
                                  "expired before enough approvals", requester)
        if state != "pending":
            slug = "approval-expired" if state == "expired" else "approval-decided"
            raise _refuse(approval_id, target, 409, slug,
                          f"This request is {state}; it can no longer be decided.", decision,
                          state=state)
        if approver.subject == requester:
            raise _refuse(approval_id, target, 403, "approval-by-requester",
                          "You asked for this change; another approver must decide it.",
                          decision)
        if approver.subject == target or approver.subject in record.get("acted", ()):
            raise _refuse(approval_id, target, 403, "approval-on-self",
                          "This request acts on your own account; another approver must "
                          "decide it.", decision)
        if decision == "approve":
            _approver_steps_up(record, approver)
        decisions = list(record.get("decisions", []))
        if any(d["by"] == approver.subject for d in decisions):
            raise _refuse(approval_id, target, 409, "approval-decided",
                          "You have already approved this request; it needs another "
                          "approver.", decision, state=state)
        decisions.append({"by": approver.subject, "decision": decision,
                          "reason": _reason(reason), "at": time.time()})
        record["decisions"] = decisions
        approvals = sum(1 for d in decisions if d["decision"] == "approve")
        if decision == "reject":
            record["state"] = "rejected"
        elif approvals >= int(record["required"]):
            record["state"] = "executing"
        if store().swap(stored, record):
            break
    else:
        raise unavailable()
    audit.record_approval(decision, approval_id, target, 200, None, None, requester)
    swapped = Stored(record, str(int(stored.version) + 1))
    if record["state"] != "executing":
        return swapped, None
    return execute(swapped)


def withdraw(approval_id: str, requester: Principal) -> Stored:
    """The requester takes back a pending request (nobody else may; it ends, nothing is
    sent)."""
    require_config()
    for _ in range(CAS_ATTEMPTS):
        stored = store().get(approval_id)
        if stored is None or stored.record["requester"]["subject"] != requester.subject:
            raise not_found()
        record = dict(stored.record)
        target = record.get("target")
        if stored.state != "pending":
            raise _refuse(approval_id, target, 409, "approval-decided",
                          f"This request is {stored.state}; it can no longer be withdrawn.",
                          "withdraw", state=stored.state)
        record["state"] = "withdrawn"
        if store().swap(stored, record):
            audit.record_approval("withdraw", approval_id, target, 200, None, None,
                                  requester.subject)
            return Stored(record, str(int(stored.version) + 1))
    raise unavailable()


def _approver_steps_up(record: dict[str, Any], approver: Principal) -> None:
    """Approving takes the login the operation itself needs (`[step_up]`): the second
    person's approval is worth no less than the first person's request."""
    try:
        stepup.check(BY_ID[record["operation_id"]], record.get("fields", []), approver)
    except Problem as challenge:
        audit.record_approval("approve", record["id"], record.get("target"), 401,
                              "insufficient-user-authentication", challenge.description,
                              record["requester"]["subject"])
        raise


def execute(stored: Stored) -> tuple[Stored, Problem | None]:
    """Re-run every check on a fresh Call as the requester (current policy, current state
    of the target), then call Auth0 once; store the outcome (executing → executed/failed)."""
    record = dict(stored.record)
    operation = BY_ID[record["operation_id"]]
    principal = requester_now(record["requester"])
    fields = tuple(record.get("fields", []))
    approvers = tuple(d["by"] for d in record["decisions"] if d["decision"] == "approve")
    call: Call | None = None
    failure: Problem | None = None
    try:
        missing = decide(operation, principal.permissions, fields).missing
        if missing:
            raise forbidden(" ".join(missing), f"The requester no longer holds the "
                                               f"permission {', '.join(missing)}.")
        validated = validator_for(operation).validate(
            record["path"], MultiDict([tuple(pair) for pair in record["query"]]),
            record["body"])
        call = Call(operation, principal, validated, fields, approval_id=record["id"],
                    approved_by=approvers)
        scope.check(call)  # the target's CURRENT state, in the requester's scope
        escalation.check(call)  # protected users, assignable roles, self-actions: now
        if not call.answered:
            call.tier = upstream().tier_for(operation, fields)
            result = upstream().send(operation, call.tier, validated.path,
                                     validated.upstream_query(), validated.body)
            call.status, call.response = result.status, filter_response(result.body)
        record["state"] = "executed"
        record["outcome"] = {"status": call.status}
    except HTTPException as refused:
        failure = refused if isinstance(refused, Problem) else Problem(
            refused.code or 500, refused.description or "The call failed.")
        record["state"] = "failed"
        record["outcome"] = {"status": failure.code, "type": failure.type,
                             "detail": failure.description}
    except Exception:
        record["state"] = "failed"
        record["outcome"] = {"status": 500, "detail": "The gateway failed while executing."}
        _finish(stored, record)
        audit.record_call(operation, principal, record["body"], call, 500)
        raise
    _finish(stored, record)
    status = int(record["outcome"]["status"] or 500)
    audit.record_call(operation, principal, record["body"], call, status, failure,
                      approval=(record["id"], approvers))
    done = Stored(record, str(int(stored.version) + 1))
    if failure is None:
        return done, None
    return done, Problem(failure.code or 500, f"Approved, but not executed: "
                                              f"{failure.description}",
                         title=getattr(failure, "title", None),
                         slug=failure.type.rsplit("/", 1)[-1]
                         if failure.type != "about:blank" else None,
                         extra={**getattr(failure, "extra", {}), "approval_id": record["id"],
                                "state": "failed"})


def _finish(stored: Stored, record: dict[str, Any]) -> None:
    """executing → executed/failed. Only the winner of pending → executing gets here, so the
    swap can only lose to nobody; it is still a compare-and-set."""
    current = stored
    for _ in range(CAS_ATTEMPTS):
        if store().swap(current, record):
            return
        found = store().get(record["id"])
        if found is None or found.record["state"] != "executing":
            return
        current = found
    log.error("approval %s: the outcome could not be stored", record["id"])
