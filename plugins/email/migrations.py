"""Schema steps of the email plugin after the first (see ``register_migrations``).

Version 1 creates the tables from the current models, so on a new
installation a later step finds its change already made: each checks first.
"""
from __future__ import annotations

from playhouse.migrate import migrate

from .models import EmailImage, EmailTemplate, Newsletter


def add_content_format(database, migrator) -> None:
    """``Newsletter.content_format``: existing newsletters are HTML."""
    table = Newsletter._meta.table_name
    if "content_format" not in {column.name for column in database.get_columns(table)}:
        migrate(migrator.add_column(table, "content_format", Newsletter.content_format))


def add_image_library(database, migrator) -> None:
    """The image library's table (``email_image``)."""
    EmailImage.create_table(safe=True)


def add_saved_templates(database, migrator) -> None:
    """Saved email templates (``email_template``)."""
    EmailTemplate.create_table(safe=True)


def add_pause_reason(database, migrator) -> None:
    """``Newsletter.pause_reason``: why a send job paused a newsletter."""
    table = Newsletter._meta.table_name
    if "pause_reason" not in {column.name for column in database.get_columns(table)}:
        migrate(migrator.add_column(table, "pause_reason", Newsletter.pause_reason))
