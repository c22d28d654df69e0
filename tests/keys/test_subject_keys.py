"""E3/E6: data-subject keys. Each person's values are encrypted under a data key of their own,
wrapped by the platform key provider and bound to the person, table, column and row; shredding
one person's key makes their values unreadable and leaves everyone else's alone."""

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import models, transaction
from django.test import override_settings
from django.test.utils import isolate_apps

from accounts.models import User
from audit.models import AuditEvent
from keys.fields import (
    CiphertextInvalid,
    FieldBinding,
    SubjectEncryptedFieldsModel,
    SubjectEncryptedTextField,
    SubjectFieldBinding,
    open_value,
    seal_value,
)
from keys.models import SubjectKey
from keys.providers import (
    AwsKmsProvider,
    KeyUnavailable,
    SubjectKeyDestroyed,
    SubjectKeyOwner,
)
from keys.services import user_key_shred
from keys.subject_keys import forget_cached_subject_keys, subject_data_key
from tenants.context import tenant_context
from tests.factories import make_membership, make_user
from tests.keys.conftest import new_master_key

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXP-totp-seed"
ROW = uuid.uuid4()


def _binding(user: User, column: str = "key", row: uuid.UUID | None = None):
    return SubjectFieldBinding(user.pk, "accounts_totp_device", column, row or ROW)


def test_E3_a_persons_key_is_created_on_first_use_and_stored_only_wrapped():
    ann = make_user("ann@alpha.example")
    assert not SubjectKey.objects.filter(user=ann).exists()

    key = subject_data_key(ann.pk)

    row = SubjectKey.objects.get(user=ann)
    assert (row.provider, row.state) == ("local", SubjectKey.State.ACTIVE)
    assert len(key.key) == 32
    assert key.key not in bytes(row.wrapped_key)
    forget_cached_subject_keys()
    assert subject_data_key(ann.pk, 1).key == key.key  # unwrapped again from the row


def test_E3_subject_values_are_bound_to_their_person_table_column_and_row():
    ann, bob = make_user("ann@alpha.example"), make_user("bob@alpha.example")
    ann_key, bob_key = subject_data_key(ann.pk), subject_data_key(bob.pk)
    sealed = seal_value(SECRET, ann_key, _binding(ann))
    assert SECRET.encode() not in sealed
    assert open_value(sealed, ann_key, _binding(ann)) == SECRET

    elsewhere = [
        (ann_key, _binding(ann, column="name")),
        (ann_key, SubjectFieldBinding(ann.pk, "accounts_user", "key", ROW)),
        (ann_key, _binding(ann, row=uuid.uuid4())),
        # The same number as an organisation id: a different domain, so it still fails.
        (ann_key, FieldBinding(ann.pk, "accounts_totp_device", "key", ROW)),
        (bob_key, _binding(bob)),
    ]
    for key, binding in elsewhere:
        with pytest.raises(CiphertextInvalid):
            open_value(sealed, key, binding)
    with pytest.raises(ValueError, match="its own organisation's or person's"):
        seal_value(SECRET, ann_key, _binding(bob))


def test_E3_a_key_created_in_a_rolled_back_transaction_is_never_used():
    ann = make_user("ann@alpha.example")
    with transaction.atomic():
        lost = subject_data_key(ann.pk)
        transaction.set_rollback(True)  # the request failed
    assert not SubjectKey.objects.filter(user=ann).exists()
    assert subject_data_key(ann.pk).key != lost.key


def test_E6_user_key_shred_makes_a_persons_values_unreadable_and_is_recorded(org_a):
    ann, bob = make_user("ann@alpha.example"), make_user("bob@alpha.example")
    make_membership(org_a, ann)
    ann_value = seal_value(SECRET, subject_data_key(ann.pk), _binding(ann))
    bob_value = seal_value(SECRET, subject_data_key(bob.pk), _binding(bob))

    user_key_shred(user=ann)

    row = SubjectKey.objects.get(user=ann)
    assert (row.state, bytes(row.wrapped_key)) == (SubjectKey.State.DESTROYED, b"")
    assert row.destroyed_at is not None
    for version in (1, None):  # neither reading nor encrypting anything new
        with pytest.raises(SubjectKeyDestroyed, match="This person's encryption key"):
            subject_data_key(ann.pk, version)
    assert open_value(bob_value, subject_data_key(bob.pk, 1), _binding(bob)) == SECRET
    assert ann_value  # the ciphertext is still there; nothing can open it

    user_key_shred(user=ann)  # idempotent: no second event
    with tenant_context(org_a):
        events = list(AuditEvent.objects.filter(action="keys.subject_key_shredded"))
    assert [(e.entity_type, e.entity_id) for e in events] == [("accounts.user", str(ann.pk))]


