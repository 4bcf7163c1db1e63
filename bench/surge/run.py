"""The deadline surge: every hospital logs in, fills and submits its return within minutes.

    .venv/bin/python bench/surge/run.py            # 1,237 reporters over 300 s, stress 10/25/50/100 users
    .venv/bin/python bench/surge/run.py --quick    # a small run (under about a minute)
    .venv/bin/python bench/surge/run.py --hosts 1,2 --baseline none   # one app host, then two behind a proxy

Loopback only. Starts, on 127.0.0.1, its own gunicorn (``gunicorn -c gunicorn.conf.py``, the
production settings with plain static storage: bench/surge/surge_settings.py) and a real Celery
worker on Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/12; a queue of its own), on its
own PostgreSQL database (created from a template database kept between runs, dropped at the
end; BENCH_SERVER_URL names the server, default postgres://postgres@127.0.0.1:5432). It sets
up an open edition with reporter accounts, institutions and draft returns (one password
hash computed once and shared), then drives, with asyncio and aiohttp:

- open loop: --reporters reporters arriving at random (a Poisson process) over --window
  seconds; each GETs the login page, POSTs the login (following the redirect to the home
  page, as a browser does), GETs the form, POSTs a save of every item that applies (the
  values of one demo-dataset institution, which pass the rules), POSTs a second save with
  some values changed, POSTs the submit (with an explanation for each warning), each POST
  followed by the redirected GET of the form; pauses of --pause seconds between actions;
- closed loop (stress): --stress users at a time, no pauses, each doing whole returns one
  after another for --stress-seconds (returns in flight then finish).

For each it prints the median, p95 and p99 per request type, throughput (requests/s and
complete returns/s), errors, the server's CPU per complete return (the gunicorn processes,
read from /proc: the figure the shared machine's load disturbs least), the load generator's
own CPU, and the load average. Then it checks the database: every value, status, version,
warning explanation and audit event each reporter wrote; finally it approves every return
(review, then approve: the aggregation runs on the Celery worker after each) and checks that
the figures equal those of ``aggregate --rebuild``.

The same run measures a baseline (--baseline, default all): the same scenario against the
deployment before issue 9 (Django's default PBKDF2 hasher, ``gunicorn --workers 5`` sync
workers without gunicorn.conf.py), and prints the ratios.

--hosts 1,2 runs the optimised configuration with one app host, then with two: gunicorn
servers on ports of their own behind a round-robin proxy (bench/surge/balancer.py, which
alternates each reporter's requests between the hosts, so every session crosses them), on
the same database and Celery worker, sharing out the one-host run's workers; every run of
the invocation (the baseline too) then goes through the proxy, and the runs are printed side
by side. On one machine the hosts share its cores: the point is that nothing is lost, not a
speed-up.

Exit status 1 when a request failed or a check of the database did not hold (latency
targets are printed, not enforced: the machine's load decides them).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(ROOT)]
SERVER = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
TEMPLATE_DATABASE = "surveysite_bench_surge_template"
PASSWORD = "Surge-bench-2024!"
CODE_PREFIX = "SURGE"
HOST = "127.0.0.1"
# A TLS-terminating proxy in front of gunicorn says the request came over HTTPS.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}

os.environ["DJANGO_SETTINGS_MODULE"] = "surge_settings"
os.environ.setdefault("DJANGO_SECRET_KEY", "surge-bench-only-not-a-secret")
os.environ["DJANGO_ALLOWED_HOSTS"] = HOST
os.environ["DJANGO_SECURE_PROXY_SSL_HEADER"] = "1"  # believe the proxy's X-Forwarded-Proto
os.environ["DATABASE_URL"] = f"{SERVER}/{TEMPLATE_DATABASE}"
os.environ["CELERY_BROKER_URL"] = REDIS
os.environ["CELERY_RESULT_BACKEND"] = REDIS
# As the README's production layout: the broker's Redis is the cache too (and the sessions' read cache).
os.environ["REDIS_URL"] = REDIS
# This run's queue and cache keys (surge_settings.py): other runs sharing the Redis database
# at the same time take none of its tasks.
RUN_PREFIX = os.environ["BENCH_SURGE_RUN"] = f"surveysite-bench-surge-{os.getpid()}"
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")


@dataclass(frozen=True)
class Configuration:
    name: str
    settings: str
    hasher: str  # algorithm of the stored password hashes
    gunicorn: tuple[str, ...]  # arguments after the executable, --bind added
    cwd: Path  # gunicorn reads ./gunicorn.conf.py from its working folder unless -c is given
    hosts: int = 1  # app servers (gunicorn masters), each on its own port
    workers: tuple[int, ...] = ()  # --workers of each host; none: gunicorn.conf.py's
    balanced: bool = False  # behind the round-robin proxy (bench/surge/balancer.py)

    @property
    def slug(self) -> str:
        return re.sub(r"\W", "_", self.name)


OPTIMISED = Configuration(
    "optimised", "surge_settings", "argon2",
    ("-c", str(ROOT / "gunicorn.conf.py")), ROOT,
)
BASELINE = Configuration(
    "baseline", "surge_settings_before", "pbkdf2_sha256",
    ("surveysite.wsgi:application", "--workers", "5"), HERE,
)

REQUEST_ORDER = [
    "GET login", "POST login", "GET home", "GET form", "POST save", "POST save again",
    "POST submit", "GET form after POST",
]


# --- the database ------------------------------------------------------------------------


def _admin_connection():
    import psycopg

    return psycopg.connect(f"{SERVER}/postgres", autocommit=True)


def template_prepare() -> None:
    """The template database, migrated and loaded (kept between runs: no-ops when current)."""
    from django.core.management import call_command

    with _admin_connection() as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE_DATABASE]).fetchone():
            admin.execute(f'CREATE DATABASE "{TEMPLATE_DATABASE}"')
    _database_use(TEMPLATE_DATABASE)
    call_command("migrate", verbosity=0)
    call_command("setup_survey", verbosity=0, stdout=open(os.devnull, "w"))


def database_create(name: str) -> None:
    """A fresh database `name`, copied from the template, and used from now on."""
    from django.db import connections

    connections.close_all()
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DATABASE}"')
    _database_use(name)


def _database_use(name: str) -> None:
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    settings.DATABASES["default"]["NAME"] = name
    connections["default"].settings_dict["NAME"] = name


def database_drop(name: str) -> None:
    from django.db import connections

    connections.close_all()
    with _admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- what each reporter types --------------------------------------------------------------


@dataclass
class Account:
    username: str
    return_id: int
    first: dict  # POST data of the first save (item code -> raw text)
    second: dict  # of the second save and the submit
    explanations: dict  # warning rule code -> explanation
    expected: dict = field(default_factory=dict)  # item code -> typed value after the submit
    first_changes: int = 0
    second_changes: int = 0


def _raw(value) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def answer_sets(edition, demo, count: int) -> list[tuple[dict, dict, dict]]:
    """(first save, second save, warnings to explain) for the first `count` demo-dataset institutions.

    The demo dataset reproduces the published figures and passes every error rule; items
    that do not apply are left out (the page disables them, so a browser does not send them).
    The second save changes a few free numbers (named by no rule and no subtotal) and the
    free-text opinion.
    """
    from reporting.models import ValidationRule
    from reporting.rules import rule_expression_names, rule_expression_parse
    from reporting.rules.engine import ERROR, WARNING, questionnaire_compiled, return_values_check

    questionnaire = questionnaire_compiled(edition)
    named: set[str] = set()
    for rule in ValidationRule.objects.filter(edition=edition, kind="expression"):
        for text in (rule.condition, rule.when):
            if text and text.strip():
                items, groups = rule_expression_names(rule_expression_parse(text))
                named |= items
                for group in groups:
                    named |= set(questionnaire.groups.get(group, ()))
    parents = {item.applies_if for item in questionnaire.items.values() if item.applies_if}
    free = [
        code for code, item in questionnaire.items.items()
        if item.type == "integer" and code not in named and code not in parents and not item.part_of
    ]
    texts = [code for code, item in questionnaire.items.items() if item.type == "text"]
    sets = []
    for index, institution in enumerate(demo[:count]):
        first = {
            code: value for code, value in institution.answers.items()
            if value is not None and questionnaire.applies(code, institution.answers)
        }
        second = dict(first)
        for code in [c for c in free if c in first][index % 5::5][:4]:
            second[code] = first[code] + 1 + index % 3
        for code in texts:
            second[code] = f"截止日前更新（第{index}号）"
        findings = return_values_check(edition=edition, values=second, for_submission=True)
        errors = [f for f in findings if f.severity == ERROR]
        assert not errors, (institution.code, errors)
        warnings = {f.rule_code: f"本院情况属实（{f.rule_code}）" for f in findings if f.severity == WARNING}
        sets.append((first, second, warnings))
    return sets


def population_create(*, count: int, hasher: str, answers: list, demo: list) -> tuple[list[Account], object]:
    """An open 2024 edition; `count` institutions, reporters and draft returns; one admin."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import get_hasher
    from django.db import transaction
    from django.utils import timezone

    from institutions.models import Institution, Membership, Province, Role
    from reporting.models import AuditEvent, AuditSource, Edition, ReturnStatus, SurveyReturn

    User = get_user_model()
    # One hash for every account: hashing 1,237 passwords would take minutes.
    encoded = get_hasher(hasher).encode(PASSWORD, get_hasher(hasher).salt())
    provinces = set(Province.objects.values_list("code", flat=True))
    with transaction.atomic():
        today = timezone.localdate()
        edition = Edition.objects.get(year=2024)
        edition.status, edition.opens_on, edition.closes_on = "open", today - dt.timedelta(days=30), today + dt.timedelta(days=30)
        edition.save()
        # Institution n answers as demo institution n % len(answers) does, and is registered like it.
        like = [demo[n % len(answers)] for n in range(count)]
        institutions = Institution.objects.bulk_create([
            Institution(
                code=f"{CODE_PREFIX}{n:05d}", name=f"压力测试医院{n}", is_synthetic=True,
                province_id=d.province if d.province in provinces else "11",
                ownership=d.ownership, hospital_level=d.hospital_level,
            )
            for n, d in enumerate(like)
        ], batch_size=2000)
        users = User.objects.bulk_create(
            [User(username=f"surge{n:05d}", password=encoded) for n in range(count)], batch_size=2000
        )
        Membership.objects.bulk_create(
            [Membership(user=u, role=Role.REPORTER, institution=i) for u, i in zip(users, institutions, strict=True)],
            batch_size=2000,
        )
        returns = SurveyReturn.objects.bulk_create(
            [SurveyReturn(edition=edition, institution=i, updated_by=u) for u, i in zip(users, institutions, strict=True)],
            batch_size=2000,
        )
        AuditEvent.objects.bulk_create([
            AuditEvent(edition=edition, survey_return=r, kind=AuditEvent.Kind.STATUS, source=AuditSource.WEB,
                       actor=u, old_value="", new_value=ReturnStatus.DRAFT, return_version=1)
            for u, r in zip(users, returns, strict=True)
        ], batch_size=2000)
        admin = User.objects.create(username="surge-admin", password=encoded)
        Membership.objects.create(user=admin, role=Role.ADMIN)
    accounts = []
    for n, (user, survey_return) in enumerate(zip(users, returns, strict=True)):
        first, second, warnings = answers[n % len(answers)]
        accounts.append(Account(
            username=user.username, return_id=survey_return.pk,
            first={code: _raw(v) for code, v in first.items()},
            second={code: _raw(v) for code, v in second.items()},
            explanations=warnings, expected=second,
            first_changes=len(first),
            second_changes=sum(1 for code in second if second[code] != first.get(code)),
        ))
    return accounts, admin


