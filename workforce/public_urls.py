"""The organisations' public forms (D7), outside any organisation context; included by
config.urls_portal at the site root."""

patterns: list = []
