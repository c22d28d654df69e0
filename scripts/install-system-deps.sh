#!/usr/bin/env bash
# System packages the test suite and benchmarks need that pip cannot provide: PgBouncer (the
# T2 isolation tests run through it in transaction pooling mode), Chromium (the browser
# end-to-end tests drive Debian's build through Playwright; Playwright's own browser
# downloads are not used) and wrk (the benchmarks' load generator).
# Installs only what is missing.
set -euo pipefail

missing=()
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The load generator of the benchmarks (bench/workforce_scale.py).
command -v wrk >/dev/null 2>&1 || missing+=(wrk)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "Need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts a pgbouncer service on install; the tests start their own.
$sudo systemctl disable --now pgbouncer >/dev/null 2>&1 || $sudo service pgbouncer stop >/dev/null 2>&1 || true