# --- processes -------------------------------------------------------------------------------


LOGS = Path(tempfile.gettempdir()) / f"surveysite-bench-surge-{os.getpid()}"  # gunicorn and the worker


def _log_file(name: str):
    """The child's log, in a file: a pipe nobody reads would block a server that logs a lot."""
    LOGS.mkdir(exist_ok=True)
    return (LOGS / f"{name}.log").open("a")


def _log_tail(name: str) -> str:
    path = LOGS / f"{name}.log"
    return f"{path}:\n" + (path.read_text(errors="replace")[-3000:] if path.exists() else "(empty)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _child_env(configuration: Configuration, database: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": configuration.settings,
        "DATABASE_URL": f"{SERVER}/{database}",
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
    }


def redis_run_keys_delete() -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"*{RUN_PREFIX}*"):
        client.delete(key)
    client.close()


def worker_start(configuration: Configuration, database: str) -> subprocess.Popen:
    redis_run_keys_delete()  # no task left over from the run's previous configuration
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "surveysite", "worker", "--pool=solo", "--loglevel=warning",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=_child_env(configuration, database), stdout=subprocess.DEVNULL, stderr=_log_file("celery"),
    )


@dataclass
class Deployment:
    """The app hosts of one phase and, when balanced, the round-robin proxy in front of them."""

    servers: list[subprocess.Popen] = field(default_factory=list)
    proxy: subprocess.Popen | None = None
    base: str = ""  # where the reporters send their requests

    def stop(self) -> None:
        for process in [self.proxy, *self.servers]:
            process_stop(process)


