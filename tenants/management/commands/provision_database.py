"""Creates or updates Palisade's database and its three roles, idempotently (T2, T3).

Role names, passwords and the database name come from the configured URLs
(PALISADE_DB_URL, PALISADE_DB_OWNER_URL, PALISADE_DB_CROSS_TENANT_URL); the command itself
connects with a superuser URL that the application never uses.
"""

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql

# Every role is explicitly denied the attributes that would let it escape RLS or change the
# schema; only the cross-tenant role gets BYPASSRLS.
_BASE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
_DML = "SELECT, INSERT, UPDATE, DELETE"


def _role(alias: str) -> tuple[str, str]:
    config = settings.DATABASES.get(alias)
    if not config:
        raise CommandError(f"The database alias {alias!r} is not configured.")
    return config["USER"], config.get("PASSWORD") or ""


class Command(BaseCommand):
    help = "Create/update the Palisade database, its owner, runtime and cross-tenant roles."

    def add_arguments(self, parser):
        parser.add_argument("--superuser-url", required=True)
        parser.add_argument(
            "--recreate", action="store_true", help="Drop the database first (not in production)."
        )

    def handle(self, *args, superuser_url: str, recreate: bool, **options):
        if recreate and settings.IS_PRODUCTION:
            raise CommandError("--recreate is refused in production.")
        database = settings.DATABASES["default"]["NAME"]
        owner, owner_password = _role("owner")
        runtime, runtime_password = _role("default")
        cross_tenant, cross_tenant_password = _role("cross_tenant")
        if len({owner, runtime, cross_tenant}) != 3:
            raise CommandError("The owner, runtime and cross-tenant roles must be different.")

        with psycopg.connect(superuser_url, autocommit=True) as conn:
            self._ensure_role(conn, owner, owner_password, "NOBYPASSRLS")
            self._ensure_role(conn, runtime, runtime_password, "NOBYPASSRLS NOINHERIT")
            self._ensure_role(conn, cross_tenant, cross_tenant_password, "BYPASSRLS NOINHERIT")
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
            if exists and recreate:
                conn.execute(
                    sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database))
                )
                exists = None
            if not exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database), sql.Identifier(owner)
                    )
                )

        database_url = psycopg.conninfo.make_conninfo(superuser_url, dbname=database)
        with psycopg.connect(database_url, autocommit=True) as conn:
            self._grant(conn, database, owner, runtime, cross_tenant)
        self.stdout.write(
            f"Database {database!r}: owner {owner!r}, runtime {runtime!r}, "
            f"cross-tenant {cross_tenant!r} are in place."
        )

    def _ensure_role(self, conn, name: str, password: str, extra: str) -> None:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
        verb = "ALTER" if exists else "CREATE"
        statement = sql.SQL("{} ROLE {} " + _BASE_ATTRIBUTES + " " + extra).format(
            sql.SQL(verb), sql.Identifier(name)
        )
        if password:
            statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        conn.execute(statement)

    def _grant(self, conn, database: str, owner: str, runtime: str, cross_tenant: str) -> None:
        ident = sql.Identifier
        db, own, app, cross = ident(database), ident(owner), ident(runtime), ident(cross_tenant)
        statements = [
            # Nobody but our roles connects; nobody creates temporary tables.
            sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db),
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(db, app, cross),
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, own),
            sql.SQL("ALTER SCHEMA public OWNER TO {}").format(own),
            sql.SQL("REVOKE ALL ON SCHEMA public FROM PUBLIC"),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}, {}").format(app, cross),
            # DML only: no TRUNCATE, REFERENCES or TRIGGER, no CREATE on the schema.
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT " + _DML + " ON TABLES TO {}, {}"
            ).format(own, app, cross),
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT USAGE, SELECT ON SEQUENCES TO {}, {}"
            ).format(own, app, cross),
            sql.SQL("GRANT " + _DML + " ON ALL TABLES IN SCHEMA public TO {}, {}").format(
                app, cross
            ),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}, {}").format(
                app, cross
            ),
        ]
        for statement in statements:
            conn.execute(statement)
