"""The API tests share the workforce ``world`` (one organisation, a department tree, members of
every default role and their records)."""

from tests.workforce.conftest import world  # noqa: F401 - a fixture, used by name
