"""E2/E6 on AWS KMS, against a real KMS-compatible HTTP server (moto's) rather than patched
calls: one KMS key per organisation, data keys bound to it by encryption context, destruction
by disabling and scheduling deletion, and the whole keyring path behind IntegrationSecret."""

from io import StringIO

import pytest
from django.core.management import call_command

from keys.fields import Unreadable
from keys.keyring import data_key, forget_cached_keys
from keys.models import IntegrationSecret, Keyring
from keys.providers import AwsKmsProvider, KeyDestroyed, KeyOwner, KeyUnavailable
from keys.services import integration_secret_set
from tenants.context import tenant_context
from tests.factories import make_organization
from tests.keys.conftest import stored_bytes

ALPHA = KeyOwner(organization_id=101, short_id="alpha234")
BRAVO = KeyOwner(organization_id=102, short_id="bravo567")


def test_E2_kms_key_per_organisation_wraps_and_unwraps_data_keys(kms_client):
    kms = AwsKmsProvider(kms_client)
    alpha_kek, bravo_kek = kms.create_kek(ALPHA), kms.create_kek(BRAVO)
    assert alpha_kek.kms_key_id != bravo_kek.kms_key_id
    assert alpha_kek.wrapped_kek == b""  # the KEK never leaves KMS
    tags = kms_client.list_resource_tags(KeyId=alpha_kek.kms_key_id)["Tags"]
    assert {"TagKey": "palisade:organization", "TagValue": "101"} in tags

    new_key = kms.new_data_key(ALPHA, alpha_kek, version=1)
    assert len(new_key.plaintext) == 32
    assert new_key.plaintext not in new_key.wrapped
    assert kms.unwrap_data_key(ALPHA, alpha_kek, 1, new_key.wrapped) == new_key.plaintext


def test_E2_kms_refuses_a_data_key_under_another_organisations_context(kms_client):
    kms = AwsKmsProvider(kms_client)
    kek = kms.create_kek(ALPHA)
    new_key = kms.new_data_key(ALPHA, kek, version=1)
    with pytest.raises(KeyUnavailable, match="KMS refused"):
        kms.unwrap_data_key(BRAVO, kek, 1, new_key.wrapped)


def test_E6_kms_destroy_disables_the_key_and_schedules_its_deletion(kms_client):
    kms = AwsKmsProvider(kms_client)
    kek = kms.create_kek(ALPHA)
    kms.destroy_kek(ALPHA, kek)
    metadata = kms_client.describe_key(KeyId=kek.kms_key_id)["KeyMetadata"]
    assert metadata["Enabled"] is False
    assert metadata["KeyState"] == "PendingDeletion"
    assert "DeletionDate" in metadata


@pytest.mark.django_db
@pytest.mark.usefixtures("kms_settings")
def test_E2_organisation_on_kms_encrypts_rotates_and_shreds_its_secrets(kms_client):
    alpha = make_organization("Alpha Guarding", "alpha")
    bravo = make_organization("Bravo Care", "bravo")
    with tenant_context(alpha):
        keyring = Keyring.objects.get()
        assert keyring.provider == "aws-kms"
        assert keyring.kms_key_id.startswith("arn:aws:kms:eu-west-2:")
        secret = integration_secret_set(name="payroll", secret="payroll token")
        assert b"payroll token" not in stored_bytes(secret.pk)
        forget_cached_keys()  # the next read unwraps through KMS again
        assert IntegrationSecret.objects.get().secret == "payroll token"
    with tenant_context(bravo):
        integration_secret_set(name="payroll", secret="bravo token")
        assert Keyring.objects.get().kms_key_id != keyring.kms_key_id

    out = StringIO()
    call_command("rotate_keys", "--org", "alpha", "--rewrap", "--reencrypt", stdout=out)
    assert "alpha: KEK re-wrapped, data key v2, 1 values re-encrypted" in out.getvalue()
    with tenant_context(alpha):
        forget_cached_keys()
        assert IntegrationSecret.objects.values_list("secret__key_version", flat=True).get() == 2
        assert IntegrationSecret.objects.get().secret == "payroll token"

    call_command("shred_org_key", "--org", "alpha", "--confirm", "alpha", stdout=StringIO())
    metadata = kms_client.describe_key(KeyId=keyring.kms_key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    with tenant_context(alpha):
        assert IntegrationSecret.objects.get().secret.reason == Unreadable.KEY_DESTROYED
        with pytest.raises(KeyDestroyed):
            data_key()
    with tenant_context(bravo):
        forget_cached_keys()
        assert IntegrationSecret.objects.get().secret == "bravo token"
