from __future__ import annotations

import logging

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseNotAllowed, JsonResponse

from rbac.access import membership_has
from rbac.denials import access_denied_record
from rbac.permissions import (
    PLATFORM_ADMIN,
    PLATFORM_SESSION_KEY,
    PUBLIC,
    SIGNED_IN_ONLY,
    declaration_of,
    implemented_methods,
    view_class_of,
)

logger = logging.getLogger(__name__)

DENIED = "You do not have permission to perform this action."


def _is_api(view_func) -> bool:
    from rest_framework.views import APIView

    view_class = view_class_of(view_func)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


class DeclaredPermissionMiddleware:
    """Z1, fail closed: a view that declares nothing answers 403 (and is logged); a view
    that declares a permission admits only members whose role holds it, and a refused
    member is an ``access.denied`` audit event (L1); a member's method the view does not
    implement at all is a 405 naming the ones it does. Runs last, after the tenant middleware
    has found the membership and after the API token scope check (A17)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        declaration = declaration_of(view_func)
        if declaration is None:
            logger.error(
                "Refused %s %s: view %s declares no permission (Z1)",
                request.method,
                request.path,
                getattr(view_func, "__qualname__", view_func),
            )
            return self._refuse(request, view_func)
        if declaration.kind == PUBLIC:
            return None
        if declaration.kind == SIGNED_IN_ONLY:
            # DRF views authenticate bearers themselves; their IsAuthenticated applies.
            if not _is_api(view_func) and not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            return None
        if declaration.kind == PLATFORM_ADMIN:
            return self._platform_admin(request, view_func)
        membership = getattr(request, "membership", None)
        if membership is None:
            return self._refuse(request, view_func)
        # Only now, for a member of this organisation (the tenant middleware has answered
        # anonymous callers and everyone else before this runs): which methods the view has
        # is no secret from its members (the OpenAPI schema lists them).
        implemented = implemented_methods(view_func)
        if implemented is not None and request.method not in implemented:
            return self._not_allowed(request, view_func, implemented)
        # Z1, fail closed: a method the view implements but its declaration leaves out has
        # no permission, so nobody holds it.
        required = declaration.permissions_for(request.method)
        if any(membership_has(membership, name) for name in required):
            return None
        subjects = {name.split(".")[0] for name in required}
        access_denied_record(
            request,
            entity_type=subjects.pop() if len(subjects) == 1 else "",
            # One name, or the alternatives of an "any of" declaration.
            permission=" or ".join(required) or None,
        )
        return self._refuse(request, view_func)

    def _platform_admin(self, request: HttpRequest, view_func):
        """Z8: the super-admin site admits a superuser only once this very session signed in on
        that site and verified a second factor (django-otp records the device at sign-in); a
        password alone, a portal session, or a person who is not a superuser gets nothing."""
        user = request.user
        if not user.is_authenticated or not request.session.get(PLATFORM_SESSION_KEY):
            return redirect_to_login(request.get_full_path())
        verified = getattr(user, "is_verified", None)
        if user.is_active and user.is_superuser and verified is not None and verified():
            return None
        return self._refuse(request, view_func)

    @staticmethod
    def _not_allowed(request: HttpRequest, view_func, implemented: frozenset[str]):
        allowed = sorted(implemented)
        if not _is_api(view_func):
            return HttpResponseNotAllowed(allowed)
        # DRF's own answer to an unmapped method, in the API's error format (D8).
        response = JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
        response["Allow"] = ", ".join(allowed)
        return response

    @staticmethod
    def _refuse(request: HttpRequest, view_func):
        if _is_api(view_func):
            return JsonResponse({"detail": DENIED}, status=403)
        raise PermissionDenied
