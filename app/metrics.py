"""Prometheus metrics, defined once here and incremented where things happen.

`/metrics` and gunicorn multiprocess mode (PROMETHEUS_MULTIPROC_DIR) are set up
by the runtime; these objects work the same in one process or many.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("agw_requests_total", "Gateway requests", ["operation", "status"])
REQUEST_SECONDS = Histogram("agw_request_seconds", "Gateway request latency", ["operation"],
                            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
TOKEN_MINTS = Counter("agw_token_mints_total", "Management tokens minted", ["tier", "outcome"])
TOKEN_CACHE = Counter("agw_token_cache_total", "Management token lookups",
                      ["tier", "level", "result"])  # level: l1|l2, result: hit|miss|error
TOKEN_SCOPE_MISMATCH = Counter("agw_token_scope_mismatch_total",
                               "Tier tokens whose granted scopes differ from the declared ones",
                               ["tier", "kind"])  # kind: missing|extra
JWKS_FETCHES = Counter("agw_jwks_fetches_total", "JWKS fetches", ["outcome"])
TOKEN_REJECTIONS = Counter("agw_token_rejections_total", "End-user tokens rejected", ["reason"])
UPSTREAM_CALLS = Counter("agw_upstream_calls_total", "Management API calls",
                         ["operation", "status"])
UPSTREAM_SECONDS = Histogram("agw_upstream_seconds", "Management API latency", ["operation"],
                             buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
UPSTREAM_429 = Counter("agw_upstream_429_total", "Management API 429 answers", ["operation"])
RATE_LIMITED = Counter("agw_rate_limited_total", "Requests refused by per-caller limits",
                       ["limit"])
BUDGET_WAITS = Counter("agw_budget_waits_total", "Waits for the fleet Management API budget",
                       ["outcome"])  # outcome: immediate|waited|refused
REDIS_ERRORS = Counter("agw_redis_errors_total", "Redis failures degraded around", ["component"])
AUDIT_EVENTS = Counter("agw_audit_events_total", "Audit events written",
                       ["outcome", "stored"])  # stored: stream|log_only (Redis down)
SCOPE_VIOLATIONS = Counter("agw_scope_violations_total",
                           "Upstream answers that held users outside the caller's delegated "
                           "scope (answered 502: a security event)", ["operation"])
# Labelled, like every metric here: an unlabelled one writes its multiprocess file at
# import, before gunicorn's master has made PROMETHEUS_MULTIPROC_DIR.
COALESCED_READS = Counter("agw_coalesced_reads_total",
                          "Management API reads answered by an identical read already in "
                          "flight (no call of their own)", ["operation"])
READ_CACHE = Counter("agw_read_cache_total", "Management read cache lookups (when on)",
                     ["result"])  # result: hit|miss
