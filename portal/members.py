"""Member management pages: a member's role and attendance corrections."""

page_patterns: list = []
