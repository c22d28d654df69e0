"""Shared by the benchmarks: what one request costs in SQL queries and Redis commands, measured
in the benchmark's own process through Django's test client (Django must be set up)."""

from __future__ import annotations

import redis.connection
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def sql_and_redis_per_request(user, path: str) -> tuple[int, int]:
    """SQL queries and Redis commands of one GET of ``path`` by ``user``, after a first GET
    that warms caches."""
    client = Client(HTTP_HOST=settings.PORTAL_HOST)
    client.force_login(user)
    assert client.get(path).status_code == 200
    commands = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        commands.append(command)
        return send(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = counted
    try:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
    finally:
        redis.connection.AbstractConnection.send_packed_command = send
    return len(captured), len(commands)
