"""Read the gateway's Prometheus metrics (the in-process default registry)."""

from __future__ import annotations

from prometheus_client import REGISTRY


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def rejections(reason: str) -> float:
    return REGISTRY.get_sample_value("agw_token_rejections_total", {"reason": reason}) or 0.0


def jwks_fetch_metric(outcome: str) -> float:
    return REGISTRY.get_sample_value("agw_jwks_fetches_total", {"outcome": outcome}) or 0.0
