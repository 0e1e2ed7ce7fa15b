"""HTTP blueprints: the /api/v2 facade, /gateway/*, health."""
