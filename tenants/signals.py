"""A16: the session knows the person's organisations and roles from the moment they sign in.

The snapshot cannot go stale unnoticed: a role change or lost membership revokes every
session of that person (A10), and each organisation request still checks the membership.
"""

from tenants.selectors import memberships_for_user

SESSION_MEMBERSHIPS_KEY = "palisade_memberships"


def remember_memberships(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    request.session[SESSION_MEMBERSHIPS_KEY] = [
        {"organization": organization.slug, "name": organization.name, "role": role}
        for organization, role in memberships_for_user(user)
    ]
