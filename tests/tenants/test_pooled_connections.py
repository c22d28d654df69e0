"""T2 on real, reused connections: the context set for one transaction never reaches the next
one, whether the connection is kept by Django (CONN_MAX_AGE), a Celery worker or PgBouncer in
transaction pooling mode."""

from __future__ import annotations

import json
import os
import urllib.request
import uuid

import psycopg
import pytest
from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.test import Client

from tests.celery_probe import visible_sites, visible_sites_without_organization
from tests.conftest import pgbouncer_dsn, pgbouncer_url, runtime_dsn
from tests.factories import make_membership, make_organization, make_sites, make_user
from tests.processes import celery_worker, gunicorn

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture
def two_orgs():
    alpha = make_organization("Alpha Guarding", "alpha")
    bravo = make_organization("Bravo Care", "bravo")
    make_sites(alpha, 3, "A")
    make_sites(bravo, 2, "B")
    return alpha, bravo


@pytest.fixture(params=["direct", "pgbouncer"])
def connect(request, two_orgs):
    """Opens a runtime-role connection, straight to PostgreSQL or through PgBouncer."""
    if request.param == "direct":
        dsn = runtime_dsn()
    else:
        dsn = pgbouncer_dsn(request.getfixturevalue("pgbouncer_port"))
    # PgBouncer's transaction mode cannot carry server-side prepared statements.
    return lambda: psycopg.connect(dsn, prepare_threshold=None)


def _in_context(conn, org_id: int | None, query: str, params=()):
    with conn.transaction():
        if org_id is not None:
            conn.execute("SELECT set_config('app.current_org', %s, true)", [str(org_id)])
        return conn.execute(query, params).fetchall()


def test_T2_raw_connection_without_context_sees_nothing_and_cannot_write(connect, two_orgs):
    alpha, _ = two_orgs
    with connect() as conn:
        assert _in_context(conn, None, "SELECT count(*) FROM workforce_site") == [(0,)]
        assert _in_context(conn, None, "SELECT count(*) FROM tenants_membership") == [(0,)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _in_context(
                conn,
                None,
                "INSERT INTO workforce_site (organization_id, name, address, created_at) "
                "VALUES (%s, 'x', '', now()) RETURNING id",
                [alpha.pk],
            )


def test_T2_raw_connection_in_context_cannot_touch_other_organisation(connect, two_orgs):
    alpha, bravo = two_orgs
    with connect() as conn:
        assert _in_context(conn, alpha.pk, "SELECT count(*) FROM workforce_site") == [(3,)]
        assert _in_context(
            conn, alpha.pk, "UPDATE workforce_site SET name = 'x' WHERE organization_id = %s "
            "RETURNING id", [bravo.pk]
        ) == []  # fmt: skip
        assert _in_context(
            conn, alpha.pk, "DELETE FROM workforce_site WHERE organization_id = %s RETURNING id",
            [bravo.pk],
        ) == []  # fmt: skip
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _in_context(
                conn,
                alpha.pk,
                "INSERT INTO workforce_site (organization_id, name, address, created_at) "
                "VALUES (%s, 'x', '', now()) RETURNING id",
                [bravo.pk],
            )
        assert _in_context(conn, bravo.pk, "SELECT count(*) FROM workforce_site") == [(2,)]


def test_T2_context_never_reaches_the_next_transaction_on_a_reused_server_connection(
    connect, two_orgs
):
    alpha, bravo = two_orgs
    with connect() as first, connect() as second:
        [(pid_a, count_a)] = _in_context(
            first, alpha.pk, "SELECT pg_backend_pid(), count(*) FROM workforce_site"
        )
        assert count_a == 3
        assert _in_context(first, None, "SELECT count(*) FROM workforce_site") == [(0,)]
        # Interleaved transactions of two organisations each see only their own rows.
        with first.transaction(), second.transaction():
            first.execute("SELECT set_config('app.current_org', %s, true)", [str(alpha.pk)])
            second.execute("SELECT set_config('app.current_org', %s, true)", [str(bravo.pk)])
            assert first.execute("SELECT count(*) FROM workforce_site").fetchone() == (3,)
            assert second.execute("SELECT count(*) FROM workforce_site").fetchone() == (2,)
        # The server connection that carried Alpha's context serves the next transactions
        # (through PgBouncer: of any client), and they see nothing.
        pids_seen = set()
        for conn in (first, second):
            [(pid, count)] = _in_context(
                conn, None, "SELECT pg_backend_pid(), count(*) FROM workforce_site"
            )
            pids_seen.add(pid)
            assert count == 0
        assert pid_a in pids_seen


def _signed_in_cookie(email: str, org) -> str:
    user = make_user(email)
    make_membership(org, user)
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def _get_json(url: str, cookie: str) -> dict:
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(  # noqa: S310 - loopback URL checked above
        url, headers={"Host": settings.PORTAL_HOST, "Cookie": cookie}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


@pytest.mark.parametrize("through", ["direct", "pgbouncer"])
def test_T2_consecutive_requests_for_two_organisations_on_one_persistent_connection(
    request, two_orgs, test_environment, through
):
    alpha, bravo = two_orgs
    cookie_a = _signed_in_cookie("ann@alpha.example", alpha)
    cookie_b = _signed_in_cookie("bob@bravo.example", bravo)
    application_name = f"palisade-live-{uuid.uuid4().hex[:8]}"
    env = {
        **test_environment,
        "PALISADE_DB_CONN_MAX_AGE": "600",
        "PALISADE_DB_APPLICATION_NAME": application_name,
    }
    if through == "pgbouncer":
        env["PALISADE_DB_URL"] = pgbouncer_url(request.getfixturevalue("pgbouncer_port"))
    with gunicorn(env) as base_url:
        for _ in range(2):
            a = _get_json(f"{base_url}/api/v1/o/alpha/sites/", cookie_a)
            b = _get_json(f"{base_url}/api/v1/o/bravo/sites/", cookie_b)
            assert sorted(s["name"] for s in a["results"]) == ["A 0000", "A 0001", "A 0002"]
            assert sorted(s["name"] for s in b["results"]) == ["B 0000", "B 0001"]
        if through == "direct":
            with psycopg.connect(
                os.environ["PALISADE_TEST_SUPERUSER_URL"], autocommit=True
            ) as admin:
                backends = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    [application_name],
                ).fetchone()[0]
            assert backends == 1, "all four requests must have shared one connection"


def test_T6_consecutive_tasks_on_one_worker_see_only_their_organisation(two_orgs, test_environment):
    alpha, bravo = two_orgs
    queue = f"probe-{uuid.uuid4().hex[:8]}"
    with celery_worker(test_environment, queue):
        try:
            results = [
                visible_sites.apply_async(args=[alpha.pk], queue=queue).get(timeout=60),
                visible_sites.apply_async(args=[bravo.pk], queue=queue).get(timeout=30),
                visible_sites_without_organization.apply_async(queue=queue).get(timeout=30),
                visible_sites.apply_async(args=[alpha.pk], queue=queue).get(timeout=30),
            ]
        except CeleryTimeout:
            pytest.fail("the Celery worker did not answer")
    a, b, none, a_again = results
    assert a["names"] == ["A 0000", "A 0001", "A 0002"] and a["raw_count"] == 3
    assert b["names"] == ["B 0000", "B 0001"] and b["raw_count"] == 2
    assert none["raw_count"] == 0
    assert a_again == a
    assert len({r["pid"] for r in results}) == 1, "the tasks must share one DB connection"
