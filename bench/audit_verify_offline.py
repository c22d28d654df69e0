"""What the offline audit verifier costs (L3, L9): throughput and peak memory of
``python -m audit.verify`` on a synthetic export, without and with ``--hmac-key``. Pure: no
Django, no database. Run with ``.venv/bin/python bench/audit_verify_offline.py``.

The export is generated into a temporary directory with ``audit.chain`` exactly as the
database writer chains events (a signed checkpoint every ``--checkpoint-every`` events).
Each verification runs as its own process, as a customer runs it, under GNU time: wall and
CPU seconds and peak RSS. (Not ``wait4`` from this process: Linux carries the parent's RSS
high-water mark across fork and exec, so the child would report this generator's memory.)
Running a smaller export too shows whether memory grows with the number of events (it must
not: the verifier streams).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.audit.synthetic_export import write_large_export  # noqa: E402

GNU_TIME = "/usr/bin/time"


def verify(export: Path, public_key: str, hmac_key: str | None) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds, peak RSS in KiB and the verifier's output line."""
    command = [sys.executable, "-m", "audit.verify", str(export), "--public-key", public_key]
    if hmac_key:
        command += ["--hmac-key", hmac_key]
    process = subprocess.run(
        [GNU_TIME, "-f", "%e %U %S %M", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode != 0:
        raise SystemExit(f"the verifier failed on a genuine export: {process.stdout}")
    wall, user, system, peak_kib = process.stderr.split()[-4:]
    return float(wall), float(user) + float(system), int(peak_kib), process.stdout.strip()


def measure(directory: Path, events: int, checkpoint_every: int) -> None:
    export = directory / f"export-{events}.jsonl"
    started = time.perf_counter()
    log = write_large_export(export, events, checkpoint_every=checkpoint_every)
    size_mb = export.stat().st_size / 1e6
    print(
        f"\n{events:,} events, {len(log.checkpoints)} checkpoints, {size_mb:,.0f} MB "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    )
    for label, hmac_key in (("without --hmac-key", None), ("with --hmac-key   ", log.hmac_key)):
        wall, cpu, peak_kib, output = verify(
            export, log.public_key_b64, hmac_key.hex() if hmac_key else None
        )
        print(
            f"  {label}: {wall:6.2f} s wall {events / wall:>8,.0f} events/s | "
            f"{cpu:6.2f} s CPU {events / cpu:>8,.0f} events/s | "
            f"peak RSS {peak_kib / 1024:5.1f} MiB | {output}"
        )
    export.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    args = parser.parse_args()
    if not shutil.which(GNU_TIME):
        raise SystemExit(f"needs GNU time at {GNU_TIME} (apt-get install time)")
    print(f"Python {sys.version.split()[0]}, one process per verification (single-threaded)")
    with tempfile.TemporaryDirectory(prefix="palisade-audit-bench-") as directory:
        for events in sorted({max(args.events // 10, 1), args.events}):
            measure(Path(directory), events, args.checkpoint_every)


if __name__ == "__main__":
    main()
