"""URL patterns included by config.urls_portal (``api_patterns`` under
``/api/v1/o/<slug>/``, ``page_patterns`` under ``/o/<slug>/``)."""

api_patterns: list = []
page_patterns: list = []
# The client portal's organisation pages (config.urls_client, under ``/o/<slug>/``).
client_page_patterns: list = []
