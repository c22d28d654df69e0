import hmac
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.models import CooldownMixin, Device, ThrottlingMixin, TimestampMixin

from accounts.second_factors import codes
from keys.fields import SubjectEncryptedFieldsModel, SubjectEncryptedTextField, UnreadableValue

SESSION_AUTH_HASH_SALT = "accounts.User.session_auth_hash"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Not tenant-owned: one user can belong to several organisations (A16)."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # A2: set when someone else chose the password (an admin-created account); the user must
    # replace it before doing anything else.
    must_change_password = models.BooleanField(default=False)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # A10: raised by every revocation (role change, deactivation, "sign everyone out", ...).
    # It is part of the session auth hash that Django checks against this row on every
    # request, so every session signed in before the raise stops authenticating at its next
    # request, in every process, for no extra query or cache.
    session_generation = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "accounts_user"

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        """The name a person is shown by: their full name, or their email when they gave none
        (Django's name for it; the SQL twin is ``workforce.selectors._member_name``)."""
        return self.full_name or self.email

    # Django's hash covers only the password; ours adds the generation (A10).
    def get_session_auth_hash(self) -> str:
        return self._session_auth_hash(secret=None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_auth_hash(secret=secret)

    def _session_auth_hash(self, secret: str | None) -> str:
        value = f"{self.password}\x00{self.session_generation}"
        return salted_hmac(
            SESSION_AUTH_HASH_SALT, value, secret=secret, algorithm="sha256"
        ).hexdigest()


class UserSession(models.Model):
    """One signed-in session of a user (A9, A10): what "Your sessions" lists and what a
    revocation ends. The session itself (its data) stays in ``django_session``; this row
    links to it by the digest under which ``accounts.sessions.store`` keeps its key, so
    neither table holds a usable session key."""

    class EndReason(models.TextChoices):
        SIGNED_OUT = "signed_out", "You signed out."
        ENDED_BY_USER = "ended_by_user", "This session was ended from another of your sessions."
        IDLE_TIMEOUT = "idle_timeout", "You were signed out after a period without activity."
        ABSOLUTE_TIMEOUT = "absolute_timeout", "Your session reached its maximum length."
        ROLE_CHANGED = "role_changed", "Your role changed."
        MEMBERSHIP_CHANGED = "membership_changed", "Your access to an organisation changed."
        PASSWORD_CHANGED = "password_changed", "Your password was changed."
        DEACTIVATED = "deactivated", "Your account was deactivated."
        ORGANIZATION_SIGN_OUT = (
            "organization_sign_out",
            "An administrator signed everyone out of one of your organisations.",
        )
        NO_LONGER_VALID = "no_longer_valid", "Your session is no longer valid."
        LAPSED = "lapsed", "Your session expired."

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The digest of the session's current key, as django_session stores it; follows every
    # key rotation. Kept after the end so the next request with the old cookie can be told why.
    session_key_digest = models.CharField(max_length=64, unique=True)
    signed_in_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    device = models.CharField(max_length=120, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, choices=EndReason.choices, blank=True)

    class Meta:
        db_table = "accounts_user_session"
        indexes = [
            models.Index(
                fields=["user", "last_seen_at"],
                condition=Q(ended_at__isnull=True),
                name="user_session_open",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True, end_reason="")
                | Q(ended_at__isnull=False) & ~Q(end_reason=""),
                name="user_session_end_has_reason",
            )
        ]

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user_id}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


# Second factors (A3, A4, A5). They replace django-otp's TOTPDevice, EmailDevice and
# StaticDevice, which keep secrets and codes in clear: TOTP keys and emailed codes are
# encrypted under the person's own data key (E3, E6), recovery codes are stored as digests.
# They are django-otp devices all the same, so django_otp.devices_for_user, match_token,
# login and OTPMiddleware work with them. Passkeys are django_otp_webauthn's credentials
# (A6): a public key is not a secret.


class SecondFactorDevice(TimestampMixin, ThrottlingMixin, Device):
    """What every second factor here shares: timestamps, and django-otp's exponential
    back-off after wrong codes (1 s, 2 s, 4 s, ... per device)."""

    class Meta:
        abstract = True

    def get_throttle_factor(self) -> int:
        return settings.PALISADE_SECOND_FACTOR_THROTTLE_FACTOR

    def _accepted(self) -> bool:
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True

    def _refused(self) -> bool:
        self.throttle_increment(commit=True)
        return False


class TOTPDevice(SubjectEncryptedFieldsModel, SecondFactorDevice):
    """An authenticator app (A4): RFC 6238, HMAC-SHA1, 6 digits, 30-second steps. Unconfirmed
    until the person enters a first code. ``last_step`` is the step of the last accepted code:
    a code is accepted once only, even within its own 30 seconds."""

    key = SubjectEncryptedTextField()  # hex
    last_step = models.BigIntegerField(default=-1)

    class Meta:
        db_table = "accounts_totp_device"

    def key_bytes(self) -> bytes | None:
        key = self.key
        return None if isinstance(key, UnreadableValue) else bytes.fromhex(key)

    def verify_token(self, token: str) -> bool:
        allowed, _ = self.verify_is_allowed()
        key = self.key_bytes()
        if not allowed or key is None:
            return False
        step = codes.totp_match(
            key, str(token), now=timezone.now().timestamp(), after_step=self.last_step
        )
        if step is None:
            return self._refused()
        self.last_step = step
        return self._accepted()


class EmailOTPDevice(SubjectEncryptedFieldsModel, CooldownMixin, SecondFactorDevice):
    """Codes sent to the person's email address (A3). The current code is encrypted under
    their data key (E3), expires after ``EMAIL_CODE_MINUTES`` and is accepted once."""

    EMAIL_CODE_MINUTES = 10

    code = SubjectEncryptedTextField(null=True, blank=True)
    code_valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "accounts_email_otp_device"

    def get_cooldown_duration(self) -> int:
        return settings.PALISADE_EMAIL_CODE_COOLDOWN_SECONDS

    def issue_code(self) -> str:
        """A new code, replacing any earlier one; the caller sends it."""
        code = codes.new_email_code()
        self.code = code
        self.code_valid_until = timezone.now() + timedelta(minutes=self.EMAIL_CODE_MINUTES)
        self.cooldown_set(commit=False)
        self.save()
        return code

    def verify_token(self, token: str) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        expected = self.code
        presented = codes.numeric_code(str(token), codes.EMAIL_CODE_DIGITS)
        live = (
            isinstance(expected, str)
            and self.code_valid_until is not None
            and timezone.now() < self.code_valid_until
        )
        if not (live and presented and codes.codes_equal(expected, presented)):
            return self._refused()
        self.code = None
        self.code_valid_until = None
        self.cooldown_reset(commit=False)
        return self._accepted()


class RecoveryCodeDevice(SecondFactorDevice):
    """The person's single-use recovery codes (A5), for when their other factors are out of
    reach. Only digests are stored; a code is deleted when it is used."""

    class Meta:
        db_table = "accounts_recovery_code_device"

    def verify_token(self, token: str) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        presented = codes.recovery_code_digest(str(token))
        matched = None
        # Every remaining code is compared, found or not (constant time across codes).
        for code in self.codes.all():
            if hmac.compare_digest(bytes(code.digest), presented):
                matched = code
        if matched is None:
            return self._refused()
        matched.delete()
        return self._accepted()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.BinaryField(max_length=32)

    class Meta:
        db_table = "accounts_recovery_code"

    def __str__(self) -> str:
        return f"recovery code {self.pk} of device {self.device_id}"
