"""Real servers for tests: gunicorn, a Celery worker and PgBouncer, each a child process
started from the same environment as the test session."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def psycopg_dsn(config: dict) -> str:
    """A psycopg connection string for one of Django's DATABASES entries."""
    return psycopg.conninfo.make_conninfo(
        host=config["HOST"],
        port=config["PORT"] or None,
        dbname=config["NAME"],
        user=config["USER"],
        password=config["PASSWORD"] or None,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(ready: Callable[[], bool], process: subprocess.Popen, what: str, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{output}")
        if ready():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} was not ready after {timeout}s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running(command: list[str], env: dict[str, str], what: str, ready: Callable[[], bool]):
    process = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(ready, process, what)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 1, threads: int = 1) -> Iterator[str]:
    """By default one sync worker, so consecutive requests share one process and one DB
    connection; more workers and threads serve requests in parallel (threads > 1 makes them
    gthread workers)."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}"]
    command += ["-w", str(workers), "--threads", str(threads)]
    with running(command, env, "gunicorn", lambda: port_open(port)):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def celery_worker(env: dict[str, str], queue: str) -> Iterator[None]:
    """A real worker process: solo pool, one task at a time, on a queue of its own."""
    command = [
        str(BIN / "celery"), "-A", "config", "worker", "--pool", "solo", "--concurrency", "1",
        "-Q", queue, "-n", f"{queue}@%h", "-I", "tests.celery_probe",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pgbouncer_binary() -> str:
    for candidate in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"):
        if os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("pgbouncer is not installed: `make test` installs it (apt-get).")


@contextmanager
def pgbouncer(directory: Path, *, host: str, port: int | None, dbname: str, users: list[str]):
    """PgBouncer in transaction pooling mode in front of the test database."""
    listen_port = free_port()
    directory.chmod(0o755)
    userlist = directory / "userlist.txt"
    userlist.write_text("".join(f'"{user}" ""\n' for user in users))
    server = f"host={host}" + (f" port={port}" if port else "")
    config = directory / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"{dbname} = {server} dbname={dbname}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {listen_port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {userlist}\n"
        "pool_mode = transaction\n"
        "default_pool_size = 2\n"
        "max_client_conn = 100\n"
        "server_reset_query =\n"
        "ignore_startup_parameters = extra_float_digits,application_name\n"
    )
    for path in (userlist, config):
        path.chmod(0o644)
    command = [pgbouncer_binary(), str(config)]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root; run it as the owner of the server's socket
        # directory (embedded PostgreSQL) or as nobody (TCP).
        owner = Path(host).stat().st_uid if host.startswith("/") else pwd.getpwnam("nobody").pw_uid
        command[1:1] = ["-u", pwd.getpwuid(owner).pw_name]
    with running(command, dict(os.environ), "pgbouncer", lambda: port_open(listen_port)):
        yield listen_port
