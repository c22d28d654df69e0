"""Row-level security and tenant-consistent keys, applied by machinery rather than by hand.

After every ``migrate`` (post_migrate), for every table of a concrete ``TenantModel``:
- T2: RLS is enabled and FORCEd (so the table owner is bound too) with one policy whose
  predicate is the tenant column alone, for reads (USING) and writes (WITH CHECK);
- T4: ``UNIQUE (organization_id, id)`` is added, and every foreign key to another tenant
  table gets a composite twin ``(organization_id, x_id) -> x (organization_id, id)``, so
  the database refuses a reference to another organisation's row.

- L2: a tenant model with ``append_only = True`` gets triggers that reject UPDATE, DELETE
  and TRUNCATE for every role, table owner included.

Everything here is idempotent: it checks the catalogue and only adds what is missing.
"""

from __future__ import annotations

import hashlib

from django.apps import apps
from django.db import connections, models, transaction

from tenants.context import ORG_SETTING, USER_SETTING

TENANT_POLICY = "tenant_isolation"
OWN_ROWS_POLICY = "own_rows"
# NULLIF turns the empty string PostgreSQL leaves after a transaction-local setting ends into
# NULL, so "no context" matches no row. The expression is stable, so the index is used.
CURRENT_ORG_SQL = f"NULLIF(current_setting('{ORG_SETTING}', true), '')::bigint"
CURRENT_USER_SQL = f"NULLIF(current_setting('{USER_SETTING}', true), '')::bigint"


def tenant_models() -> list[type[models.Model]]:
    from tenants.models import TenantModel

    return [
        model
        for model in apps.get_models()
        if issubclass(model, TenantModel) and model._meta.managed and not model._meta.proxy
    ]


def _constraint_name(table: str, suffix: str) -> str:
    name = f"{table}_{suffix}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: 63 - 9]}_{digest}"


def _constraint_exists(cursor, table: str, name: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s",
        [table, name],
    )
    return cursor.fetchone() is not None


def _apply_policy(cursor, qtable: str, table: str, policy: str, command: str, clause: str) -> None:
    cursor.execute(
        "SELECT 1 FROM pg_policies WHERE schemaname = current_schema() "
        "AND tablename = %s AND policyname = %s",
        [table, policy],
    )
    if cursor.fetchone():
        # ALTER POLICY cannot change the command, only the expressions.
        cursor.execute(f"ALTER POLICY {policy} ON {qtable} {clause}")
    else:
        cursor.execute(f"CREATE POLICY {policy} ON {qtable} FOR {command} {clause}")


APPEND_ONLY_FUNCTION = "palisade_refuse_change"
APPEND_ONLY_TRIGGERS = {
    "append_only_rows": "BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW",
    "append_only_truncate": "BEFORE TRUNCATE ON {table} FOR EACH STATEMENT",
}


def _sync_append_only(cursor, qn, table: str) -> None:
    cursor.execute(
        f"CREATE OR REPLACE FUNCTION {APPEND_ONLY_FUNCTION}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'rows of % are append-only', TG_TABLE_NAME "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    for name, timing in APPEND_ONLY_TRIGGERS.items():
        cursor.execute(
            "SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
            [table, name],
        )
        if cursor.fetchone() is None:
            cursor.execute(
                f"CREATE TRIGGER {name} {timing.format(table=qn(table))} "
                f"EXECUTE FUNCTION {APPEND_ONLY_FUNCTION}()"
            )


def sync_tenant_isolation(using: str) -> None:
    connection = connections[using]
    qn = connection.ops.quote_name
    tenant_tables = {model: model._meta.db_table for model in tenant_models()}
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for model, table in tenant_tables.items():
            qtable = qn(table)
            cursor.execute(f"ALTER TABLE {qtable} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {qtable} FORCE ROW LEVEL SECURITY")
            tenant_predicate = f"(organization_id = {CURRENT_ORG_SQL})"
            _apply_policy(
                cursor,
                qtable,
                table,
                TENANT_POLICY,
                "ALL",
                f"USING {tenant_predicate} WITH CHECK {tenant_predicate}",
            )
            if model.rls_own_rows_column:
                column = model._meta.get_field(model.rls_own_rows_column.removesuffix("_id"))
                _apply_policy(
                    cursor,
                    qtable,
                    table,
                    OWN_ROWS_POLICY,
                    "SELECT",
                    f"USING ({qn(column.column)} = {CURRENT_USER_SQL})",
                )
            if getattr(model, "append_only", False):
                _sync_append_only(cursor, qn, table)
            unique_name = _constraint_name(table, "org_id_uniq")
            if not _constraint_exists(cursor, table, unique_name):
                cursor.execute(
                    f"ALTER TABLE {qtable} ADD CONSTRAINT {qn(unique_name)} "
                    "UNIQUE (organization_id, id)"
                )
        for model, table in tenant_tables.items():
            for field in model._meta.concrete_fields:
                target = getattr(field, "related_model", None)
                if not field.many_to_one or target not in tenant_tables:
                    continue
                fk_name = _constraint_name(table, f"{field.column}_same_org_fk")
                if _constraint_exists(cursor, table, fk_name):
                    continue
                # Checked immediately (not deferred like Django's own keys), so a cross-tenant
                # reference fails at the statement that makes it; MATCH SIMPLE leaves a NULL
                # reference unchecked.
                cursor.execute(
                    f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(fk_name)} "
                    f"FOREIGN KEY (organization_id, {qn(field.column)}) "
                    f"REFERENCES {qn(tenant_tables[target])} (organization_id, id)"
                )


def sync_tenant_isolation_after_migrate(sender, using: str, **kwargs) -> None:
    sync_tenant_isolation(using)
