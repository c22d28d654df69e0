"""Key fixtures: a local KMS-compatible server (moto) and master-key configurations."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import boto3
import pytest
from django.db import connection
from django.test import override_settings
from moto.server import ThreadedMotoServer

from keys.keyring import forget_cached_keys
from keys.providers import provider
from keys.subject_keys import forget_cached_subject_keys
from tests.processes import free_port

KMS_REGION = "eu-west-2"


@pytest.fixture(scope="session")
def kms_endpoint() -> Iterator[str]:
    """A real HTTP server speaking the KMS API, in this process (E2)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def kms_client(kms_endpoint):
    return boto3.client(
        "kms",
        endpoint_url=kms_endpoint,
        region_name=KMS_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def kms_settings(kms_endpoint) -> Iterator[None]:
    """New organisations get their KEK in KMS, through the configured provider factory."""
    with override_settings(
        PALISADE_KEY_PROVIDER="aws-kms",
        PALISADE_KMS_ENDPOINT_URL=kms_endpoint,
        PALISADE_AWS_REGION=KMS_REGION,
        PALISADE_AWS_ACCESS_KEY_ID="testing",
        PALISADE_AWS_SECRET_ACCESS_KEY="testing",
    ):
        provider.cache_clear()
        try:
            yield
        finally:
            provider.cache_clear()


def new_master_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def master_keys() -> Callable[[list[bytes]], AbstractContextManager[None]]:
    """Runs a block with the given master keys (current first), as PALISADE_MASTER_KEY and
    PALISADE_MASTER_KEY_PREVIOUS would configure them, and no key cached from before."""

    @contextmanager
    def configured(keys: list[bytes]) -> Iterator[None]:
        with override_settings(PALISADE_MASTER_KEYS=keys):
            provider.cache_clear()
            forget_cached_keys()
            forget_cached_subject_keys()
            try:
                yield
            finally:
                provider.cache_clear()
                forget_cached_keys()
                forget_cached_subject_keys()

    return configured


def stored_bytes(secret_pk: int) -> bytes:
    """The column as the runtime role reads it with raw SQL, inside the current context."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM keys_integration_secret WHERE id = %s", [secret_pk])
        return bytes(cursor.fetchone()[0])
