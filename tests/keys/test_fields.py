"""E3: values are stored as AES-256-GCM ciphertext bound to their organisation, table, column
and row; anything moved or altered reads as unreadable, never as a crash or as plaintext."""

import logging
import os
import pickle
import uuid

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.test.utils import isolate_apps

from keys.fields import (
    CiphertextInvalid,
    EncryptedFieldsModel,
    EncryptedTextField,
    FieldBinding,
    Unreadable,
    UnreadableValue,
    open_value,
    seal_value,
)
from keys.keyring import DataKeyMaterial, data_key
from keys.models import IntegrationSecret
from keys.services import integration_secret_set
from tenants.context import TenantContextMissing, tenant_context
from tests.conftest import superuser_dsn
from tests.factories import make_organization
from tests.keys.conftest import stored_bytes

PAYROLL_TOKEN = "payroll-token-4f9a1c-do-not-leak"
FLIP_BYTE_20 = "set_byte(secret, 20, get_byte(secret, 20) # 1)"


def _execute(query: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(query, params)


def _set_secret(expression: str, pk: int) -> None:
    """Rewrites a stored value with SQL, as someone with database access could."""
    # Only this module's constant expressions are interpolated.
    query = f"UPDATE keys_integration_secret SET secret = {expression} WHERE id = %s"  # noqa: S608
    _execute(query, [pk])


def _reloaded(secret: IntegrationSecret) -> IntegrationSecret:
    return IntegrationSecret.objects.get(pk=secret.pk)


@pytest.mark.django_db
def test_E3_stored_value_is_versioned_ciphertext_without_plaintext(org_a):
    with tenant_context(org_a):
        secret = integration_secret_set(name="payroll", secret=PAYROLL_TOKEN)
        raw = stored_bytes(secret.pk)
        assert PAYROLL_TOKEN.encode() not in raw
        assert b"payroll-token" not in raw
        # format 1 | version 1 | 12-byte nonce | ciphertext | 16-byte tag
        assert raw[0] == 1
        assert int.from_bytes(raw[1:5], "big") == 1
        assert len(raw) == 1 + 4 + 12 + len(PAYROLL_TOKEN) + 16
        assert _reloaded(secret).secret == PAYROLL_TOKEN


def test_E3_nonces_never_repeat_across_100000_encryptions():
    key = DataKeyMaterial(organization_id=1, version=1, key=os.urandom(32))
    binding = FieldBinding(1, "keys_integration_secret", "secret", uuid.uuid4())
    values = [seal_value("the same plaintext", key, binding) for _ in range(100_000)]
    assert len({value[5:17] for value in values}) == 100_000
    assert open_value(values[-1], key, binding) == "the same plaintext"


def test_E3_a_value_is_never_sealed_under_another_organisations_key():
    key = DataKeyMaterial(organization_id=1, version=1, key=os.urandom(32))
    with pytest.raises(ValueError, match="its own organisation"):
        seal_value("x", key, FieldBinding(2, "t", "c", uuid.uuid4()))


@pytest.mark.django_db
def test_E3_ciphertext_copied_to_another_row_fails_its_integrity_check(org_a, caplog):
    with tenant_context(org_a):
        source = integration_secret_set(name="payroll", secret=PAYROLL_TOKEN)
        target = integration_secret_set(name="sso", secret="sso-client-secret")
        _execute(
            "UPDATE keys_integration_secret SET secret = "
            "(SELECT secret FROM keys_integration_secret WHERE id = %s) WHERE id = %s",
            [source.pk, target.pk],
        )
        with caplog.at_level(logging.WARNING, logger="keys.fields"):
            value = _reloaded(target).secret
        assert isinstance(value, UnreadableValue)
        assert value.reason == Unreadable.INTEGRITY
        assert not value
        assert str(value) == "[unreadable: integrity check failed]"
        assert _reloaded(source).secret == PAYROLL_TOKEN
    assert "failed its integrity check: keys_integration_secret.secret" in caplog.text
    assert PAYROLL_TOKEN not in caplog.text


@pytest.mark.django_db
def test_E3_ciphertext_read_as_another_column_or_table_fails(org_a):
    with tenant_context(org_a):
        secret = integration_secret_set(name="payroll", secret=PAYROLL_TOKEN)
        raw, key = stored_bytes(secret.pk), data_key(1)
        home = FieldBinding(org_a.pk, "keys_integration_secret", "secret", secret.row_uuid)
        assert open_value(raw, key, home) == PAYROLL_TOKEN
        elsewhere = [
            FieldBinding(org_a.pk, "keys_integration_secret", "name", secret.row_uuid),
            FieldBinding(org_a.pk, "workforce_site", "secret", secret.row_uuid),
            FieldBinding(org_a.pk, "keys_integration_secret", "secret", uuid.uuid4()),
        ]
        for binding in elsewhere:
            with pytest.raises(CiphertextInvalid):
                open_value(raw, key, binding)


@pytest.mark.usefixtures("committed_db")
def test_E3_ciphertext_copied_to_another_organisation_fails_even_with_its_row_uuid():
    alpha = make_organization("Alpha Guarding", "alpha")
    bravo = make_organization("Bravo Care", "bravo")
    with tenant_context(alpha):
        source = integration_secret_set(name="payroll", secret=PAYROLL_TOKEN)
    with tenant_context(bravo):
        target = integration_secret_set(name="payroll", secret="bravo-token")
    # An attacker with every database privilege moves the value and its row identifier.
    with psycopg.connect(superuser_dsn()) as conn, conn.transaction():
        conn.execute(
            "UPDATE keys_integration_secret AS t SET secret = s.secret, row_uuid = s.row_uuid "
            "FROM keys_integration_secret AS s WHERE s.id = %s AND t.id = %s",
            [source.pk, target.pk],
        )
    with tenant_context(bravo):
        moved = _reloaded(target)
        assert moved.row_uuid == source.row_uuid
        assert moved.secret.reason == Unreadable.INTEGRITY
    with tenant_context(alpha):
        assert _reloaded(source).secret == PAYROLL_TOKEN


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tampering",
    [
        "set_byte(secret, length(secret) - 1, get_byte(secret, length(secret) - 1) # 1)",
        "set_byte(secret, 8, get_byte(secret, 8) # 1)",  # the nonce
        "set_byte(secret, 4, 7)",  # a data-key version the organisation never had
        "set_byte(secret, 0, 9)",  # an unknown format
        "substring(secret from 1 for 20)",
    ],
    ids=["tag", "nonce", "version", "format", "truncated"],
)
def test_E3_altered_ciphertext_reads_as_integrity_failure(org_a, tampering):
    with tenant_context(org_a):
        secret = integration_secret_set(name="payroll", secret=PAYROLL_TOKEN)
        _set_secret(tampering, secret.pk)
        assert _reloaded(secret).secret.reason == Unreadable.INTEGRITY


