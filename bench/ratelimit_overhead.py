"""What the rate limits cost a simple API read (A11). Run with
``.venv/bin/python scripts/devstack.py bench bench/ratelimit_overhead.py``.

Two gunicorns (2 workers each) serve the same organisation API list to one signed-in member:
one with the rate-limit middleware (quotas far above the load, so every request is counted
and none refused), one without it (``bench/settings_without_rate_limits.py``). Figures:
1. throughput: CLIENTS threads request as fast as they can for ROUND_SECONDS on one server,
   then on the other (the order swapping every round), for ROUNDS rounds: requests per second
   per variant (median) and the median of the rounds' ratios, which holds up best when other
   work on the machine comes and goes;
2. CPU per request over those rounds, from /proc: the gunicorn's (master and workers) and,
   with rate limits, Redis's (``INFO cpu``; the benchmark's own Redis, nothing else uses
   it). On a machine shared with other work, CPU time is the steadier measure: a CPU-bound
   server's throughput goes as 1 / CPU per request, so app-without / (app-with + Redis) is a
   lower bound of the throughput kept (the database's share, the same in both, is left out);
3. latency of single requests, alternating between the two servers;
4. SQL queries and Redis commands per request, in this process.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import django
import redis.connection

# Far above what the benchmark sends: every request is counted, none refused.
UNREACHABLE_QUOTAS = "1000000/1,1000000/60,1000000/300"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.update(
    PALISADE_ENV="test",
    PALISADE_DB_CONN_MAX_AGE="600",
    PALISADE_RATELIMIT_ENABLED="1",
    PALISADE_RATELIMIT_DEFAULT=UNREACHABLE_QUOTAS,
    PALISADE_RATELIMIT_KEY_PREFIX=f"bench:{os.getpid()}",
)
django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from bench.request_costs import sql_and_redis_per_request  # noqa: E402
from tests.factories import make_membership, make_organization, make_sites, make_user  # noqa: E402
from tests.processes import gunicorn  # noqa: E402

API = "/api/v1/o/bench/sites/?page_size=50"
CLIENTS = 4
ROUNDS = 12
ROUND_SECONDS = 3.0
LATENCY_ROUNDS = 300
WITHOUT_RATE_LIMITS = "bench.settings_without_rate_limits"


def get(base_url: str, cookie: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback
        base_url + API, headers={"Host": settings.PORTAL_HOST, "Cookie": cookie}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()
        return response.status


def server_cpu_seconds(base_url: str) -> float:
    """CPU time used so far by the gunicorn listening at ``base_url``, master and workers."""
    bind = base_url.removeprefix("http://").encode()
    ticks = 0
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            if bind not in (process / "cmdline").read_bytes():
                continue
            fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def redis_cpu_seconds() -> float:
    cpu = redis.Redis.from_url(settings.REDIS_URL).info("cpu")
    return cpu["used_cpu_user"] + cpu["used_cpu_sys"]


def throughput(base_url: str, cookie: str) -> tuple[int, float]:
    """Requests served in one round, and the round's length."""
    deadline = time.monotonic() + ROUND_SECONDS
    start = threading.Barrier(CLIENTS)

    def client(_: int) -> int:
        start.wait()
        done = 0
        while time.monotonic() < deadline:
            assert get(base_url, cookie) == 200
            done += 1
        return done

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        done = sum(pool.map(client, range(CLIENTS)))
    return done, time.monotonic() - began


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"p50 {statistics.median(samples) * 1000:.2f} ms  p99 {p99 * 1000:.2f} ms"


def main() -> None:
    organization = make_organization("Bench", "bench")
    make_sites(organization, 50, "Site")
    member = make_user("member@bench.example")
    make_membership(organization, member)
    login = Client()
    login.force_login(member)
    cookie = f"{settings.SESSION_COOKIE_NAME}={login.cookies[settings.SESSION_COOKIE_NAME].value}"
    from bench import settings_without_rate_limits as without

    variants = {
        "with rate limits": dict(os.environ),
        "without": {**os.environ, "DJANGO_SETTINGS_MODULE": WITHOUT_RATE_LIMITS},
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    ratios: list[float] = []
    served = dict.fromkeys(variants, 0)
    app_cpu = dict.fromkeys(variants, 0.0)
    redis_cpu = dict.fromkeys(variants, 0.0)
    latencies: dict[str, list[float]] = {name: [] for name in variants}
    with ExitStack() as servers:
        urls = {
            name: servers.enter_context(gunicorn(env, workers=2)) for name, env in variants.items()
        }
        for _ in range(30):
            for base_url in urls.values():
                get(base_url, cookie)
        for round_number in range(ROUNDS):
            order = list(urls.items())[:: 1 if round_number % 2 == 0 else -1]
            for name, base_url in order:
                app_before, redis_before = server_cpu_seconds(base_url), redis_cpu_seconds()
                done, seconds = throughput(base_url, cookie)
                app_cpu[name] += server_cpu_seconds(base_url) - app_before
                redis_cpu[name] += redis_cpu_seconds() - redis_before
                served[name] += done
                rates[name].append(done / seconds)
            ratios.append(rates["with rate limits"][-1] / rates["without"][-1])
        for _ in range(LATENCY_ROUNDS):
            for name, base_url in urls.items():
                started = time.perf_counter()
                get(base_url, cookie)
                latencies[name].append(time.perf_counter() - started)

    with_queries, with_redis = sql_and_redis_per_request(member, API)
    with override_settings(MIDDLEWARE=without.MIDDLEWARE):
        without_queries, without_redis = sql_and_redis_per_request(member, API)
    print(f"API read ({API}), gunicorn 2 workers, {CLIENTS} client threads:")
    for name in variants:
        rounds = ", ".join(f"{rate:.0f}" for rate in rates[name])
        print(f"  {name:17} {statistics.median(rates[name]):7.1f} req/s (rounds: {rounds})")
    spread = f"{min(ratios):.3f}-{max(ratios):.3f}"
    print(f"  throughput kept with rate limits: {statistics.median(ratios):.3f} ({spread})")
    per_request = {
        name: (app_cpu[name] / served[name], redis_cpu[name] / served[name]) for name in variants
    }
    print("CPU per request over those rounds:")
    for name, (app, redis_share) in per_request.items():
        print(f"  {name:17} gunicorn {app * 1000:.3f} ms, Redis {redis_share * 1000:.3f} ms")
    with_app, with_store = per_request["with rate limits"]
    without_app, without_store = per_request["without"]
    added = with_app - without_app + with_store - without_store
    kept = without_app / (with_app + with_store - without_store)
    print(f"  added: {added * 1000:.3f} ms; throughput kept, CPU-bound (lower bound): {kept:.3f}")
    print(f"single requests, {LATENCY_ROUNDS} each:")
    for name in variants:
        print(f"  {name:17} {percentiles(latencies[name])}")
    added = statistics.median(latencies["with rate limits"]) - statistics.median(
        latencies["without"]
    )
    print(f"  added at the median: {added * 1000:.3f} ms")
    print(
        f"per request: with {with_queries} queries, {with_redis} Redis commands; "
        f"without {without_queries} queries, {without_redis} Redis commands"
    )


if __name__ == "__main__":
    main()
