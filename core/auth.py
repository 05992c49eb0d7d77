"""Users, roles, sessions, CSRF, API keys and the first-run setup token.

Default deny: every endpoint requires a logged-in user unless its view is
decorated with :func:`public`. REST endpoints (``/api/``) authenticate with an
API key instead of the session, and are exempt from CSRF for that reason.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from pathlib import Path

from flask import abort, current_app, g, has_request_context, jsonify, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from .i18n import core_domain
from .models import ROLES, ApiKey, User, utcnow

log = logging.getLogger("couvee.auth")
_ = core_domain().gettext

SESSION_USER = "uid"
SESSION_CSRF = "csrf"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
API_PREFIX = "/api/"
MIN_PASSWORD = 10


class AuthError(ValueError):
    pass


# -- decorators -------------------------------------------------------------


def public(view):
    """Let anonymous visitors reach this view (it must do its own checks)."""
    view._couvee_public = True
    return view


def csrf_exempt(view):
    """For cross-site endpoints (tracking hits, embedded form posts) that are
    protected otherwise; never for admin pages."""
    view._couvee_csrf_exempt = True
    return view


def no_database(view):
    """For hot public endpoints that never query the database (the tracking
    hit endpoint appends to Redis): no connection is opened for the request and
    no session user is loaded. Implies :func:`public` and :func:`csrf_exempt`;
    a query from such a view fails loudly (no connection)."""
    view._couvee_no_database = True
    return csrf_exempt(public(view))


def api_key_required(view):
    """For machine endpoints outside ``/api/`` (``/metrics``): the caller
    authenticates with an API key like the REST API (``Authorization: Bearer
    cv_...``), never with a session; 401 without a valid key."""
    view._couvee_api_key = True
    return view


def roles_required(*roles: str):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None or user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_user() -> User | None:
    """The logged-in user, or None. On ``@public`` views the session is read
    only when this is called, so a public response that never asks (the
    tracking script, a form's embed code) carries no ``Vary: Cookie`` and
    shared caches can keep it."""
    if "user" not in g and has_request_context():
        g.user = _session_user()
    return g.get("user")


def _session_user() -> User | None:
    user_id = session.get(SESSION_USER)
    if user_id is None:
        return None
    user = User.get_or_none((User.id == user_id) & (User.is_active == True))  # noqa: E712
    if user is None:
        session.clear()
    return user


# -- passwords and users ----------------------------------------------------


def validate_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AuthError(_("Use a password of at least %(count)d characters.", count=MIN_PASSWORD))


def normalize_email(email: str | None) -> str:
    """The one spelling of a login address used for lookups and throttling:
    surrounding whitespace dropped, lower case (``" Admin@X.example "`` and
    ``"admin@x.example"`` are the same account)."""
    return (email or "").strip().lower()


def create_user(email: str, password: str, role: str = "marketer", name: str = "") -> User:
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise AuthError(_("Enter a valid email address."))
    if role not in ROLES:
        raise AuthError(_("Role must be one of %(roles)s.", roles=", ".join(ROLES)))
    validate_password(password)
    if User.select().where(User.email == email).exists():
        raise AuthError(_("A user with the email %(email)s already exists.", email=email))
    return User.create(email=email, name=name.strip(), role=role, password_hash=generate_password_hash(password))


def set_password(user: User, password: str) -> None:
    validate_password(password)
    user.password_hash = generate_password_hash(password)
    user.save()


def authenticate(email: str, password: str) -> User | None:
    user = User.get_or_none(User.email == normalize_email(email))
    if user is None or not user.is_active:
        check_password_hash(generate_password_hash("x"), password or "")  # same timing either way
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    return user


def login_user(user: User) -> None:
    session.clear()
    session[SESSION_USER] = user.id
    session[SESSION_CSRF] = secrets.token_urlsafe(32)
    session.permanent = True
    user.last_login_at = utcnow()
    user.save()


def logout_user() -> None:
    session.clear()


# -- login throttling ---------------------------------------------------------

#: failed logins allowed per address (from any IP) and per client IP (for any
#: address) within ``LOGIN_WINDOW`` seconds
LOGIN_LIMIT_PER_ADDRESS = 10
LOGIN_LIMIT_PER_IP = 30
LOGIN_WINDOW = 300


def _login_throttle_keys(email: str) -> dict[str, int]:
    """Redis counter keys and their limits for a login attempt: one for the
    normalised address, one for the client IP, so neither respelling the
    address nor spreading guesses over many addresses escapes the limit.

    The client IP is ``request.remote_addr``: the TCP peer, or behind
    COUVEE_TRUSTED_PROXIES reverse proxies the address they forwarded (see
    ``core.app._trust_proxies``), so the per-IP rule locks that client only."""
    address = hashlib.sha256(normalize_email(email).encode()).hexdigest()[:16]
    return {
        f"couvee:login:address:{address}": LOGIN_LIMIT_PER_ADDRESS,
        f"couvee:login:ip:{request.remote_addr}": LOGIN_LIMIT_PER_IP,
    }


def login_attempts_exceeded(email: str) -> bool:
    """True when the address or the client IP has used up its failed logins."""
    redis = current_app.extensions["couvee"].redis
    keys = _login_throttle_keys(email)
    counts = redis.mget(list(keys))
    address_count, ip_count = (int(count or 0) for count in counts)
    if ip_count >= LOGIN_LIMIT_PER_IP and _forwarded_but_untrusted():
        log.warning(
            "logins from %s are throttled, and that address forwards requests for others "
            "(X-Forwarded-For): set COUVEE_TRUSTED_PROXIES to the number of reverse proxies "
            "so that each client is throttled on its own address", request.remote_addr,
        )
    return address_count >= LOGIN_LIMIT_PER_ADDRESS or ip_count >= LOGIN_LIMIT_PER_IP


def _forwarded_but_untrusted() -> bool:
    return bool(request.headers.get("X-Forwarded-For")) and not current_app.extensions["couvee"].config.trusted_proxies


def record_failed_login(email: str) -> None:
    redis = current_app.extensions["couvee"].redis
    pipe = redis.pipeline()
    for key in _login_throttle_keys(email):
        pipe.incr(key)
        pipe.expire(key, LOGIN_WINDOW)
    pipe.execute()


# -- CSRF -------------------------------------------------------------------


def csrf_token() -> str:
    token = session.get(SESSION_CSRF)
    if not token:
        token = session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_valid() -> bool:
    expected = session.get(SESSION_CSRF)
    given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    return bool(expected) and hmac.compare_digest(expected, given)


# -- API keys ---------------------------------------------------------------


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(user: User, name: str) -> tuple[ApiKey, str]:
    """Return the key row and the full key, shown once and stored hashed."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.create(user=user, name=name.strip() or "API key", prefix=prefix, key_hash=_hash_key(secret))
    return key, f"cv_{prefix}_{secret}"


def user_for_api_key(raw: str) -> User | None:
    try:
        marker, prefix, secret = raw.split("_", 2)
    except ValueError:
        return None
    if marker != "cv":
        return None
    key = ApiKey.get_or_none((ApiKey.prefix == prefix) & (ApiKey.revoked_at.is_null()))
    if key is None or not hmac.compare_digest(key.key_hash, _hash_key(secret)):
        return None
    user = key.user
    if not user.is_active:
        return None
    if key.last_used_at is None or (utcnow() - key.last_used_at).total_seconds() > 60:
        ApiKey.update(last_used_at=utcnow()).where(ApiKey.id == key.id).execute()
    return user


# -- first-run setup ----------------------------------------------------------


def setup_token_path(instance: Path) -> Path:
    return instance / "setup_token"


def setup_needed() -> bool:
    return not User.select().where(User.role == "admin").exists()


def ensure_setup_token(instance: Path) -> str:
    """The one-time token printed in the console that protects the first
    administrator's creation from anyone else on the network."""
    path = setup_token_path(instance)
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(24)
    path.write_text(token)
    path.chmod(0o600)
    return token


def check_setup_token(instance: Path, given: str) -> bool:
    path = setup_token_path(instance)
    return path.exists() and bool(given) and hmac.compare_digest(path.read_text().strip(), given.strip())


def consume_setup_token(instance: Path) -> None:
    setup_token_path(instance).unlink(missing_ok=True)


# -- the gate -----------------------------------------------------------------


def _view(app, endpoint):
    return app.view_functions.get(endpoint) if endpoint else None


def gate():
    """``before_request``: identify the user and enforce auth and CSRF."""
    app = current_app._get_current_object()
    view = _view(app, request.endpoint)
    if getattr(view, "_couvee_no_database", False):
        g.user = None
        return None
    if request.path.startswith(API_PREFIX) or getattr(view, "_couvee_api_key", False):
        g.user = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            g.user = user_for_api_key(header[7:].strip())
        if g.user is None and not getattr(view, "_couvee_public", False) and view is not None:
            response = jsonify(error="unauthorized", message="Send an API key: Authorization: Bearer cv_...")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="couvee"'
            return response
        return None
    static = view is not None and (request.endpoint == "static" or request.endpoint.endswith(".static"))
    if static or getattr(view, "_couvee_public", False):
        g.pop("user", None)  # read from the session on demand: current_user() (g may outlive one request)
    else:
        g.user = _session_user()
    if view is None or static:
        return None
    if request.method in UNSAFE_METHODS and not getattr(view, "_couvee_csrf_exempt", False):
        if not csrf_valid():
            abort(400, description="The form expired or was sent from another site. Reload the page and try again.")
    if getattr(view, "_couvee_public", False):
        return None
    if g.user is None:
        if setup_needed():
            return redirect(url_for("auth.setup"))
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    return None


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("admin.dashboard")
    return target
