"""Real processes for the fault tests: a private redis-server, Celery workers, the test database.

Each test starts its own redis-server on a free port (other runs share the machine's Redis
and RabbitMQ, and a worker of theirs must never take one of our jobs), and workers that
use the test's PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
from django.db import connection

from reporting.models import CountedReturn, FigureValue, GroupItemTotal

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, *, timeout: float, what: str, every: float = 0.1, context=None):
    """Poll `condition` until it returns something true; fail the test after `timeout` s,
    with `context()` (e.g. a worker's log) in the message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f"\n{context()}" if context else ""))


class RedisServer:
    """A redis-server of our own on `port`, which the test can stop and start again."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open(self.port), timeout=20, what=f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def database_connect(**kwargs) -> psycopg.Connection:
    """A connection of the test's own to the test database, outside Django's."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], **kwargs
    )


class Worker:
    """`celery worker` in a subprocess against `broker_url` and the test database.

    Its log is collected by a thread, so the test can wait for a line and show it on failure.
    """

    def __init__(self, broker_url: str, *, pool: str = "solo", queue: str | None = None, env: dict | None = None):
        self.lines: list[str] = []
        command = [sys.executable, "-m", "celery", "-A", "surveysite", "worker", f"--pool={pool}",
                   "--concurrency=1", "--loglevel=info", "--without-gossip", "--without-mingle",
                   "--without-heartbeat"]
        if queue:
            command += ["-Q", queue]
        environment = {
            **{k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "CELERY_RESULT_BACKEND"}},
            "DJANGO_SETTINGS_MODULE": "surveysite.settings.local",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            **(env or {}),
        }
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for_line("ready.", timeout=60)

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, text: str, *, timeout: float, count: int = 1) -> None:
        def seen():
            if self.process.poll() is not None and sum(text in line for line in self.lines) < count:
                raise AssertionError(f"the worker exited ({self.process.returncode}):\n{self.log}")
            return sum(text in line for line in self.lines) >= count

        wait_for(seen, timeout=timeout, what=f"{text!r} in the worker's log", context=self.context)

    def context(self) -> str:
        return f"--- worker log ---\n{self.log}"

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, the connections simply drop."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        with contextlib.suppress(Exception):
            for pid in self.children():
                os.kill(pid, signal.SIGKILL)


def figures(edition) -> dict:
    """{(breakdown, group, key): value} of the edition's stored figures."""
    return {
        (breakdown, group, key): value
        for breakdown, group, key, value in FigureValue.objects.filter(edition=edition).values_list(
            "breakdown", "group", "key", "value"
        )
    }


def summary(edition) -> tuple[set, dict]:
    """The answer summary: the (return, version) pairs counted and the group totals."""
    return (
        set(CountedReturn.objects.filter(edition=edition).values_list("return_id", "version")),
        {
            (breakdown, group, item): (total, yes)
            for breakdown, group, item, total, yes in GroupItemTotal.objects.filter(edition=edition).values_list(
                "breakdown", "group", "item_id", "total", "yes"
            )
        },
    )
