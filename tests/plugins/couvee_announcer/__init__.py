"""A plugin that declares a hook of its own (``hookspecs.py``) and calls it
on a page: ``/admin/announcer/`` lists the greetings other plugins give."""
from flask import Blueprint

from core import hookimpl, state

blueprint = Blueprint("couvee_announcer", __name__, url_prefix="/admin/announcer")


@blueprint.route("/")
def index():
    greetings = state().hooks.results("announcer_greetings", name="Ada")
    return "Greetings: " + ", ".join(greetings)


@hookimpl
def register_blueprints():
    return [blueprint]
