"""What the benchmarks share: the load average printed beside every figure (the machine is
shared), the median of warm runs, a process's peak memory, and a database of their own.

A benchmark puts the repository's root on sys.path and imports ``from bench.common import ...``.
"""

from __future__ import annotations

import os
import statistics
import time


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} CPUs"


def timed(function, repeat: int, before=None) -> float:
    """Median of `repeat` runs, after one that warms the caches (every side is measured
    warm); `before`, untimed, runs ahead of each."""
    runs = []
    for _ in range(repeat + 1):
        if before:
            before()
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs[1:])


def peak_mb() -> float:
    """This process's peak resident memory, in MB.

    Linux's VmHWM belongs to the program since it started; ru_maxrss (the fallback elsewhere)
    also keeps the size of the parent that spawned it, a Django process of 100 MB or more.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _admin_url(url: str) -> tuple[str, str]:
    """(the server's maintenance database, the database's name) of a postgres:// URL."""
    server, name = url.rsplit("/", 1)
    return f"{server}/postgres", name


def database_create(url: str, *, fresh: bool = True) -> None:
    """Create the benchmark's PostgreSQL database (dropping it first when `fresh`)."""
    import psycopg

    admin_url, name = _admin_url(url)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        if fresh:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        elif connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return
        connection.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    import psycopg

    admin_url, name = _admin_url(url)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_start(url: str) -> None:
    """Django on the benchmark's database `url` with the local settings, tasks run in-process
    (no broker: the benchmark measures the work, not the queue)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "surveysite.settings.local"
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
