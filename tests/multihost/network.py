"""Hosts in network namespaces on this machine, for the multi-host test (and bench/surge).

Each host is a network namespace (``ip netns``) joined to the root namespace by a veth
pair: the host side gets 10.X.N.1, the namespace side 10.X.N.2 (a /30 each). A host sees
nothing of the machine's network but its own link, so it reaches PostgreSQL and Redis only
through the relay the test binds to 10.X.N.1 (tests/multihost/relay.py). Traffic never
leaves the machine.

Names carry the creating process's id (namespace ``surveysite-mh-<pid>-<host>``, links
``smh<pid>o<n>`` and ``smh<pid>i<n>``), so a run cleans up what an earlier, killed run left
behind (``stale_remove``) without touching another live run's hosts.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

NETNS_PREFIX = "surveysite-mh-"
LINK_PREFIX = "smh"
STALE_NETNS = re.compile(rf"^{NETNS_PREFIX}(\d+)-")
STALE_LINK = re.compile(rf"^{LINK_PREFIX}(\d+)[oi]\d+")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def netns_available() -> str | None:
    """None if namespaces can be made here, else why not (the test then says so)."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    name = f"{NETNS_PREFIX}{os.getpid()}-probe"
    result = _ip("netns", "add", name, check=False)
    if result.returncode != 0:
        return f"ip netns add failed: {result.stderr.strip()}"
    _ip("netns", "del", name, check=False)
    return None


def _namespace_pids(namespace: str) -> list[int]:
    result = _ip("netns", "pids", namespace, check=False)
    return [int(pid) for pid in result.stdout.split()] if result.returncode == 0 else []


def _namespace_remove(namespace: str) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = _namespace_pids(namespace)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while pids and time.monotonic() < deadline and _namespace_pids(namespace):
            time.sleep(0.1)
    _ip("netns", "del", namespace, check=False)


def stale_remove() -> list[str]:
    """Remove namespaces and links of earlier runs whose process is gone; returns their names."""
    removed = []
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        match = STALE_NETNS.match(name)
        if match and not _alive(int(match.group(1))):
            _namespace_remove(name)
            removed.append(name)
    for line in _ip("-o", "link", "show", check=False).stdout.splitlines():
        parts = line.split(":")
        if len(parts) < 2:
            continue
        name = parts[1].strip().split("@")[0]
        match = STALE_LINK.match(name)
        if match and not _alive(int(match.group(1))):
            _ip("link", "del", name, check=False)
            removed.append(name)
    return removed


def _free_second_octet() -> int:
    used = _ip("-o", "addr", "show", check=False).stdout + _ip("route", "show", "table", "all", check=False).stdout
    candidates = [n for n in range(200, 250) if f"10.{n}." not in used]
    if not candidates:
        raise RuntimeError("no free 10.200-249.x.x network for the test's hosts")
    return random.choice(candidates)


@dataclass
class Host:
    name: str
    index: int
    namespace: str
    outer_link: str
    inner_link: str
    outer: str  # the root namespace's address on this host's link (the relay listens here)
    inner: str  # the host's own address
    processes: list[subprocess.Popen] = field(default_factory=list)

    def popen(self, argv: list[str], *, env: dict, cwd: Path, log: Path) -> subprocess.Popen:
        """Start a process inside the host, in its own process group (stop() ends the group)."""
        handle = log.open("ab")
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, *argv], env=env, cwd=cwd,
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
        handle.close()
        self.processes.append(process)
        return process

    def run(self, argv: list[str], *, env: dict, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.namespace, *argv], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)


def process_kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal a process started by Host.popen and everything it started (its group)."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def process_stop(process: subprocess.Popen, timeout: float = 10) -> None:
    process_kill(process, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process_kill(process, signal.SIGKILL)
        process.wait(timeout=timeout)
    process_kill(process, signal.SIGKILL)  # children that outlived their parent


class Network:
    """Hosts with their namespaces and links; use as a context manager (removed on exit)."""

    def __init__(self, names: list[str]):
        pid = os.getpid()
        octet = _free_second_octet()
        self.hosts = {
            name: Host(
                name=name, index=index, namespace=f"{NETNS_PREFIX}{pid}-{name}",
                outer_link=f"{LINK_PREFIX}{pid}o{index}", inner_link=f"{LINK_PREFIX}{pid}i{index}",
                outer=f"10.{octet}.{index}.1", inner=f"10.{octet}.{index}.2",
            )
            for index, name in enumerate(names, start=1)
        }

    def __enter__(self) -> Network:
        stale_remove()
        try:
            for host in self.hosts.values():
                _ip("netns", "add", host.namespace)
                _ip("link", "add", host.outer_link, "type", "veth", "peer", "name", host.inner_link)
                _ip("link", "set", host.inner_link, "netns", host.namespace)
                _ip("addr", "add", f"{host.outer}/30", "dev", host.outer_link)
                _ip("link", "set", host.outer_link, "up")
                _ip("-n", host.namespace, "addr", "add", f"{host.inner}/30", "dev", host.inner_link)
                _ip("-n", host.namespace, "link", "set", host.inner_link, "up")
                _ip("-n", host.namespace, "link", "set", "lo", "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        for host in self.hosts.values():
            for process in host.processes:
                if process.poll() is None:
                    process_stop(process)
                else:
                    process_kill(process)
            _namespace_remove(host.namespace)
            _ip("link", "del", host.outer_link, check=False)  # takes its peer with it
