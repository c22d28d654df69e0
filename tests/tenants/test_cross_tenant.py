"""T3: one narrow, named, recorded way across tenants, importable only where it belongs."""

import re
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.cross_tenant import (
    CROSS_TENANT_DB_ALIAS,
    CrossTenantAccessRefused,
    cross_tenant_access,
)
from tests.factories import make_organization, make_sites
from tests.processes import BIN, ROOT
from workforce.models import Site

ALIAS_LITERAL = re.compile(r"""["']cross_tenant["']""")
# Defines the alias, provisions its role, uses it: nothing else may name it.
ALLOWED_TO_NAME_THE_ALIAS = {
    Path("config/settings.py"),
    Path("tenants/management/commands/provision_database.py"),
    Path("tenants/cross_tenant.py"),
}


@pytest.mark.usefixtures("committed_db")
def test_T3_cross_tenant_access_reads_one_organisation_and_leaves_a_record():
    alpha = make_organization("Alpha Guarding", "alpha")
    bravo = make_organization("Bravo Care", "bravo")
    make_sites(alpha, 2, "A")
    make_sites(bravo, 1, "B")

    with cross_tenant_access(
        bravo, actor="support@palisade.example", reason="Ticket 42: sites"
    ) as s:
        assert [site.name for site in s.queryset(Site)] == ["B 0000"]

    # X2: the access is in Bravo's own audit log, with who and why; Alpha's log has nothing.
    with tenant_context(bravo):
        [record] = AuditEvent.objects.filter(action="platform.cross_tenant_access")
        assert (record.actor_type, record.actor_label) == ("platform", "support@palisade.example")
        assert record.changes == {"reason": [None, "Ticket 42: sites"]}
    with tenant_context(alpha):
        assert not AuditEvent.objects.filter(action="platform.cross_tenant_access").exists()


@pytest.mark.usefixtures("committed_db")
def test_T3_cross_tenant_access_without_a_reason_is_refused_and_leaves_nothing():
    bravo = make_organization("Bravo Care", "bravo")
    for actor, reason in [("support@palisade.example", " "), ("", "A good long reason")]:
        with (
            pytest.raises(CrossTenantAccessRefused),
            cross_tenant_access(bravo, actor=actor, reason=reason),
        ):
            pytest.fail("entered without a reason")
    with tenant_context(bravo):
        assert not AuditEvent.objects.filter(action="platform.cross_tenant_access").exists()


@pytest.mark.django_db
def test_T3_the_default_connection_cannot_cross(org_a, org_b):
    make_sites(org_a, 1)
    make_sites(org_b, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, count(*) FROM workforce_site GROUP BY 1")
        assert cursor.fetchall() == []
        cursor.execute("SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False,)


def test_T3_only_the_cross_tenant_module_names_the_bypass_alias():
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", ".var", "tests", "scripts", "bench"}:
            continue
        if relative in ALLOWED_TO_NAME_THE_ALIAS:
            continue
        if ALIAS_LITERAL.search(path.read_text()):
            offenders.append(str(relative))
    assert offenders == []
    assert CROSS_TENANT_DB_ALIAS == "cross_tenant"


def test_T3_import_contract_keeps_the_cross_tenant_path_out_of_tenant_code():
    result = subprocess.run(
        [str(BIN / "lint-imports")], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Only the super-admin site and platform jobs may cross tenants KEPT" in result.stdout
