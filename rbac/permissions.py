"""Interim role checks for organisation endpoints, until the RBAC issue replaces them with
declared permissions (Z1). Fail closed: a view must name the roles it admits."""

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


def roles_permission(resource: str, *roles: str) -> type[OrganizationRolePermission]:
    return type(
        f"{resource.title().replace('_', '')}RolePermission",
        (OrganizationRolePermission,),
        {"allowed_roles": frozenset(roles), "resource": resource},
    )
