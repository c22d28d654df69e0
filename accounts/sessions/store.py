"""Database sessions whose keys are stored only as digests (A7).

Django's database backend keeps the session key itself as the primary key of
``django_session``, so anyone who can read that table (a backup, an SQL injection, a
replica) holds every live session. Here the table holds ``key_digest(key)`` instead and the
cookie keeps the key; looking a session up by digest also takes the comparison of a secret
out of the index lookup (the fix Rails made for CVE-2019-16782). Everything else is Django's
database backend; only the places where it turns the key into a row are replaced.
"""

from __future__ import annotations

import hashlib
import logging

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from accounts.models import UserSession

# The UserSession row of a signed-in session (accounts.sessions.lifetime holds the others).
RECORD_ID = "_palisade_session"


def key_digest(session_key: str) -> str:
    """160 bits, which fit django_session's 40-character key column; the keys themselves
    carry about 165 bits, so the digest is no easier to find than the key."""
    return hashlib.blake2b(
        session_key.encode(), digest_size=20, person=b"palisade-session"
    ).hexdigest()


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        try:
            return self.model.objects.get(
                session_key=key_digest(self.session_key), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, SuspiciousOperation) as error:
            if isinstance(error, SuspiciousOperation):
                logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
            self._session_key = None

    async def _aget_session_from_db(self):
        try:
            return await self.model.objects.aget(
                session_key=key_digest(self.session_key), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, SuspiciousOperation) as error:
            if isinstance(error, SuspiciousOperation):
                logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
            self._session_key = None

    def exists(self, session_key):
        return self.model.objects.filter(session_key=key_digest(session_key)).exists()

    async def aexists(self, session_key):
        return await self.model.objects.filter(session_key=key_digest(session_key)).aexists()

    def create_model_instance(self, data):
        return self.model(
            session_key=key_digest(self._get_or_create_session_key()),
            session_data=self.encode(data),
            expire_date=self.get_expiry_date(),
        )

    async def acreate_model_instance(self, data):
        return self.model(
            session_key=key_digest(await self._aget_or_create_session_key()),
            session_data=self.encode(data),
            expire_date=await self.aget_expiry_date(),
        )

    def delete(self, session_key=None):
        session_key = session_key or self.session_key
        if session_key is not None:
            self.model.objects.filter(session_key=key_digest(session_key)).delete()

    async def adelete(self, session_key=None):
        session_key = session_key or self.session_key
        if session_key is not None:
            await self.model.objects.filter(session_key=key_digest(session_key)).adelete()

    # A7: a new key (sign-in, step-up, privilege change, update_session_auth_hash) must not
    # orphan the session's UserSession row, whatever code asked for it.
    def cycle_key(self):
        super().cycle_key()
        record_id = self.get(RECORD_ID)
        if record_id is not None:
            UserSession.objects.filter(pk=record_id).update(
                session_key_digest=key_digest(self.session_key)
            )

    async def acycle_key(self):
        await super().acycle_key()
        record_id = await self.aget(RECORD_ID)
        if record_id is not None:
            await UserSession.objects.filter(pk=record_id).aupdate(
                session_key_digest=key_digest(self.session_key)
            )
