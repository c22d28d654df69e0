"""L3/L9 against a real database: a superuser who tampers with the log in any way is caught,
and concurrent writers never break an organisation's chain."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from audit.checkpoints import checkpoint_create, platform_public_key
from audit.verification import verify_organization_log
from tenants.context import tenant_context
from tests.conftest import superuser_dsn
from tests.factories import make_organization, make_sites
from tests.processes import ROOT
from workforce.services import site_create

pytestmark = pytest.mark.usefixtures("committed_db")


@pytest.fixture
def logged_org():
    """An organisation with a checkpoint after its 8th event and 3 events after it."""
    organization = make_organization("Alpha Guarding", "alpha")
    make_sites(organization, 7, "Before")
    with tenant_context(organization):
        checkpoint = checkpoint_create()
    assert checkpoint.tree_size == 8
    make_sites(organization, 3, "After")
    return organization


def _tamper(*statements: tuple[str, list]) -> None:
    """As a database superuser with the append-only triggers switched off."""
    with psycopg.connect(superuser_dsn()) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for statement, params in statements:
            conn.execute(statement, params)


def _verify(organization):
    with tenant_context(organization):
        return verify_organization_log()


def test_L3_untouched_log_verifies(logged_org):
    result = _verify(logged_org)
    assert result.ok, result.reason
    assert (result.events, result.checkpoints_verified) == (11, 1)


@pytest.mark.parametrize(
    ("tampering", "first_bad_seq", "reason"),
    [
        (
            [('UPDATE audit_event SET changes = \'{"name": [null, "Evil"]}\' WHERE seq = 4', [])],
            4,
            "altered or forged",
        ),
        ([("DELETE FROM audit_event WHERE seq = 5", [])], 5, "missing"),
        ([("UPDATE audit_event SET key_version = 99 WHERE seq = 6", [])], 6, "not a key"),
        (
            [
                ("UPDATE audit_event SET seq = -3 WHERE seq = 3", []),
                ("UPDATE audit_event SET seq = 3 WHERE seq = 4", []),
                ("UPDATE audit_event SET seq = 4 WHERE seq = -3", []),
            ],
            3,
            "chain is broken",
        ),
        (
            [
                (
                    "INSERT INTO audit_event (organization_id, seq, occurred_at, actor_type, "
                    "actor_id, actor_label, actor_role, action, entity_type, entity_id, changes, "
                    "ip, user_agent, request_id, key_version, prev_hmac, hmac) "
                    "SELECT organization_id, 12, occurred_at, actor_type, actor_id, actor_label, "
                    "actor_role, 'site.deleted', entity_type, entity_id, changes, ip, "
                    "user_agent, request_id, key_version, hmac, sha256(hmac) "
                    "FROM audit_event WHERE seq = 11",
                    [],
                )
            ],
            12,
            "altered or forged",
        ),
        ([("DELETE FROM audit_event WHERE seq > 8", [])], 9, "deleted"),
        ([("DELETE FROM audit_event WHERE seq > 6", [])], 7, "deleted or truncated"),
    ],
    ids=[
        "changed-payload",
        "deleted-event",
        "forged-key-version",
        "reordered",
        "forged-insert",
        "tail-after-cp",
        "tail-into-cp",
    ],
)
def test_L3_superuser_tampering_is_detected_at_the_first_bad_event(
    logged_org, tampering, first_bad_seq, reason
):
    _tamper(*tampering)
    result = _verify(logged_org)
    assert not result.ok
    assert result.first_bad_seq == first_bad_seq, result.reason
    assert reason in result.reason


def test_L3_audit_verify_command_reports_ok_and_failure(logged_org, capsys):
    other = make_organization("Bravo Care", "bravo")
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert "alpha: OK" in out and "bravo: OK" in out
    _tamper(("UPDATE audit_event SET actor_label = 'nobody' WHERE seq = 2", []))
    with pytest.raises(CommandError, match="alpha"):
        call_command("audit_verify")
    out = capsys.readouterr().out
    assert "alpha: FAILED" in out and "seq 2" in out
    with pytest.raises(CommandError, match="No organisation"):
        call_command("audit_verify", "--org", "no-such-org")
    assert other.slug == "bravo"


def test_L6_L9_exported_log_verifies_offline_and_a_later_rewrite_is_caught(logged_org, tmp_path):
    export = tmp_path / "alpha.jsonl"
    call_command(
        "audit_export",
        "--org", "alpha", "--purpose", "Quarterly regulator review",
        "--requested-by", "dpo@alpha.example", "--output", str(export),
    )  # fmt: skip
    header = json.loads(export.read_text().splitlines()[0])
    kept_checkpoint = tmp_path / "checkpoint.json"
    kept_checkpoint.write_text(json.dumps(header["checkpoints"][0]))
    assert header["event_count"] == 12  # the export's own event is the last one

    def offline(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "audit.verify", str(path), "--public-key",
             platform_public_key(), "--checkpoint", str(kept_checkpoint)],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip

    ok = offline(export)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("OK: 12 events")

    # A superuser rewrites history inside the checkpointed range and recomputes nothing:
    _tamper(("UPDATE audit_event SET entity_id = '999' WHERE seq = 3", []))
    rewritten = tmp_path / "rewritten.jsonl"
    call_command(
        "audit_export",
        "--org", "alpha", "--purpose", "Second look after an incident",
        "--requested-by", "dpo@alpha.example", "--output", str(rewritten),
    )  # fmt: skip
    caught = offline(rewritten)
    assert caught.returncode == 1
    assert "seq 3" in caught.stdout or "first 8 events" in caught.stdout


def test_L3_eight_concurrent_writers_in_one_organisation_leave_a_valid_chain():
    alpha = make_organization("Alpha Guarding", "alpha")
    bravo = make_organization("Bravo Care", "bravo")
    writes_per_thread = 15
    errors: list[BaseException] = []
    start = threading.Barrier(10)

    def writer(organization, index: int) -> None:
        try:
            start.wait()
            for n in range(writes_per_thread):
                with tenant_context(organization):
                    site_create(name=f"T{index} site {n}")
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(alpha, i)) for i in range(8)]
    threads += [threading.Thread(target=writer, args=(bravo, i)) for i in range(8, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    alpha_result, bravo_result = _verify(alpha), _verify(bravo)
    assert alpha_result.ok, alpha_result.reason
    assert bravo_result.ok, bravo_result.reason
    assert alpha_result.events == 1 + 8 * writes_per_thread
    assert bravo_result.events == 1 + 2 * writes_per_thread
