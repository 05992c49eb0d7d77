"""WSGI entry point for production servers::

    waitress-serve --call core.wsgi:make_application
    gunicorn 'core.wsgi:make_application()'

The application follows plugin changes made in any process (see core.runtime).
"""
from .runtime import WSGIApp


def make_application() -> WSGIApp:
    return WSGIApp()
