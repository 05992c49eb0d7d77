"""The admin shell: dashboard, plugins, users, API keys, settings, contacts."""
from flask import Blueprint

admin_blueprint = Blueprint("admin", __name__, url_prefix="/admin")

from . import contacts, dashboard, plugins, settings, users  # noqa: E402,F401  (register the views)
