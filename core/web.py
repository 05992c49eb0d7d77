"""Wire the Flask app: request lifecycle, security headers, template globals,
core and plugin blueprints."""
from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.local import LocalProxy

from . import auth, db as dbmod
from .event_details import event_details
from .fast_endpoints import SECURITY_HEADERS, install as install_fast_endpoints
from .event_kinds import event_label
from .version import __version__

log = logging.getLogger("couvee.web")


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, skipped on the connection-less hot
    endpoints (``@no_database``): a tracking hit has no session to read.

    A response that never read the session (a ``@public`` view that did not
    ask for the user, a static file) does not refresh the cookie either: it
    carries neither ``Set-Cookie`` nor ``Vary: Cookie``, so shared caches keep it."""

    def should_set_cookie(self, app, session):
        return session.accessed and super().should_set_cookie(app, session)

    def open_session(self, app, request):
        paths = app.extensions.get("couvee.no_session_paths")
        if paths is None:
            paths = app.extensions["couvee.no_session_paths"] = frozenset(
                rule.rule for rule in app.url_map.iter_rules()
                if not rule.arguments
                and getattr(app.view_functions.get(rule.endpoint), "_couvee_no_database", False)
            )
        if request.path in paths:
            return None  # Flask then uses a null session
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    state = app.extensions["couvee"]
    app.session_interface = _SessionInterface()

    @app.before_request
    def open_connection():
        dbmod.init_database(state.database)
        g.pop("couvee_stream_holds_db", None)  # g can outlive a request (an outer app context)
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if getattr(view, "_couvee_no_database", False):
            return
        g.couvee_opened_db = state.database.connect(reuse_if_open=True)

    app.before_request(auth.gate)

    def close_database():
        if not state.database.is_closed():
            state.database.close()

    @app.after_request
    def keep_connection_for_streamed_body(response):
        """A streamed body (a CSV export, an import report) is produced after
        the view returns, and Flask tears the request down before the server
        reads it: the connection opened for the request stays open until the
        server closes the response instead."""
        if response.is_streamed and g.get("couvee_opened_db"):
            g.couvee_stream_holds_db = True
            response.call_on_close(close_database)
        return response

    @app.teardown_request
    def close_connection(exc):
        if g.get("couvee_opened_db") and not g.get("couvee_stream_holds_db"):
            close_database()

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS:  # fast endpoints send the same (core.fast_endpoints)
            response.headers.setdefault(name, value)
        if request.path.startswith("/admin") or request.path.startswith("/setup"):
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            )
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(HTTPException)
    def http_error(error):
        if request.path.startswith(auth.API_PREFIX):
            response = jsonify(error=error.name.lower().replace(" ", "_"), message=error.description)
            response.status_code = error.code
            return response
        title, message = error_words(error)
        return render_template("core/error.html", error=error, error_title=title, error_message=message), error.code

    @app.context_processor
    def template_globals():
        return {
            "current_user": LocalProxy(auth.current_user),  # lazy: see auth.current_user
            "csrf_token": auth.csrf_token,
            "admin_menu": admin_menu,
            "slot": slot,
            "event_label": event_label,
            "event_details": event_details,
            "couvee_version": __version__,
            "site_name": site_name,
        }

    from .admin import admin_blueprint
    from .auth_views import auth_blueprint
    from .favicon import favicon_blueprint
    from .files import files_blueprint
    from .metrics import metrics_blueprint
    from .rest import rest_blueprint

    for blueprint in (auth_blueprint, admin_blueprint, files_blueprint, rest_blueprint, favicon_blueprint,
                      metrics_blueprint):
        app.register_blueprint(blueprint)
    for plugin, blueprints in state.host.call("register_blueprints"):
        for blueprint in blueprints or ():
            try:
                app.register_blueprint(blueprint)
            except Exception as error:  # e.g. a name clash with another blueprint
                state.record_plugin_error(plugin, "register_blueprints", f"{type(error).__name__}: {error}")
    _install_fast_endpoints(app, state)


def _install_fast_endpoints(app: Flask, state) -> None:
    """The plugins' fast endpoints, a path and a name each at most once."""
    endpoints, paths = [], set()
    for plugin, declared in state.host.call("register_fast_endpoints"):
        for endpoint in declared or ():
            if endpoint.path in paths or endpoint.name in app.view_functions:
                state.record_plugin_error(plugin, "register_fast_endpoints",
                                          f"{endpoint.path} ({endpoint.name}) is already taken")
                continue
            paths.add(endpoint.path)
            endpoints.append(endpoint)
    install_fast_endpoints(app, endpoints)


def _n(message: str) -> str:
    return message  # marks a message for extraction; translated when shown


#: titles of the error pages a visitor or a contact may meet (werkzeug's names are English)
ERROR_TITLES = {
    400: _n("Bad request"), 401: _n("Please log in"), 403: _n("Access denied"), 404: _n("Page not found"),
    405: _n("Not allowed"), 410: _n("This link has expired"), 413: _n("Too large"),
    429: _n("Too many requests"), 500: _n("Something went wrong"),
}
#: said instead of werkzeug's (English) default description of the error
ERROR_MESSAGES = {
    400: _n("The request could not be understood."),
    401: _n("Log in to see this page."),
    403: _n("You may not see this page."),
    404: _n("This page does not exist, or no longer does. Check the address."),
    405: _n("This page cannot be used this way."),
    410: _n("Ask for a new link."),
    413: _n("What you sent is too large."),
    429: _n("Wait a little, then try again."),
    500: _n("The error is recorded. Try again in a moment."),
}


def error_words(error: HTTPException) -> tuple[str, str]:
    """The error page's title and sentence in the page's language; a
    description given by the code that raised the error is kept."""
    from .i18n import core_domain

    _ = core_domain().gettext
    title = _(ERROR_TITLES[error.code]) if error.code in ERROR_TITLES else error.name
    default = type(error).description
    if error.description and error.description != default:
        return title, error.description
    return title, _(ERROR_MESSAGES[error.code]) if error.code in ERROR_MESSAGES else (error.description or "")


def admin_menu():
    """Sidebar entries from active plugins the current user may see, by order."""
    user = auth.current_user()
    if user is None:
        return []
    items = [item for item in current_app.extensions["couvee"].registries.admin_menu if user.role in item.roles]
    return sorted(items, key=lambda item: (item.order, item.label))


def slot(name: str, **context) -> Markup:
    parts = current_app.extensions["couvee"].hooks.results("tpl_slot", slot=name, context=context)
    return Markup("").join(parts)  # plain strings are escaped


def site_name() -> str:
    from .settings import get_setting

    return get_setting("general", "site_name") or "Couvée"


def external_url(endpoint: str, **values) -> str:
    """An absolute URL under ``COUVEE_BASE_URL`` for ``endpoint``, usable in
    emails and from worker jobs (no request needed)::

        external_url("email.unsubscribe", t=token)
        # -> "https://marketing.example.com/e/unsubscribe?t=..."
    """
    from urllib.parse import urlparse

    from flask import current_app

    base = current_app.extensions["couvee"].config.base_url.rstrip("/")
    parsed = urlparse(base)
    adapter = current_app.url_map.bind(parsed.netloc, script_name=parsed.path or "/", url_scheme=parsed.scheme)
    return parsed.scheme + "://" + parsed.netloc + adapter.build(endpoint, values)
