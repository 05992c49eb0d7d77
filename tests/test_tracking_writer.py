"""The hit endpoint's Redis connections: one per web thread, kept open
between hits. Hits are still appended exactly once when the server forgot
the ingest script, when the thread's connection was cut, and from many
threads at once; the rate limit still holds across those threads."""
from __future__ import annotations

import threading

import pytest

from plugins.tracking import ingest

from .tracking_helpers import hit_body, make_site, send_hit, stream_length


@pytest.fixture
def site(wsgi):
    return make_site(wsgi.app)


def thread_connection(app):
    """This thread's connection of the app's hit writer."""
    return app.extensions["couvee.tracking.writer"].local.connection


def server_id(connection) -> int:
    connection.send_command("CLIENT", "ID")
    return connection.read_response()


def test_hits_survive_a_script_flush_and_a_cut_connection(web, wsgi, site):
    redis = wsgi.app.extensions["couvee"].redis
    assert send_hit(web, hit_body(site)).status_int == 204
    redis.script_flush()  # e.g. the Redis server restarted
    assert send_hit(web, hit_body(site)).status_int == 204
    connection = thread_connection(wsgi.app)
    first = server_id(connection)
    redis.client_kill_filter(_id=first)  # the thread's connection is cut
    assert send_hit(web, hit_body(site)).status_int == 204
    reopened = server_id(connection)
    assert send_hit(web, hit_body(site)).status_int == 204
    assert stream_length(wsgi.app) == 4
    assert first != reopened == server_id(connection)  # reopened once, then kept


def test_hits_from_many_threads_each_use_their_connection_and_the_rate_limit_holds(web, wsgi):
    site = make_site(wsgi.app, rate_limit=30)
    answers, connections, lock = [], set(), threading.Lock()
    posted, checked = threading.Barrier(6), threading.Event()

    def post(count):
        for _ in range(count):
            status = send_hit(web, hit_body(site), ip="198.51.100.9").status_int
            with lock:
                answers.append(status)
        with lock:
            connections.add(server_id(thread_connection(wsgi.app)))
        posted.wait()
        checked.wait(10)

    threads = [threading.Thread(target=post, args=(10,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    posted.wait(10)
    checked.set()
    for thread in threads:
        thread.join()
    assert len(connections) == 5
    assert sorted(set(answers)) == [204, 429]
    assert answers.count(204) == 30 == stream_length(wsgi.app)
