"""Documents pages (D4): the web portal's documents and the client portal's shared documents."""

page_patterns: list = []
client_page_patterns: list = []
