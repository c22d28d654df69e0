"""Shared fixtures. The suite runs against the database that ``make test`` provisioned and
migrated as the owner role; Django connects as the runtime role (T2), exactly as in
production, so every test runs with RLS on."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from psycopg import sql

from keys.keyring import forget_cached_keys
from tests.factories import make_membership, make_organization, make_user
from tests.processes import pgbouncer, psycopg_dsn

# Reference tables that migrate fills and tests never change.
_KEEP_ON_RESET = {"django_migrations", "django_content_type", "auth_permission"}


@pytest.fixture(scope="session")
def django_db_setup():
    """The database already exists and is migrated; the runtime role could not create it."""


def owner_dsn() -> str:
    return psycopg_dsn(settings.DATABASES["owner"])


def runtime_dsn() -> str:
    return psycopg_dsn(settings.DATABASES["default"])


def superuser_dsn() -> str:
    """The test database as a superuser: for cleaning up append-only tables and for tests
    that play an attacker with every privilege."""
    return psycopg.conninfo.make_conninfo(
        os.environ["PALISADE_TEST_SUPERUSER_URL"], dbname=settings.DATABASES["default"]["NAME"]
    )


def _truncate_everything() -> None:
    with psycopg.connect(superuser_dsn(), autocommit=True) as conn:
        # Replica mode skips the append-only triggers (L2), which reject TRUNCATE otherwise.
        conn.execute("SET session_replication_role = replica")
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
            if name not in _KEEP_ON_RESET
        ]
        conn.execute(
            sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(map(sql.Identifier, tables))
            )
        )


@pytest.fixture
def committed_db(django_db_blocker):
    """Database access without a wrapping test transaction, for tests whose other processes
    (gunicorn, Celery, PgBouncer clients) must see committed rows. Everything is truncated
    afterwards by a superuser (the runtime role cannot TRUNCATE, and nobody else may truncate
    the append-only audit tables)."""
    with django_db_blocker.unblock():
        try:
            yield
        finally:
            for connection in connections.all():
                connection.close()
            _truncate_everything()
            # RESTART IDENTITY gives the next test's organisations the same ids again, so
            # keys cached for this test's organisations must not outlive their rows.
            forget_cached_keys()


@pytest.fixture
def org_a():
    return make_organization("Alpha Guarding", "alpha")


@pytest.fixture
def org_b():
    return make_organization("Bravo Care", "bravo")


@pytest.fixture
def member_of_a(org_a):
    user = make_user("ann@alpha.example")
    make_membership(org_a, user)
    return user


@pytest.fixture
def portal_client(client):
    client.defaults["HTTP_HOST"] = settings.PORTAL_HOST
    return client


@pytest.fixture(scope="session")
def test_environment() -> dict[str, str]:
    """The environment a child process (gunicorn, Celery worker) needs to reach the test
    database and Redis as this test session does."""
    return dict(os.environ)


@pytest.fixture(scope="session")
def pgbouncer_port():
    """A PgBouncer in transaction pooling mode in front of the test database (T2)."""
    database = settings.DATABASES["default"]
    directory = Path(tempfile.mkdtemp(prefix="palisade-pgbouncer-"))
    try:
        with pgbouncer(
            directory,
            host=database["HOST"],
            port=database["PORT"] or None,
            dbname=database["NAME"],
            users=[database["USER"]],
        ) as port:
            yield port
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def pgbouncer_dsn(port: int) -> str:
    database = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        host="127.0.0.1", port=port, dbname=database["NAME"], user=database["USER"]
    )


def pgbouncer_url(port: int) -> str:
    database = settings.DATABASES["default"]
    return f"postgresql://{database['USER']}@127.0.0.1:{port}/{database['NAME']}"
