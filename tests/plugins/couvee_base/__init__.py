"""A plugin that ``couvee_addon`` requires: it owns a table (filled by its
migration) and a settings group, and serves a page."""
import peewee
from flask import Blueprint

from core import BaseModel, Migration, Setting, SettingsGroup, hookimpl


class BaseItem(BaseModel):
    label = peewee.CharField()

    class Meta:
        table_name = "couvee_base_item"


blueprint = Blueprint("couvee_base", __name__, url_prefix="/admin/base")


@blueprint.route("/")
def index():
    return "Base page: " + ", ".join(item.label for item in BaseItem.select().order_by(BaseItem.id))


@hookimpl
def register_models():
    return [BaseItem]


@hookimpl
def register_migrations():
    return [Migration.create_tables(1, "items", [BaseItem])]


@hookimpl
def register_blueprints():
    return [blueprint]


@hookimpl
def register_settings():
    return [SettingsGroup("couvee_base", "Base fixture", [Setting("greeting", "Greeting", default="hello from base")])]