@pytest.mark.django_db
def test_E3_saving_a_row_keeps_unread_and_unreadable_ciphertext_byte_for_byte(org_a):
    with tenant_context(org_a):
        readable = integration_secret_set(name="payroll", secret=PAYROLL_TOKEN)
        broken = integration_secret_set(name="sso", secret="sso-client-secret")
        _set_secret(FLIP_BYTE_20, broken.pk)
        before = {pk: stored_bytes(pk) for pk in (readable.pk, broken.pk)}

        unread = _reloaded(readable)
        unread.name = "payroll-v2"
        unread.save()
        unreadable = _reloaded(broken)
        assert isinstance(unreadable.secret, UnreadableValue)
        unreadable.full_clean(exclude=["organization"])
        unreadable.name = "sso-v2"
        unreadable.save()

        assert {pk: stored_bytes(pk) for pk in before} == before
        assert _reloaded(readable).secret == PAYROLL_TOKEN


@pytest.mark.django_db
def test_E3_an_unreadable_value_cannot_be_copied_to_another_row(org_a):
    with tenant_context(org_a):
        broken = integration_secret_set(name="sso", secret="sso-client-secret")
        _set_secret(FLIP_BYTE_20, broken.pk)
        other = IntegrationSecret(name="copy")
        with pytest.raises(TypeError, match="cannot be copied"):
            other.secret = _reloaded(broken).secret