def test_E6_shredding_a_person_without_a_key_refuses_later_encryption():
    ann = make_user("ann@alpha.example")
    user_key_shred(user=ann)
    with pytest.raises(SubjectKeyDestroyed):
        subject_data_key(ann.pk)


def test_E5_rotate_keys_rewrap_moves_peoples_keys_to_the_new_master(settings, master_keys):
    old_master, new_master = settings.PALISADE_MASTER_KEYS[0], new_master_key()
    ann = make_user("ann@alpha.example")
    sealed = seal_value(SECRET, subject_data_key(ann.pk), _binding(ann))

    with master_keys([new_master]), pytest.raises(KeyUnavailable, match="master key that wrapped"):
        subject_data_key(ann.pk, 1)
    with master_keys([new_master, old_master]):
        out = StringIO()
        call_command("rotate_keys", "--rewrap", stdout=out)
    assert "people's data keys: 1 now under the current master key" in out.getvalue()
    with master_keys([new_master]):
        assert open_value(sealed, subject_data_key(ann.pk, 1), _binding(ann)) == SECRET


def test_E2_kms_wraps_a_persons_key_with_the_platform_key_bound_to_them(kms_client):
    platform_key = kms_client.create_key(Description="Palisade platform")["KeyMetadata"]["Arn"]
    kms = AwsKmsProvider(kms_client)
    ann, bob = SubjectKeyOwner(user_id=11), SubjectKeyOwner(user_id=12)
    with override_settings(PALISADE_KMS_PLATFORM_KEY_ID=platform_key):
        plaintext, stored = kms.new_subject_key(ann)
    assert stored.kms_key_id == platform_key
    assert plaintext not in stored.wrapped
    assert kms.unwrap_subject_key(ann, stored) == plaintext
    with pytest.raises(KeyUnavailable, match="KMS refused"):
        kms.unwrap_subject_key(bob, stored)
    with pytest.raises(KeyUnavailable, match="PALISADE_KMS_PLATFORM_KEY_ID"):
        kms.new_subject_key(ann)


@pytest.mark.usefixtures("kms_settings")
def test_E6_a_person_on_kms_encrypts_and_is_shredded(kms_client):
    platform_key = kms_client.create_key(Description="Palisade platform")["KeyMetadata"]["Arn"]
    ann = make_user("ann@alpha.example")
    with override_settings(PALISADE_KMS_PLATFORM_KEY_ID=platform_key):
        sealed = seal_value(SECRET, subject_data_key(ann.pk), _binding(ann))
        assert SubjectKey.objects.get(user=ann).provider == "aws-kms"
        forget_cached_subject_keys()  # the next read unwraps through KMS again
        assert open_value(sealed, subject_data_key(ann.pk, 1), _binding(ann)) == SECRET
        user_key_shred(user=ann)
        with pytest.raises(SubjectKeyDestroyed):
            subject_data_key(ann.pk, 1)


@isolate_apps("keys")
def test_E3_checks_refuse_subject_fields_without_their_person():
    class Unbound(models.Model):  # noqa: DJ008 - never shown
        secret = SubjectEncryptedTextField()

        class Meta:
            app_label = "keys"

    class WrongSubject(SubjectEncryptedFieldsModel):
        subject_field = "owner_name"
        owner_name = models.CharField(max_length=10)
        secret = SubjectEncryptedTextField()

        class Meta:
            app_label = "keys"

    assert [e.id for e in Unbound._meta.get_field("secret").check()] == ["keys.E003"]
    assert [e.id for e in WrongSubject.check()] == ["keys.E004"]
