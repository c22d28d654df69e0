"""Fixtures shared by the authorization tests."""

import pytest

from tests.factories import make_membership, make_user


@pytest.fixture
def people(org_a):
    """One member per default role that manages or is managed here, by role key."""
    users = {}
    for role in ("owner", "admin", "manager", "staff"):
        users[role] = make_user(f"{role}@alpha.example")
        make_membership(org_a, users[role], role=role)
    return users
