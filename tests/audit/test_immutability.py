"""L2 with committed rows and other roles' connections."""

import psycopg
import pytest

from tests.conftest import owner_dsn
from tests.factories import make_organization


@pytest.mark.usefixtures("committed_db")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'x'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
    ],
)
def test_L2_even_the_owner_role_cannot_change_or_remove_audit_events(statement):
    org = make_organization("Alpha Guarding", "alpha")
    with psycopg.connect(owner_dsn()) as conn, conn.transaction():
        conn.execute("SELECT set_config('app.current_org', %s, true)", [str(org.pk)])
        assert conn.execute("SELECT count(*) FROM audit_event").fetchone()[0] >= 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
