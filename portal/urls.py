"""The web portal's organisation pages (``page_patterns``, under ``/o/<slug>/`` on the portal
host) and the client portal's (``client_page_patterns``, under ``/o/<slug>/`` on the client
host)."""

page_patterns: list = []
client_page_patterns: list = []
