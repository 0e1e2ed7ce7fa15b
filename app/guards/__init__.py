"""Guardrails: per-caller rate limits, the fleet-wide Management API budget, delegated
scope and escalation protection (docs/guardrails.md). Each is a step of the facade's
pipeline (app/api/facade.py) or is wired by the app factory."""