def _server_log(configuration: Configuration, index: int) -> str:
    return "gunicorn" if configuration.hosts == 1 else f"gunicorn-app{index + 1}"


def _answering(base: str) -> bool:
    import urllib.request

    try:
        request = urllib.request.Request(f"{base}/accounts/login/", headers=PROXY_HEADERS)
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def deployment_start(configuration: Configuration, database: str) -> Deployment:
    """The configuration's gunicorn servers, each on a port of its own, answering; the proxy in front when balanced."""
    deployment = Deployment()
    try:
        ports = []
        for index in range(configuration.hosts):
            ports.append(_free_port())
            workers = ("--workers", str(configuration.workers[index])) if configuration.workers else ()
            deployment.servers.append(subprocess.Popen(
                [str(Path(sys.executable).with_name("gunicorn")), *configuration.gunicorn, *workers,
                 "--bind", f"{HOST}:{ports[-1]}"],
                cwd=configuration.cwd, env=_child_env(configuration, database),
                stdout=subprocess.DEVNULL, stderr=_log_file(_server_log(configuration, index)),
            ))
        deadline = time.monotonic() + 120
        for index, (process, port) in enumerate(zip(deployment.servers, ports, strict=True)):
            while not _answering(f"http://{HOST}:{port}"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn {'exited' if process.poll() is not None else 'did not answer within 120 s'}:\n"
                                     f"{_log_tail(_server_log(configuration, index))}")
                time.sleep(0.3)
        deployment.base = f"http://{HOST}:{ports[0]}"
        if configuration.balanced:
            port = _free_port()
            deployment.proxy = subprocess.Popen(
                [sys.executable, str(HERE / "balancer.py"), str(port), *map(str, ports)],
                stdout=subprocess.PIPE, stderr=_log_file("balancer"), text=True,
            )
            if deployment.proxy.stdout.readline().strip() != "ready":
                raise SystemExit(f"the round-robin proxy did not start:\n{_log_tail('balancer')}")
            deployment.base = f"http://{HOST}:{port}"
    except BaseException:
        deployment.stop()
        raise
    return deployment


def process_stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _ticks(pid: int, *, children_reaped: bool) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children_reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: workers that exited
    return ticks


def server_cpu_seconds(master_pids: list[int]) -> float:
    """CPU time of the gunicorn masters and their workers so far (exited workers included)."""
    total = sum(_ticks(pid, children_reaped=True) for pid in master_pids)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) in master_pids:
                    total += _ticks(int(entry.name), children_reaped=False)
            except (OSError, ValueError, IndexError):
                continue
    return total / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int | None) -> float:
    return _ticks(pid, children_reaped=False) / os.sysconf("SC_CLK_TCK") if pid else 0.0


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the virtual reporters -------------------------------------------------------------------

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_VERSION = re.compile(r'name="version" value="(\d+)"')


class RequestFailed(Exception):
    pass


@dataclass
class Measures:
    latencies: dict = field(default_factory=lambda: defaultdict(list))  # request type -> [ms]
    errors: Counter = field(default_factory=Counter)
    error_examples: list = field(default_factory=list)
    completed: list = field(default_factory=list)  # accounts whose return was submitted
    failed: list = field(default_factory=list)
    served: Counter = field(default_factory=Counter)  # app host (the proxy's X-Served-By) -> requests
    alternated: Counter = field(default_factory=Counter)  # True/False -> reporters whose every request went to another host
    started_at: float = 0.0
    ended_at: float = 0.0


