"""Blueprints of the emulator's HTTP surface, one per Auth0 API area."""
