"""Three hosts of surveysite on this machine: two app hosts (gunicorn) and a worker (Celery).

Each host runs in its own network namespace (tests/multihost/network.py) and its own mount
namespace, where a private, empty tmpfs is mounted on its working directory (temporary
files, uploads being received, media, collected static files, HOME) and the code and the
virtualenv are mounted read-only. So no host can see a file another host wrote, and none
can write anything the others would read: whatever works here keeps its state in
PostgreSQL or Redis, which each host reaches through the relay on its link.

Every host uses the production settings (``surveysite.settings.production``) from the
environment, with a few test-only changes in a settings module of its own (plain HTTP on
the private network, one queue and cache prefix per run).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.multihost.network import Host, Network, process_stop

ROOT = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable
APP_PORT = 8000

# Inside the host's mount namespace: its private disk, read-only code, then the command.
LAUNCH = r"""
set -e
mount -t tmpfs -o size=512m,mode=0700 tmpfs "$HOST_DIR"
for path in $READ_ONLY; do mount --bind "$path" "$path"; mount -o remount,bind,ro "$path"; done
mkdir -p "$TMPDIR" "$DJANGO_FILE_UPLOAD_TEMP_DIR" "$DJANGO_MEDIA_ROOT" "$DJANGO_STATIC_ROOT" "$HOME"
cd "$HOST_DIR"
exec "$@"
"""

HOST_SETTINGS = '''"""The multi-host test's hosts: production settings, on a private plain-HTTP network."""

from surveysite.settings.production import *  # noqa: F403
from surveysite.settings.production import CACHES, CELERY_BROKER_TRANSPORT_OPTIONS