class Reporter:
    """One person in a browser: their cookies, the form's CSRF token and version."""

    def __init__(self, session, base: str, account: Account, measures: Measures):
        self.session, self.base, self.account, self.measures = session, base, account, measures
        self.cookies: dict[str, str] = {}
        self.served_by: list[str] = []  # the app host of each request, behind the proxy

    async def request(self, name: str, method: str, path: str, data=None, expect: int = 200) -> tuple[str, str]:
        headers = {**PROXY_HEADERS, "Referer": f"https://{self.base.removeprefix('http://')}{path}",
                   "X-Bench-Reporter": self.account.username}  # the proxy alternates each reporter's hosts
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            async with self.session.request(method, self.base + path, data=data, headers=headers,
                                            allow_redirects=False) as response:
                body = await response.text()
                status, location = response.status, response.headers.get("Location", "")
                if "X-Served-By" in response.headers:
                    self.served_by.append(response.headers["X-Served-By"])
                for key, morsel in response.cookies.items():
                    if morsel.value:
                        self.cookies[key] = morsel.value
                    else:
                        self.cookies.pop(key, None)
        except Exception as exc:  # timeouts, refused connections: the request failed
            self.measures.errors[name] += 1
            raise RequestFailed(f"{name}: {exc!r}") from exc
        self.measures.latencies[name].append((time.perf_counter() - started) * 1000)
        if status != expect:
            self.measures.errors[name] += 1
            text = " ".join(body.split())[:300]
            raise RequestFailed(f"{name}: HTTP {status} {text}")
        return body, location

    async def post_then_get(self, name: str, path: str, data: dict) -> str:
        _body, location = await self.request(name, "POST", path, data, expect=302)
        follow = location.removeprefix(self.base) if location.startswith("http") else location
        body, _ = await self.request("GET form after POST" if "returns" in follow else "GET home", "GET", follow)
        return body

    async def run(self, pause) -> None:
        account = self.account
        try:
            body, _ = await self.request("GET login", "GET", "/accounts/login/")
            await pause()
            await self.post_then_get("POST login", "/accounts/login/", {
                "csrfmiddlewaretoken": _CSRF.search(body).group(1),
                "username": account.username, "password": PASSWORD,
            })
            await pause()
            form_path = f"/returns/{account.return_id}/"
            body, _ = await self.request("GET form", "GET", form_path)
            for name, values, action in (
                ("POST save", account.first, "save"),
                ("POST save again", account.second, "save"),
                ("POST submit", account.second, "submit"),
            ):
                await pause()
                data = {
                    "csrfmiddlewaretoken": _CSRF.search(body).group(1),
                    "version": _VERSION.search(body).group(1), "action": action, **values,
                }
                if action == "submit":
                    data.update({f"explain__{code}": text for code, text in account.explanations.items()})
                body = await self.post_then_get(name, form_path, data)
            self.measures.completed.append(account)
        except (RequestFailed, AttributeError) as exc:
            self.measures.failed.append(account)
            if len(self.measures.error_examples) < 5:
                self.measures.error_examples.append(f"{account.username}: {exc}")
        finally:
            self.measures.served.update(self.served_by)
            if len(self.served_by) > 1:  # (with one host behind the proxy, never)
                self.measures.alternated[all(a != b for a, b in itertools.pairwise(self.served_by))] += 1


def _client_session():
    import aiohttp

    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=4),
        cookie_jar=aiohttp.DummyCookieJar(),  # each Reporter keeps its own cookies
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def open_loop(base: str, accounts: list[Account], *, window: float, pause: tuple[float, float],
                    seed: int) -> Measures:
    """Arrivals of a Poisson process over `window` (given their number: uniform times)."""
    rng = random.Random(seed)
    arrivals = sorted(rng.uniform(0, window) for _ in accounts)
    measures = Measures()

    async def wait():
        await asyncio.sleep(rng.uniform(*pause))

    async with _client_session() as session:
        measures.started_at = time.perf_counter()

        async def arrive(at: float, account: Account):
            await asyncio.sleep(max(0.0, measures.started_at + at - time.perf_counter()))
            await Reporter(session, base, account, measures).run(wait)

        # Bounded: whatever happens, the phase ends (pending reporters count as failed).
        limit = window + 6 * pause[1] + 300
        tasks = [asyncio.ensure_future(arrive(at, a)) for at, a in zip(arrivals, accounts, strict=True)]
        done, pending = await asyncio.wait(tasks, timeout=limit)
        for task in pending:
            task.cancel()
        measures.errors["unfinished (phase time limit)"] += len(pending)
        measures.ended_at = time.perf_counter()
    return measures


async def closed_loop(base: str, pool: list[Account], *, users: int, seconds: float) -> Measures:
    measures = Measures()

    async def no_pause():
        return None

    async with _client_session() as session:
        measures.started_at = time.perf_counter()
        deadline = measures.started_at + seconds

        async def user():
            while time.perf_counter() < deadline and pool:
                await Reporter(session, base, pool.pop(), measures).run(no_pause)

        await asyncio.wait_for(asyncio.gather(*(user() for _ in range(users))), timeout=seconds + 600)
        measures.ended_at = time.perf_counter()
    if not pool:
        print(f"  (the account pool ran out during the {users}-user stress: raise --stress-pool)")
    return measures


# --- reporting ---------------------------------------------------------------------------------


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


