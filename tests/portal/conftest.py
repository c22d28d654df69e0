"""The workforce ``world`` (tests/workforce/conftest.py) for the portal pages, and a check of
what a rendered page may contain under the Content-Security-Policy (O10)."""

from __future__ import annotations

import re

from tests.workforce.conftest import world  # noqa: F401 - the shared fixture

CSP = "Content-Security-Policy"
# What the policy would refuse: a <script> without src, an on*= handler, a style attribute,
# a <style> element.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)


def assert_csp_clean(response) -> None:
    """The policy is sent, and the page needs nothing it refuses."""
    assert CSP in response.headers, response
    policy = response.headers[CSP]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    html = response.content.decode()
    for pattern in (INLINE_SCRIPT, HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT):
        found = pattern.search(html)
        assert found is None, (response.request["PATH_INFO"], found and found.group(0))
