"""The email plugin's hooks, for other plugins to extend the newsletter
block editor.

Added to the plugin manager while the email plugin is active (see
``core.plugins.plugin_hookspecs``); with it off, nobody answers them and other
plugins' implementations are simply not called. Implement them with
``core.hookimpl`` like any hook (``optionalhook=True`` if your plugin may run
where the email plugin is not installed).
"""
from core import hookspec


@hookspec
def email_builder_blocks():
    """Blocks a plugin adds to the newsletter block editor (the GrapesJS page
    of an MJML newsletter), listed after the email plugin's own blocks.

    Return a list of dicts, or ``None``. Each block has:

    - ``id``: unique, prefixed with your plugin's name (``"shop.product"``);
    - ``label``: what the editor shows (a lazy gettext string of your domain,
      rendered in the admin's language);
    - ``category``: the group it is listed under (lazy gettext too);
    - ``content``: the MJML it inserts, one or more ``<mj-section>`` (or
      ``<mj-wrapper>``), which may hold tokens (``{{ first_name }}``).

    The content is checked by mrml like the rest of the newsletter when the
    draft is saved; a block whose id is not unique, or without an MJML
    section, is left out (and logged).

    Example::

        @hookimpl(optionalhook=True)
        def email_builder_blocks():
            return [{"id": "shop.product", "label": _l("Product"), "category": _l("Shop"),
                     "content": '<mj-section><mj-column><mj-text>{{ fields.last_product }}</mj-text>'
                                '</mj-column></mj-section>'}]
    """
