from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from tokens.bearer import bearer_presented


class BearerAuthentication(BaseAuthentication):
    """DRF's view of a bearer credential (A8, A17) that ``tenants.middleware`` has already
    authenticated (``request.bearer``). Listed before session authentication, so a bearer
    request is never taken for a session one (and never needs a CSRF token). Elsewhere than
    the organisation API a bearer credential is refused rather than ignored."""

    def authenticate(self, request):
        principal = getattr(request._request, "bearer", None)
        if principal is not None:
            return principal.user, principal
        if bearer_presented(request._request):
            raise AuthenticationFailed(
                "Bearer credentials are accepted on the organisation API (/api/v1/o/<slug>/) only."
            )
        return None

    def authenticate_header(self, request):
        # 401 with a challenge for bearer clients; a browser without a session keeps its 403.
        if bearer_presented(request._request):
            return 'Bearer realm="api"'
        return None
