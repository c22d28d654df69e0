"""Request rate limits and failed sign-in throttling (A11), counted in Redis.

``limiter`` holds the counting (one Lua script, one round trip per request), ``policies`` what
is counted for a request (buckets and quotas), ``middleware`` applies them to every request,
and ``sign_in`` with ``backends`` throttles failed sign-ins per account and network. See
docs/architecture.md, "Rate limits (A11)".
"""