@dataclass
class PhaseResult:
    title: str
    measures: Measures
    server_cpu: float
    generator_cpu: float
    load: str
    proxy_cpu: float = 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def seconds(self) -> float:
        return self.measures.ended_at - self.measures.started_at

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.measures.latencies.values())

    @property
    def returns_per_second(self) -> float:
        return len(self.measures.completed) / self.seconds

    @property
    def cpu_per_return_ms(self) -> float | None:
        completed = len(self.measures.completed)
        return 1000 * self.server_cpu / completed if completed else None

    def p95(self, name: str) -> float | None:
        values = sorted(self.measures.latencies.get(name, []))
        return _percentile(values, 0.95) if values else None

    def print(self) -> None:
        m = self.measures
        print(f"\n{self.title}")
        print(f"  {'request':<22}{'count':>7}{'median':>9}{'p95':>9}{'p99':>9}{'max':>9}  ms{'errors':>9}")
        for name in REQUEST_ORDER:
            values = sorted(m.latencies.get(name, []))
            if not values and not m.errors.get(name):
                continue
            cells = (statistics.median(values), _percentile(values, .95), _percentile(values, .99), values[-1]) if values else (0, 0, 0, 0)
            print(f"  {name:<22}{len(values):>7}" + "".join(f"{c:>9.0f}" for c in cells) + f"    {m.errors.get(name, 0):>7}")
        errors = sum(m.errors.values())
        print(f"  {self.requests:,} requests in {self.seconds:.1f} s: {self.requests_per_second:.1f} requests/s, "
              f"{len(m.completed):,} complete returns ({self.returns_per_second:.2f}/s); errors: {errors}"
              + (f" ({dict(m.errors)})" if errors else ""))
        for example in m.error_examples:
            print(f"    e.g. {example}")
        print(f"  server CPU (gunicorn): {self.server_cpu:.1f} s, {_ms(self.cpu_per_return_ms)} per complete return, "
              f"{self.server_cpu / self.seconds:.2f} of the {os.cpu_count()} cores on average "
              f"(far below {os.cpu_count()} with slow requests: other processes had the CPU); "
              f"load generator CPU: {self.generator_cpu:.1f} s ({100 * self.generator_cpu / self.seconds:.0f}% of one core, "
              f"{1000 * self.generator_cpu / max(1, self.requests):.2f} ms per request)"
              + (f"; round-robin proxy CPU: {self.proxy_cpu:.1f} s" if self.proxy_cpu else ""))
        if len(m.served) > 1:
            print(f"  requests per app host: {', '.join(f'{host} {count:,}' for host, count in sorted(m.served.items()))}; "
                  f"reporters whose every request went to the other host than the one before: "
                  f"{m.alternated[True]:,} of {m.alternated.total():,}")
        print(f"  {self.load}")


def phase_run(title: str, deployment: Deployment, coroutine) -> PhaseResult:
    masters = [server.pid for server in deployment.servers]
    proxy = deployment.proxy.pid if deployment.proxy else None
    cpu_before, own_before, proxy_before = server_cpu_seconds(masters), _own_cpu(), process_cpu_seconds(proxy)
    measures = asyncio.run(coroutine)
    result = PhaseResult(title, measures, server_cpu_seconds(masters) - cpu_before, _own_cpu() - own_before, _load(),
                         proxy_cpu=process_cpu_seconds(proxy) - proxy_before)
    result.print()
    return result


# --- checks of the database ------------------------------------------------------------------


def writes_verify(accounts: list[Account], admin_username: str) -> list[str]:
    """Every submitted return holds what its reporter typed, with its audit trail."""
    from django.contrib.auth import get_user_model

    from reporting.models import Answer, AuditEvent, ReturnStatus, SurveyReturn, WarningConfirmation
    from reporting.rules.engine import questionnaire_compiled
    from reporting.values import value_display

    problems: list[str] = []
    by_return = {a.return_id: a for a in accounts}
    users = dict(get_user_model().objects.filter(username__in=[a.username for a in accounts]).values_list("username", "pk"))
    returns = {r.pk: r for r in SurveyReturn.objects.filter(pk__in=by_return).select_related("edition")}
    if not returns:
        return problems
    items = questionnaire_compiled(next(iter(returns.values())).edition).items
    code_of = {item.id: code for code, item in items.items()}
    stored: dict[int, dict] = defaultdict(dict)
    for return_id, item_id, i, b, t in Answer.objects.filter(survey_return_id__in=by_return).values_list(
        "survey_return_id", "item_id", "int_value", "bool_value", "text_value"
    ):
        code = code_of[item_id]
        kind = items[code].type
        stored[return_id][code] = i if kind == "integer" else b if kind == "boolean" else t
    events: dict[int, list] = defaultdict(list)
    for row in AuditEvent.objects.filter(survey_return_id__in=by_return).order_by("id").values_list(
        "survey_return_id", "kind", "item_code", "old_value", "new_value", "actor_id", "return_version"
    ):
        events[row[0]].append(row)
    confirmations: dict[int, dict] = defaultdict(dict)
    for return_id, rule_code, text in WarningConfirmation.objects.filter(survey_return_id__in=by_return).values_list(
        "survey_return_id", "rule_code", "explanation"
    ):
        confirmations[return_id][rule_code] = text
    for return_id, account in by_return.items():
        survey_return = returns[return_id]
        who = f"{account.username} (return {return_id})"
        if survey_return.status != ReturnStatus.SUBMITTED:
            problems.append(f"{who}: status {survey_return.status}, not submitted")
        # Created at 1; each save that changes something bumps it (the submit's save changes
        # nothing), and the submit bumps it.
        expected_version = 1 + (account.first_changes > 0) + (account.second_changes > 0) + 1
        if survey_return.version != expected_version:
            problems.append(f"{who}: version {survey_return.version}, expected {expected_version}")
        if stored[return_id] != account.expected:
            differ = sorted(c for c in set(stored[return_id]) | set(account.expected)
                            if stored[return_id].get(c) != account.expected.get(c))
            problems.append(f"{who}: lost or wrong values in {differ[:5]}")
        value_events = [e for e in events[return_id] if e[1] == "value"]
        status_events = [(e[3], e[4]) for e in events[return_id] if e[1] == "status"]
        if len(value_events) != account.first_changes + account.second_changes:
            problems.append(f"{who}: {len(value_events)} value audit events, expected "
                            f"{account.first_changes} + {account.second_changes}")
        last_audited = {e[2]: e[4] for e in value_events}
        if last_audited != {c: value_display(v) for c, v in account.expected.items()}:
            problems.append(f"{who}: the audit trail's last values differ from the stored ones")
        if any(e[5] != users[account.username] for e in value_events):
            problems.append(f"{who}: value events by someone else")
        if sorted({e[6] for e in value_events}) != [2, 3]:
            problems.append(f"{who}: value events at versions {sorted({e[6] for e in value_events})}, expected 2 and 3")
        if status_events != [("", "draft"), ("draft", "submitted")]:
            problems.append(f"{who}: status events {status_events}")
        if confirmations[return_id] != account.explanations:
            problems.append(f"{who}: warning explanations {confirmations[return_id]} != {account.explanations}")
    return problems