@pytest.mark.django_db
def test_E3_plaintext_never_reaches_the_database_through_update_or_filter(org_a):
    with tenant_context(org_a):
        secret = integration_secret_set(name="payroll", secret=PAYROLL_TOKEN)
        secret.secret = "plain"
        attempts = [
            lambda: IntegrationSecret.objects.update(secret="plain"),
            lambda: IntegrationSecret.objects.filter(secret=PAYROLL_TOKEN).exists(),
            lambda: IntegrationSecret.objects.bulk_update([secret], ["secret"]),
        ]
        for attempt in attempts:
            with pytest.raises(TypeError, match="plaintext cannot be sent"), transaction.atomic():
                attempt()
        assert _reloaded(secret).secret == PAYROLL_TOKEN


@pytest.mark.django_db
def test_E3_values_are_read_only_in_their_own_organisations_context(org_a, org_b):
    with tenant_context(org_a):
        integration_secret_set(name="payroll", secret=PAYROLL_TOKEN)
        loaded = list(IntegrationSecret.objects.all())
    with pytest.raises(TenantContextMissing):
        _ = loaded[0].secret
    with tenant_context(org_b), pytest.raises(ValueError, match="organisation's context"):
        _ = loaded[0].secret


@pytest.mark.django_db
def test_E3_pickled_rows_carry_ciphertext_only(org_a):
    with tenant_context(org_a):
        integration_secret_set(name="payroll", secret=PAYROLL_TOKEN)
        secret = IntegrationSecret.objects.get()
        assert secret.secret == PAYROLL_TOKEN  # decrypted, and kept on the instance
        pickled = pickle.dumps(secret)
        assert PAYROLL_TOKEN.encode() not in pickled
        assert pickle.loads(pickled).secret == PAYROLL_TOKEN  # noqa: S301 - our own bytes


@pytest.mark.django_db
def test_E3_secret_is_required_and_deferred_loading_decrypts(org_a):
    with tenant_context(org_a):
        for empty in ("", None):
            with pytest.raises(ValidationError):
                integration_secret_set(name="payroll", secret=empty)
        integration_secret_set(name="payroll", secret=PAYROLL_TOKEN)
        integration_secret_set(name="payroll", secret="rotated-token")
        deferred = IntegrationSecret.objects.defer("secret").get(name="payroll")
        assert deferred.secret == "rotated-token"


@isolate_apps("keys")
def test_E3_nullable_field_stores_null_and_checks_refuse_unbound_models():
    class Note(EncryptedFieldsModel):
        body = EncryptedTextField(null=True, blank=True)

        class Meta(EncryptedFieldsModel.Meta):
            app_label = "keys"

    class Unbound(models.Model):  # noqa: DJ008 - never shown
        body = EncryptedTextField()

        class Meta:
            app_label = "keys"

    class LostConstraint(EncryptedFieldsModel):
        body = EncryptedTextField()

        class Meta:
            app_label = "keys"
            constraints = []

    field = Note._meta.get_field("body")
    note = Note(body=None)
    assert field.pre_save(note, add=True) is None
    assert field.get_db_prep_value(None, connection) is None
    assert field.from_db_value(None, None, connection) is None
    assert "keys.E001" not in {error.id for error in Note.check()}
    assert "keys.E002" not in {error.id for error in Note.check()}
    assert "keys.E001" in {error.id for error in Unbound.check()}
    assert "keys.E002" in {error.id for error in LostConstraint.check()}
