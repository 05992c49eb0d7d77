"""Hosts for multi-machine tests: Linux network namespaces on a bridge.

``Network`` puts a bridge in the root namespace with the first address of a
private /24 (the "LAN" side the test's own servers listen on), and each
``add_host`` is a namespace joined to it by a veth pair, with the next
address. A process started with ``network.start(host, argv)`` sees only its
host's interface and loopback: it reaches the others, and the root
namespace's servers, through the bridge like a machine on a LAN would.
``kill_host`` SIGKILLs every process of a namespace at once: the host dies.

Needs root and iproute2; ``unavailable()`` says why not, for a skip.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    probe = f"couvee-probe-{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except RuntimeError as error:
        return f"network namespaces are not allowed here ({error})"
    _ip("netns", "del", probe)
    return None


def _free_subnet() -> str:
    """A 10.x.y.0/24 no interface of the machine uses: '10.x.y'."""
    used = _ip("-4", "addr")
    for n in range(os.getpid() % 200, os.getpid() % 200 + 200):
        prefix = f"10.213.{n % 250 + 1}"
        if f" {prefix}." not in used:
            return prefix
    raise RuntimeError("no free 10.213.x.0/24")


class Network:
    """A bridge and the namespaces ("hosts") on it; ``close()`` removes all."""

    def __init__(self):
        self.tag = str(os.getpid() % 100000)
        self.bridge = f"cvb{self.tag}"
        self.prefix = _free_subnet()
        self.address = f"{self.prefix}.1"  # the root namespace, on the bridge
        self.hosts: dict[str, str] = {}  # host name -> address
        self.links: list[str] = []  # root-side ends of the veth pairs
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def namespace(self, host: str) -> str:
        return f"couvee-{self.tag}-{host}"

    def add_host(self, host: str) -> str:
        """Create the namespace ``host`` on the bridge; returns its address."""
        number = len(self.hosts) + 2
        namespace, outside, inside = self.namespace(host), f"cv{self.tag}h{number}", f"cv{self.tag}n{number}"
        address = f"{self.prefix}.{number}"
        _ip("netns", "add", namespace)
        self.hosts[host] = address
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        self.links.append(outside)
        _ip("link", "set", inside, "netns", namespace)
        _ip("link", "set", outside, "master", self.bridge, "up")
        _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", inside)
        _ip("-n", namespace, "link", "set", inside, "up")
        _ip("-n", namespace, "link", "set", "lo", "up")
        return address

    def start(self, host: str, argv: list[str], env: dict, **options) -> subprocess.Popen:
        """Run ``argv`` on ``host`` (``ip netns exec`` execs it: the pid is the program's)."""
        return subprocess.Popen(["ip", "netns", "exec", self.namespace(host), *argv], env=env, **options)

    def run(self, host: str, argv: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.namespace(host), *argv], env=env,
                              capture_output=True, text=True, timeout=timeout)

    def pids(self, host: str) -> list[int]:
        return [int(pid) for pid in _ip("netns", "pids", self.namespace(host)).split()]

    def kill_host(self, host: str) -> list[int]:
        """SIGKILL every process on ``host`` (workers and the work horses they forked)."""
        victims = self.pids(host)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return victims

    def close(self) -> None:
        """Kill what still runs on the hosts, delete them and the bridge."""
        for host in list(self.hosts):
            try:
                self.kill_host(host)
            except RuntimeError:
                pass
        deadline = time.monotonic() + 10
        for host in list(self.hosts):
            while self._alive(host) and time.monotonic() < deadline:
                time.sleep(0.05)
            try:
                _ip("netns", "del", self.namespace(host))  # removes its veth pair too
            except RuntimeError:
                pass
            self.hosts.pop(host)
        for link in self.links + [self.bridge]:  # a veth left in the root namespace if set-up failed half-way
            if subprocess.run(["ip", "link", "show", link], capture_output=True).returncode == 0:
                _ip("link", "del", link)
        self.links = []

    def _alive(self, host: str) -> bool:
        try:
            return bool(self.pids(host))
        except RuntimeError:
            return False