def figures_verify(admin) -> list[str]:
    """Approve every submitted return one by one (each queues an aggregation on the worker);
    the figures then must equal a rebuild's."""
    from django.core.management import call_command

    from reporting.models import Edition, FigureValue, ReturnStatus, SurveyReturn
    from reporting.services.returns import return_approve, return_review
    from reporting.tasks.aggregation import edition_recompute_task

    edition = Edition.objects.get(year=2024)
    started = time.perf_counter()
    count = 0
    for survey_return in SurveyReturn.objects.filter(edition=edition, status=ReturnStatus.SUBMITTED).select_related(
        "edition", "institution"
    ).order_by("pk"):
        return_review(survey_return=survey_return, actor=admin)
        return_approve(survey_return=survey_return, actor=admin)
        count += 1
    approved = time.perf_counter() - started
    # The queue is first in, first out and the worker takes one task at a time: when this
    # one is done, every aggregation the approvals queued is done.
    edition_recompute_task.delay(edition.pk).get(timeout=1800)
    drained = time.perf_counter() - started

    def figures():
        return {
            (breakdown, group, key): value
            for breakdown, group, key, value in FigureValue.objects.filter(edition=edition).values_list(
                "breakdown", "group", "key", "value")
        }

    incremental = figures()
    call_command("aggregate", edition=2024, rebuild=True, stdout=open(os.devnull, "w"))
    rebuilt = figures()
    print(f"\n  approved {count:,} returns in {approved:.1f} s (review + approve, one transaction each); "
          f"the worker had aggregated after every one {drained:.1f} s after the first; {_load()}")
    if not incremental:
        return ["no figures were computed"]
    differ = [key for key in set(incremental) | set(rebuilt) if incremental.get(key) != rebuilt.get(key)]
    if differ:
        return [f"{len(differ)} figures differ from aggregate --rebuild, e.g. {sorted(differ, key=str)[:3]}"]
    print(f"  figures after the approvals equal aggregate --rebuild's ({len(rebuilt):,} figure values)")
    return []


# --- the whole run ------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One configuration's phases and the checks of its database."""

    configuration: Configuration
    results: dict = field(default_factory=dict)  # phase key ("open" or users) -> PhaseResult
    problems: list[str] = field(default_factory=list)
    checked: int = 0  # submitted returns checked in the database
    write_problems: int = 0  # lost or wrong writes, audit trails that differ
    figures: str = "not checked"


def servers_described(configuration: Configuration) -> str:
    command = f"gunicorn {' '.join(configuration.gunicorn)}"
    if not configuration.balanced:
        return command
    if configuration.hosts == 1:
        workers = f" --workers {configuration.workers[0]}" if configuration.workers else ""
        return f"1 app host ({command}{workers}) behind the round-robin proxy"
    return (f"{configuration.hosts} app hosts ({command} --workers "
            f"{' + '.join(map(str, configuration.workers))} = {sum(configuration.workers)} workers in all) "
            f"behind the round-robin proxy")


def configuration_run(configuration: Configuration, args, answers, demo, run_figures: bool) -> Outcome:
    from django.contrib.auth.hashers import get_hasher

    database = f"surveysite_bench_surge_{os.getpid()}_{configuration.slug}"
    deployment = worker = None
    outcome = Outcome(configuration)
    name = configuration.name
    try:
        database_create(database)
        stress_levels = [int(u) for u in args.stress.split(",") if u] if args.stress else []
        pool_size = args.stress_pool or sum(int(u * args.stress_seconds * 1.2) + u for u in stress_levels)
        setup_started = time.perf_counter()
        accounts, admin = population_create(count=args.reporters + pool_size, hasher=configuration.hasher,
                                            answers=answers, demo=demo)
        worker = worker_start(configuration, database)
        print(f"\n=== {name}: {configuration.settings}, {servers_described(configuration)}, "
              f"password hashes {get_hasher(configuration.hasher).algorithm}; "
              f"{len(accounts):,} reporters set up in {time.perf_counter() - setup_started:.1f} s")
        open_accounts, pool = accounts[:args.reporters], accounts[args.reporters:]
        pool.reverse()  # pop() takes them in order
        phases = []
        if args.reporters:
            phases.append(("open", f"open loop: {args.reporters:,} reporters arriving over {args.window:g} s, "
                                   f"pauses {args.pause[0]:g}-{args.pause[1]:g} s ({name})",
                           lambda base: open_loop(base, open_accounts, window=args.window, pause=args.pause, seed=args.seed)))
        for users in stress_levels:
            phases.append((users, f"stress: {users} users without pauses for {args.stress_seconds:g} s ({name})",
                           lambda base, users=users: closed_loop(base, pool, users=users, seconds=args.stress_seconds)))
        for key, title, coroutine in phases:
            # Fresh servers per phase: requests a previous phase left queued do not count here.
            deployment = deployment_start(configuration, database)
            outcome.results[key] = phase_run(title, deployment, coroutine(deployment.base))
            deployment.stop()
        outcome.problems += hosts_verify(configuration, outcome.results)
        completed = [a for r in outcome.results.values() for a in r.measures.completed]
        failed = sum(len(r.measures.failed) for r in outcome.results.values())
        if failed:
            outcome.problems.append(f"{name}: {failed} reporters did not complete their return")
        check_started = time.perf_counter()
        write_problems = writes_verify(completed, admin.username)
        outcome.checked, outcome.write_problems = len(completed), len(write_problems)
        outcome.problems += [f"{name}: {p}" for p in write_problems]
        print(f"\n  checked {len(completed):,} submitted returns in the database in {time.perf_counter() - check_started:.1f} s: "
              + ("every value, status, version, warning explanation and audit event as typed (0 lost writes)"
                 if not write_problems else f"{len(write_problems)} problems, e.g. {write_problems[:3]}"))
        if run_figures:
            figure_problems = figures_verify(admin)
            outcome.figures = "DIFFER from aggregate --rebuild's" if figure_problems else "equal aggregate --rebuild's"
            outcome.problems += [f"{name}: {p}" for p in figure_problems]
    finally:
        if deployment is not None:
            deployment.stop()
            for index, server in enumerate(deployment.servers):
                if server.returncode not in (0, None):
                    print(_log_tail(_server_log(configuration, index)))
        process_stop(worker)
        redis_run_keys_delete()
        database_drop(database)
    return outcome


