"""The in-memory Management API v2 subset (``/api/v2``)."""
