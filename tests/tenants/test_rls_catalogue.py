"""T2/T4 from the catalogue: a new tenant table without RLS or tenant-consistent keys fails
here, whoever forgot it."""

import pytest
from django.db import connection
from django.db.utils import ProgrammingError

from tenants.rls import CURRENT_ORG_SQL, tenant_models

pytestmark = pytest.mark.django_db


def _rows(query: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def test_T2_every_table_with_organization_id_has_forced_rls_and_tenant_policy():
    tables = _rows(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE a.attname = 'organization_id' AND NOT a.attisdropped
          AND c.relkind IN ('r', 'p') AND n.nspname = 'public'
        """
    )
    policies = {
        table: (command, using, check)
        for table, command, using, check in _rows(
            "SELECT tablename, cmd, qual, with_check FROM pg_policies "
            "WHERE policyname = 'tenant_isolation'"
        )
    }
    assert {name for name, *_ in tables} >= {m._meta.db_table for m in tenant_models()}
    expected_predicate = "(organization_id = (NULLIF(current_setting('app.current_org'::text, true)"
    for table, enabled, forced in tables:
        assert enabled, f"{table}: RLS not enabled"
        assert forced, f"{table}: RLS not forced (the owner would bypass it)"
        command, using, check = policies[table]
        assert command == "ALL"
        assert using.startswith(expected_predicate), using
        assert check == using


def test_T2_tenant_policy_is_the_tenant_predicate_alone():
    # STYLE.md: an OR in the policy would defeat the (organization_id, ...) indexes.
    for (using,) in _rows("SELECT qual FROM pg_policies WHERE policyname = 'tenant_isolation'"):
        assert " OR " not in using.upper()
    assert "current_setting" in CURRENT_ORG_SQL


def test_T2_runtime_role_is_not_superuser_owner_or_rls_exempt():
    [(role, superuser, bypassrls, createdb, createrole)] = _rows(
        "SELECT rolname, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole "
        "FROM pg_roles WHERE rolname = current_user"
    )
    assert role == "palisade_app"
    assert not (superuser or bypassrls or createdb or createrole)
    assert _rows("SELECT tablename FROM pg_tables WHERE tableowner = current_user") == []
    assert (
        _rows(
            "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
            "WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
        == []
    ), "the runtime role must not inherit another role's privileges"


def test_T2_runtime_role_has_no_truncate_ddl_or_temp():
    truncatable = _rows(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' "
        "AND has_table_privilege(c.oid, 'TRUNCATE')"
    )
    assert truncatable == []
    [(create_in_schema, create_in_db, temp)] = _rows(
        "SELECT has_schema_privilege('public', 'CREATE'), "
        "has_database_privilege(current_database(), 'CREATE'), "
        "has_database_privilege(current_database(), 'TEMP')"
    )
    assert not (create_in_schema or create_in_db or temp)


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE sneaky (id int)",
        "CREATE TEMP TABLE sneaky (id int)",
        "ALTER TABLE workforce_site DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE workforce_site NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON workforce_site",
        "TRUNCATE workforce_site",
        "SET row_security = off; SELECT * FROM workforce_site",
    ],
)
def test_T2_runtime_role_cannot_change_schema_or_escape_rls(statement):
    with pytest.raises(ProgrammingError):
        _rows(statement)


def test_T4_every_tenant_table_has_unique_org_and_id():
    for model in tenant_models():
        table = model._meta.db_table
        definitions = [
            d
            for (d,) in _rows(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'u'",
                [table],
            )
        ]
        assert "UNIQUE (organization_id, id)" in definitions, table


def test_T4_every_reference_between_tenant_tables_is_composite():
    tenant_tables = {m._meta.db_table: m for m in tenant_models()}
    for table, model in tenant_tables.items():
        definitions = {
            d
            for (d,) in _rows(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            )
        }
        for field in model._meta.concrete_fields:
            target = getattr(field, "related_model", None)
            if field.many_to_one and target is not None and target._meta.db_table in tenant_tables:
                expected = (
                    f"FOREIGN KEY (organization_id, {field.column}) "
                    f"REFERENCES {target._meta.db_table}(organization_id, id)"
                )
                assert expected in definitions, (table, field.name)