def hosts_verify(configuration: Configuration, results: dict) -> list[str]:
    """Behind the proxy with several hosts, every host served and every reporter's requests alternated."""
    if configuration.hosts == 1:
        return []
    problems = []
    for key, result in results.items():
        served, alternated = result.measures.served, result.measures.alternated
        if len(served) != configuration.hosts:
            problems.append(f"{configuration.name}, phase {key}: requests reached {sorted(served)} only")
        if alternated[False]:
            problems.append(f"{configuration.name}, phase {key}: {alternated[False]} reporters' requests did not alternate hosts")
    return problems


def _ratio(numerator: float | None, denominator: float | None) -> str:
    return f"{numerator / denominator:.2f}x" if numerator and denominator else "no ratio: a side completed no return"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def _phase_label(key) -> str:
    return "open loop" if key == "open" else f"stress {key} users"


def comparison_print(optimised: Outcome, baseline: Outcome) -> None:
    print(f"\n=== {optimised.configuration.name} against baseline (same run)")
    for key in optimised.results:
        if key not in baseline.results:
            continue
        new, old = optimised.results[key], baseline.results[key]
        p95 = "; ".join(
            f"{name} {old.p95(name):.0f} -> {new.p95(name):.0f} ms"
            for name in REQUEST_ORDER if new.p95(name) is not None and old.p95(name) is not None
        )
        print(f"  {_phase_label(key)}: complete returns/s {old.returns_per_second:.2f} -> {new.returns_per_second:.2f} "
              f"({_ratio(new.returns_per_second, old.returns_per_second)}); server CPU per return "
              f"{_ms(old.cpu_per_return_ms)} -> {_ms(new.cpu_per_return_ms)} "
              f"({_ratio(old.cpu_per_return_ms, new.cpu_per_return_ms)} less)")
        print(f"    p95: {p95}")


def one_host(outcomes: list[Outcome]) -> Outcome:
    """The run the baseline is compared with: the one-host run when there is one."""
    return next((o for o in outcomes if o.configuration.hosts == 1), outcomes[0])


def hosts_comparison_print(outcomes: list[Outcome]) -> None:
    """The same phases with 1, 2, … app hosts side by side (the same workers in all, the same cores)."""
    names = [o.configuration.name for o in outcomes]
    print(f"\n=== {' against '.join(names)} (same run, each behind the round-robin proxy; gunicorn workers: "
          + ", ".join(f"{o.configuration.name} {' + '.join(map(str, o.configuration.workers))}" for o in outcomes) + ")")
    for key in outcomes[0].results:
        runs = [o for o in outcomes if key in o.results]
        print(f"  {_phase_label(key)}:")
        for outcome in runs:
            result = outcome.results[key]
            errors = sum(result.measures.errors.values())
            print(f"    {outcome.configuration.name:<8} {result.requests_per_second:.1f} requests/s, "
                  f"{result.returns_per_second:.2f} complete returns/s, {errors} errors, "
                  f"server CPU {_ms(result.cpu_per_return_ms)} per return; {result.load}")
        p95 = "; ".join(
            f"{name} " + " -> ".join(_ms(o.results[key].p95(name)) for o in runs)
            for name in REQUEST_ORDER if any(o.results[key].p95(name) is not None for o in runs)
        )
        print(f"    p95 ({' -> '.join(o.configuration.name for o in runs)}): {p95}")
    for outcome in outcomes:
        print(f"  {outcome.configuration.name}: {outcome.checked:,} submitted returns checked, "
              f"{outcome.write_problems} lost or wrong writes; figures {outcome.figures}")


def targets_print(optimised: list[Outcome], baseline: Outcome | None) -> None:
    print("\n=== targets")
    for outcome in optimised:
        if "open" not in outcome.results:
            continue
        result = outcome.results["open"]
        worst = {name: result.p95(name) for name in REQUEST_ORDER if result.p95(name) is not None}
        slow = {n: round(v) for n, v in worst.items() if v >= (1000 if n == "POST login" else 300)}
        errors = sum(result.measures.errors.values())
        label = "open loop" if len(optimised) == 1 else f"open loop, {outcome.configuration.name}"
        print(f"  {label}: p95 < 300 ms for every request but POST login (< 1 s), 0 errors: "
              f"{'met' if not slow and not errors else 'NOT met'}" + (f" (slow: {slow})" if slow else "")
              + f"  [{result.load}]")
    if baseline is None:
        return
    new, old = one_host(optimised).results, baseline.results
    stress = [k for k in new if k != "open" and k in old]
    if stress:
        best_new = max(new[k].returns_per_second for k in stress)
        best_old = max(old[k].returns_per_second for k in stress)
        cpu_old = [old[k].cpu_per_return_ms for k in stress if old[k].cpu_per_return_ms]
        cpu_new = [new[k].cpu_per_return_ms for k in stress if new[k].cpu_per_return_ms]
        cpu = _ratio(statistics.median(cpu_old), statistics.median(cpu_new)) if cpu_old and cpu_new else "no ratio"
        print(f"  stress: best complete returns/s {best_old:.2f} -> {best_new:.2f} ({_ratio(best_new, best_old)}, target >= 2x): "
              f"{'met' if best_new >= 2 * best_old else 'NOT met'}; median server CPU per return {cpu} less")


