from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

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