# The test's network is private and plain HTTP; production cookies are HTTPS-only.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
# Every upload is written to this host's own upload folder while it is received (not memory).
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
# This run's own queue and cache keys on the machine's Redis; no task results kept there.
CELERY_TASK_DEFAULT_QUEUE = "{queue}"
CELERY_TASK_IGNORE_RESULT = True
CACHES["default"]["KEY_PREFIX"] = "{queue}"
# A task of a killed worker comes back after CELERY_VISIBILITY_TIMEOUT (10 s here);
# look for such tasks every 2 s instead of Kombu's 100 s.
CELERY_BROKER_TRANSPORT_OPTIONS = {{
    **CELERY_BROKER_TRANSPORT_OPTIONS, "unacked_restore_interval": 2, "unacked_restore_throttle": 1,
}}
'''


@dataclass
class Cluster:
    network: Network
    run_dir: Path
    database: str
    redis_db: int
    queue: str = field(default_factory=lambda: f"surveysite-mh-{os.getpid()}")
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    relay: subprocess.Popen | None = None
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def app_hosts(self) -> dict[str, Host]:
        return {name: host for name, host in self.network.hosts.items() if name.startswith("app")}

    @property
    def urls(self) -> dict[str, str]:
        return {name: f"http://{host.inner}:{APP_PORT}" for name, host in self.app_hosts.items()}

    def log(self, host: Host) -> Path:
        return self.run_dir / "logs" / f"{host.name}.log"

    def logs_tail(self, lines: int = 60) -> str:
        parts = []
        for path in sorted((self.run_dir / "logs").glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name} (last {lines} lines)\n" + "\n".join(text))
        return "\n".join(parts)

    # --- setup -------------------------------------------------------------------------

    def relay_start(self) -> None:
        routes = []
        for host in self.network.hosts.values():
            routes += [f"{host.outer}:5432=127.0.0.1:5432", f"{host.outer}:6379=127.0.0.1:6379"]
        log = (self.run_dir / "logs" / "relay.log").open("ab")
        self.relay = subprocess.Popen(
            [PYTHON, str(ROOT / "tests" / "multihost" / "relay.py"), *routes],
            stdout=subprocess.PIPE, stderr=log, start_new_session=True, text=True,
        )
        log.close()
        line = self.relay.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the relay did not start: {line!r}\n{self.logs_tail()}")

    def relay_stop(self) -> None:
        if self.relay is not None:
            process_stop(self.relay)

    def _host_dir(self, host: Host) -> Path:
        return self.run_dir / host.name

    def _config_dir(self, host: Host) -> Path:
        return self.run_dir / "config" / host.name

    def environment(self, host: Host) -> dict[str, str]:
        home = self._host_dir(host)
        allowed = ["survey.test", *(h.inner for h in self.app_hosts.values())]
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": f"{self._config_dir(host)}:{ROOT}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "DJANGO_SETTINGS_MODULE": "multihost_settings",
            "DJANGO_SECRET_KEY": self.secret_key,
            "DJANGO_ALLOWED_HOSTS": ",".join(allowed),
            "DATABASE_URL": f"postgres://postgres@{host.outer}:5432/{self.database}",
            "CELERY_BROKER_URL": f"redis://{host.outer}:6379/{self.redis_db}",
            "REDIS_URL": f"redis://{host.outer}:6379/{self.redis_db}",
            # A worker killed in the middle of a task gets it back after 10 s, not an hour.
            "CELERY_VISIBILITY_TIMEOUT": "10",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_LOG_LEVEL": "INFO",
            # This host's own folders, on its private disk.
            "HOST_DIR": str(home),
            "TMPDIR": str(home / "tmp"),
            "DJANGO_FILE_UPLOAD_TEMP_DIR": str(home / "uploads"),
            "DJANGO_MEDIA_ROOT": str(home / "media"),
            "DJANGO_STATIC_ROOT": str(home / "static"),
            "HOME": str(home / "home"),
            "READ_ONLY": " ".join(sorted({str(ROOT), str(Path(sys.prefix).resolve())})),
        }

    def _start(self, host: Host, command: list[str]) -> subprocess.Popen:
        self._host_dir(host).mkdir(parents=True, exist_ok=True)
        config = self._config_dir(host)
        config.mkdir(parents=True, exist_ok=True)
        (config / "multihost_settings.py").write_text(HOST_SETTINGS.format(queue=self.queue))
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", LAUNCH, "launch", *command]
        return host.popen(argv, env=self.environment(host), cwd=self.run_dir, log=self.log(host))

    def app_start(self, host: Host) -> subprocess.Popen:
        # Each app host collects its own static files (WhiteNoise serves them), then serves with
        # the project's gunicorn.conf.py, as production does. Overridden: 2 workers (not one per
        # core plus one: two app hosts and a worker share this machine's cores), a long timeout
        # (a loaded machine's requests are slow, not stuck), the heartbeat files on the host's
        # own disk (not the machine's /dev/shm, which every namespace here shares), and an access log.
        serve = (
            f"{PYTHON} {ROOT / 'manage.py'} collectstatic --noinput -v0 && exec {PYTHON} -m gunicorn "
            f"-c {ROOT / 'gunicorn.conf.py'} --bind {host.inner}:{APP_PORT} --workers 2 --timeout 300 "
            f"--worker-tmp-dir \"$TMPDIR\" --access-logfile -"
        )
        return self._start(host, ["sh", "-c", serve])

    def worker_start(self, host: Host) -> subprocess.Popen:
        process = self._start(host, [
            PYTHON, "-m", "celery", "-A", "surveysite", "worker", "--pool=prefork", "--concurrency=1",
            "--loglevel=INFO", "--without-gossip", "--without-mingle", "--hostname", f"{host.name}@%h",
        ])
        self.workers[host.name] = process
        return process

    def app_wait(self, host: Host, timeout: float) -> None:
        url = f"http://{host.inner}:{APP_PORT}/accounts/login/"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, headers={"Host": "survey.test"}, timeout=10).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"app host {host.name} did not answer within {timeout:.0f} s\n{self.logs_tail()}")

    def worker_wait(self, host: Host, timeout: float, *, after: int = 0) -> None:
        """Until the worker's log says it is ready (counting from byte `after` of the log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log(host)
            if log.exists() and " ready." in log.read_text(errors="replace")[after:]:
                return
            time.sleep(0.5)
        raise AssertionError(f"worker {host.name} was not ready within {timeout:.0f} s\n{self.logs_tail()}")
