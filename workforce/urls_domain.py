"""URL patterns of the product's time, people and document features; ``api_patterns`` is
included by config.urls_portal under ``/api/v1/o/<slug>/``."""

api_patterns: list = []
