"""Client accounts pages (D1): the clients list, a client's page and its contacts."""

page_patterns: list = []
