"""Organisation security settings pages: second-factor policy, session timeouts, IP
allowlist and API tokens."""

page_patterns: list = []
