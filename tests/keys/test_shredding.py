"""E6: crypto-shredding. After ``shred_org_key`` every encrypted value of the organisation reads
as an UnreadableValue that says why, nothing crashes, and other organisations are unaffected."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from keys.fields import Unreadable, UnreadableValue
from keys.keyring import data_key
from keys.models import DataKey, IntegrationSecret, Keyring
from keys.providers import KeyDestroyed
from keys.services import integration_secret_set
from tenants.context import tenant_context
from tests.keys.conftest import stored_bytes

pytestmark = pytest.mark.django_db


def _shred(slug: str, confirm: str | None = None) -> str:
    out = StringIO()
    call_command("shred_org_key", "--org", slug, "--confirm", confirm or slug, stdout=out)
    return out.getvalue()


def _secrets(org, *names: str) -> list[IntegrationSecret]:
    with tenant_context(org):
        return [integration_secret_set(name=name, secret=f"{name} secret") for name in names]


def test_E6_shredded_values_read_as_unreadable_with_a_clear_message(org_a, org_b):
    _secrets(org_a, "payroll", "sso")
    _secrets(org_b, "payroll")  # writing cached both organisations' data keys here

    output = _shred("alpha")

    assert "alpha: encryption keys destroyed (local)" in output
    assert "backup" in output  # the local provider's limitation is stated, not hidden
    with tenant_context(org_a):
        values = [secret.secret for secret in IntegrationSecret.objects.all()]
        assert len(values) == 2
        for value in values:
            assert isinstance(value, UnreadableValue)
            assert value.reason == Unreadable.KEY_DESTROYED
            assert not value
            assert str(value) == "[unreadable: this organisation's encryption key was destroyed]"
        with pytest.raises(KeyDestroyed, match="destroyed"):
            data_key()
        assert Keyring.objects.get().wrapped_kek == b""
        assert set(DataKey.objects.values_list("wrapped_key", flat=True)) == {b""}
    with tenant_context(org_b):
        assert IntegrationSecret.objects.get().secret == "payroll secret"


def test_E6_a_shredded_organisation_refuses_new_secrets_and_keeps_old_bytes(org_a):
    [secret] = _secrets(org_a, "payroll")
    with tenant_context(org_a):
        before = stored_bytes(secret.pk)
    _shred("alpha")
    with tenant_context(org_a):
        with pytest.raises(KeyDestroyed):
            integration_secret_set(name="sso", secret="cannot be protected any more")
        row = IntegrationSecret.objects.get()
        row.name = "payroll-retired"
        row.save()
        assert stored_bytes(secret.pk) == before


def test_E6_shred_org_key_refuses_without_the_slug_repeated(org_a):
    _secrets(org_a, "payroll")
    with pytest.raises(CommandError, match="--confirm must repeat"):
        _shred("alpha", confirm="alpah")
    with tenant_context(org_a):
        assert IntegrationSecret.objects.get().secret == "payroll secret"


def test_E6_shred_org_key_refuses_an_unknown_slug():
    with pytest.raises(CommandError, match="No organisation has the slug 'nobody'"):
        _shred("nobody")


def test_E6_shredding_twice_says_already_destroyed_and_succeeds(org_a):
    _shred("alpha")
    assert _shred("alpha") == "alpha: keys were already destroyed; nothing to do.\n"


def test_E6_rotate_keys_skips_a_shredded_organisation(org_a, org_b):
    _shred("alpha")
    out = StringIO()
    call_command("rotate_keys", "--reencrypt", stdout=out)
    assert "alpha: keys destroyed (crypto-shredded), skipped" in out.getvalue()
    assert "bravo: data key v2" in out.getvalue()
