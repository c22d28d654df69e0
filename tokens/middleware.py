from django.http import HttpRequest, JsonResponse

from audit.services import audit_event_record_durably
from tokens.scopes import required_scope


class ApiTokenScopeMiddleware:
    """Refuses (403) an API-token request whose view declares no scope for the method, or a
    scope the token does not hold (A17, Z1: nothing is open to tokens by default). Checked
    before the view, so it holds whatever permission classes the view has; the view's own
    role checks then apply to the token's owner."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        bearer = getattr(request, "bearer", None)
        if bearer is None or bearer.api_token is None:
            return None
        scope = required_scope(getattr(view_func, "view_class", None), request.method)
        if scope is not None and scope in bearer.api_token.scopes:
            return None
        audit_event_record_durably(
            request,
            action="access.denied",
            entity_type="tokens.apitoken",
            entity_id=bearer.api_token.pk,
            changes={
                "path": [None, request.path],
                "method": [None, request.method],
                "scope": [None, scope],
            },
        )
        if scope is None:
            detail = "API tokens cannot use this endpoint."
        else:
            detail = f"This API token lacks the scope {scope}."
        return JsonResponse({"detail": detail, "code": "insufficient_scope"}, status=403)
