"""Interim role checks for organisation endpoints, until the RBAC issue replaces them with
declared permissions (Z1). Fail closed: a view must name the roles it admits."""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

from audit.services import audit_event_record_durably


class OrganizationRolePermission(BasePermission):
    """Admits members whose membership role is in ``allowed_roles``; a refusal on a sensitive
    resource is itself an audit event (L1)."""

    allowed_roles: frozenset[str] = frozenset()
    resource = ""

    def has_permission(self, request, view) -> bool:
        membership = getattr(request, "membership", None)
        if membership is not None and membership.role in self.allowed_roles:
            return True
        if membership is not None:
            audit_event_record_durably(
                request,
                action="access.denied",
                entity_type=self.resource,
                changes={"path": [None, request.path], "method": [None, request.method]},
            )
        return False


View = Callable[..., HttpResponse]


def roles_permission(resource: str, *roles: str) -> type[OrganizationRolePermission]:
    return type(
        f"{resource.title().replace('_', '')}RolePermission",
        (OrganizationRolePermission,),
        {"allowed_roles": frozenset(roles), "resource": resource},
    )


def roles_required(resource: str, *roles: str) -> Callable[[View], View]:
    """The same check for an organisation's HTML views: other members get a 403, recorded
    as ``access.denied`` (L1)."""
    permission = roles_permission(resource, *roles)()

    def decorator(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not permission.has_permission(request, view):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return checked

    return decorator
