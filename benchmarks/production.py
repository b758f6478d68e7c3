"""Issue 10's goals table: everything `make bench` measures about Hearth in production, in one run.

Run: .venv/bin/python -m benchmarks.production   (or `make bench`, which runs the feature benchmarks first)
Each part builds what it needs and cleans up after itself:
- benchmarks.pages: one SQLite database with the demo school and a large school (about 600 pupils and a
  year of history): bytes over the wire per main page and per first visit, SQL statements per page on
  each school, and each page's median server time on the large school divided by that on the demo;
  with benchmarks.photo_memory, a 12-megapixel phone photo (JPEG and HEIC) through the media
  pipeline in a process of its own, peak memory;
- benchmarks.load: the demo and a large school on PostgreSQL with Redis, served by gunicorn on
  127.0.0.1: requests per second of four main requests as ratios to a bare Flask route in the same
  gunicorn, then 200 simulated users for 60 seconds (errors, latency, awards acknowledged against
  awards stored, each worker's peak memory), and the sizes on disk.
The exit code is 0 when every goal is met. BENCH_ONLY=pages,load runs some parts only.
"""
import importlib
import os
import sys
import time

from benchmarks.table import all_met, render

PARTS = ["benchmarks.pages", "benchmarks.load"]  # pages includes benchmarks.photo_memory
ORDER = ["Bytes", "Queries", "Server time", "Throughput", "Load run", "Memory", "Disk"]


def main():
    only = {p.strip() for p in os.environ.get("BENCH_ONLY", "").split(",") if p.strip()}
    rows, failed = [], []
    started = time.perf_counter()
    for name in PARTS:
        if only and name.rsplit(".", 1)[1] not in only:
            continue
        print(f"--- {name} ...", flush=True)
        part_started = time.perf_counter()
        try:
            rows += importlib.import_module(name).measure()
        except Exception as error:  # noqa: BLE001  (one part failing must not hide the others)
            failed.append(f"{name}: {error!r}")
            print(f"    failed: {error!r}", flush=True)
        print(f"    {time.perf_counter() - part_started:.0f} s", flush=True)
    rows.sort(key=lambda r: ORDER.index(r.section) if r.section in ORDER else len(ORDER))
    print()
    print(render(rows))
    print(f"Measured in {time.perf_counter() - started:.0f} s on {os.cpu_count()} cores.")
    for problem in failed:
        print("NOT MEASURED:", problem)
    return 0 if all_met(rows) and not failed else 1


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
