"""A plugin that requires ``couvee_base >= 1.1`` and really needs it: its
migration adds a row to the base's table (so it must run after the base's
migrations), and its page reads the base's setting through core's
``get_setting`` (declared only while the base is active). It never imports
the base."""
from flask import Blueprint
from peewee import Table

from core import Migration, get_setting, hookimpl

blueprint = Blueprint("couvee_addon", __name__, url_prefix="/admin/addon")


@blueprint.route("/")
def index():
    return f"Add-on page: {get_setting('couvee_base', 'greeting')}"


def add_item(database, migrator):
    Table("couvee_base_item", ("id", "label")).bind(database).insert(label="from the add-on").execute()


@hookimpl
def register_migrations():
    return [Migration(1, "an item in the base's table", add_item)]


@hookimpl
def register_blueprints():
    return [blueprint]
