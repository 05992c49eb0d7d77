"""``couvee serve``: the single-machine default.

Starts (or attaches to) the embedded Redis, migrates, then runs an events
worker, a general worker and the cron scheduler as child processes and the
web app on waitress (a production WSGI server) in this process. Ctrl-C or
SIGTERM stops everything cleanly: the children, then the embedded Redis unless
another couvee process of the instance still uses it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from . import auth
from .runtime import WSGIApp


def _child(command: str, env: dict, *options: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core.cli", command, *options], env=env)


#: the child processes: a worker for contact events only (a backlog of events
#: never waits behind an import, and never makes anything else wait), a worker
#: serving every queue in turn (round robin), and the periodic scheduler.
#: See docs/architecture.md, "Queues and workers".
CHILDREN = (("worker", "--queue", "events"), ("worker",), ("cron",))


def serve(host: str = "127.0.0.1", port: int = 8000, threads: int = 8) -> None:
    import waitress

    wsgi = WSGIApp()
    state = wsgi.app.extensions["couvee"]
    env = dict(os.environ, COUVEE_REDIS_URL=state.redis_handle.url, COUVEE_INSTANCE=str(state.config.instance_path),
               COUVEE_DATABASE_URL=state.config.database_url)
    children = [_child(command, env, *options) for command, *options in CHILDREN]
    url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/admin/"
    with wsgi.app.app_context(), state.database_connection():
        needs_setup = auth.setup_needed()
        token = auth.ensure_setup_token(state.config.instance_path) if needs_setup else None
    # stop signals are handled before "running" is announced: a SIGTERM sent as
    # soon as the line appears still stops the children and the embedded Redis
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        print(f"\n  Couvée is running: {url}", flush=True)
        if token:
            print(f"  First visit: create the administrator at {url}setup?token={token}", flush=True)
            print(f"  (setup token: {token})\n", flush=True)
        waitress.serve(wsgi, host=host, port=port, threads=threads, ident="couvee")
    except KeyboardInterrupt:
        pass
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):  # a second Ctrl-C does not cut the cleanup short
            signal.signal(sig, signal.SIG_IGN)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        wsgi.runtime.state.redis_handle.release()  # the embedded Redis stops unless another process uses it
        print("Couvée stopped.", flush=True)
