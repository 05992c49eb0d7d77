"""Serve a WSGI application on a loopback port for the duration of a test
(the local fakes of remote APIs: tests/fake_koban.py, tests/fake_twilio.py)::

    with serve(FakeTwilio()) as port:
        ...  # http://127.0.0.1:<port>/
"""
from __future__ import annotations

import contextlib
import socketserver
import threading
import wsgiref.simple_server


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(app):
    """Yield the port ``app`` answers on; stop the server afterwards."""
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, app, server_class=_ThreadingWSGIServer,
                                               handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
