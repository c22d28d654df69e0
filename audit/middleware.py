import re
import uuid

from audit.context import Actor, Origin, acting_as, user_actor
from config.network import client_ip, from_trusted_proxy

# A request id from a trusted proxy is kept (so logs line up across hops) if it looks sane.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AuditContextMiddleware:
    """Sets who acts and from where for the audit events of this request (L1). Runs after the
    tenant middleware, so the actor's role in the organisation is known."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered_id = request.META.get("HTTP_X_REQUEST_ID", "")
        if from_trusted_proxy(request) and REQUEST_ID.match(offered_id):
            request_id = offered_id
        else:
            request_id = uuid.uuid4().hex
        origin = Origin(
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            request_id=request_id,
        )
        user = getattr(request, "user", None)
        bearer = getattr(request, "bearer", None)
        if user is not None and user.is_authenticated:
            membership = getattr(request, "membership", None)
            role = membership.role if membership else ""
            # An API token acts as itself, naming its owner (tokens.bearer, A17).
            actor = bearer.actor(role) if bearer is not None else user_actor(user, role)
        else:
            actor = Actor(type="anonymous")
        request.request_id = request_id
        with acting_as(actor, origin):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