def _option(arguments: list[str], *names: str) -> str | None:
    """The last value of a command-line option (`--workers 4`, `-w 4` or `--workers=4`), as gunicorn reads it."""
    value = None
    for index, argument in enumerate(arguments):
        if argument in names and index + 1 < len(arguments):
            value = arguments[index + 1]
        elif argument.startswith("--") and argument.partition("=")[0] in names:
            value = argument.partition("=")[2]
    return value


def host_configurations(optimised: Configuration, hosts: list[int], server_args: list[str]) -> list[Configuration]:
    """The optimised configuration once per host count. Behind the proxy, the one-host run's
    workers (gunicorn.conf.py's, or --server-args') are shared out between the hosts, so each
    run has the same workers in all, on the same cores."""
    if max(hosts) == 1:
        return [optimised]
    import runpy

    total = int(_option(server_args, "--workers", "-w") or runpy.run_path(str(ROOT / "gunicorn.conf.py"))["workers"])
    return [
        replace(optimised, name=f"{count} host{'s' if count > 1 else ''}", hosts=count, balanced=True,
                # At least one worker each: with fewer workers than hosts the total grows (the output says so).
                workers=tuple(max(1, total // count + (index < total % count)) for index in range(count)))
        for count in hosts
    ]


def _stop(signum, _frame):
    # SystemExit unwinds through the finally blocks: servers stopped, databases dropped.
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a small run: 30 reporters over 8 s, short pauses, stress 8 users for 4 s, "
                             "baseline of the stress (unless --baseline says otherwise)")
    parser.add_argument("--reporters", type=int, default=1237)
    parser.add_argument("--window", type=float, default=300, help="seconds over which the reporters arrive")
    parser.add_argument("--pause", default="2,8", help="seconds between one reporter's actions: MIN,MAX")
    parser.add_argument("--stress", default="10,25,50,100", help="closed-loop user counts ('' for none)")
    parser.add_argument("--stress-seconds", type=float, default=30)
    parser.add_argument("--stress-pool", type=int, default=0, help="accounts for the stress phases (default: enough)")
    parser.add_argument("--baseline", choices=["all", "stress", "none"], default=None,
                        help="measure the pre-issue-9 deployment too: every phase (the default), the stress only "
                             "(the default with --quick), or not")
    parser.add_argument("--hosts", default="1",
                        help="app host counts to run one after another, e.g. 1,2: with more than one, every run "
                             "(the baseline too) goes through a round-robin proxy and the hosts share the "
                             "one-host run's gunicorn workers")
    parser.add_argument("--no-figures", action="store_true", help="skip approving every return and the figures check")
    parser.add_argument("--server-args", default="",
                        help="more gunicorn options for the optimised server, e.g. '--workers 4 --threads 2'")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    if args.quick:
        args.reporters, args.window, args.pause, args.stress, args.stress_seconds = 30, 8, "0.2,0.6", "8", 4
    args.baseline = args.baseline or ("stress" if args.quick else "all")
    args.pause = tuple(float(p) for p in args.pause.split(","))
    hosts = [int(h) for h in args.hosts.split(",")]
    if min(hosts) < 1:
        parser.error("--hosts: every count must be at least 1")

    import shlex

    import django

    django.setup()
    run_started = time.perf_counter()
    server_args = shlex.split(args.server_args)
    configurations = host_configurations(replace(OPTIMISED, gunicorn=OPTIMISED.gunicorn + tuple(server_args)),
                                         hosts, server_args)
    baseline_configuration = replace(BASELINE, balanced=configurations[0].balanced)
    print(f"surge bench: {args.reporters:,} reporters over {args.window:g} s; stress {args.stress or 'none'} users "
          f"x {args.stress_seconds:g} s; app hosts {args.hosts}; baseline {args.baseline}; {_load()}")
    if len(configurations) > 1 or configurations[0].balanced:
        print("  " + "; ".join(f"{c.name}: {servers_described(c)}" for c in configurations)
              + "; the same PostgreSQL database and Celery worker for each; every reporter's requests alternate hosts")
    template_prepare()
    from reporting.demo.generator import demo_dataset
    from reporting.models import Edition

    started = time.perf_counter()
    demo = demo_dataset()
    answers = answer_sets(Edition.objects.get(year=2024), demo, count=max(args.reporters, 100))
    print(f"{len(answers):,} answer sets from the demo dataset ({statistics.mean(len(a[0]) for a in answers):.0f} items "
          f"each on average, {sum(1 for a in answers if a[2])} with warnings to explain) in {time.perf_counter() - started:.1f} s")

    outcomes = [configuration_run(c, args, answers, demo, run_figures=not args.no_figures) for c in configurations]
    baseline = None
    if args.baseline != "none":
        if args.baseline == "stress":
            args.reporters = 0
        baseline = configuration_run(baseline_configuration, args, answers, demo, run_figures=False)
        comparison_print(one_host(outcomes), baseline)
    if len(outcomes) > 1:
        hosts_comparison_print(outcomes)
    targets_print(outcomes, baseline)
    problems = [p for o in [*outcomes, baseline] if o is not None for p in o.problems]
    print(f"\n{_load()}; the whole run took {time.perf_counter() - run_started:.0f} s; server and worker logs in {LOGS}")
    if problems:
        print("\nFAILED:")
        for problem in problems[:30]:
            print(f"  {problem}")
        sys.exit(1)
    print("RESULT: no request failed; every write checked")


if __name__ == "__main__":
    main()
