"""The email plugin's hooks, for other plugins to extend the newsletter
block editor and the values a recipient's email is personalised with.

Added to the plugin manager while the email plugin is active (see
``core.plugins.plugin_hookspecs``); with it off, nobody answers them and other
plugins' implementations are simply not called. Implement them with
``core.hookimpl`` like any hook (``optionalhook=True`` if your plugin may run
where the email plugin is not installed).
"""
from core import STRICT, hookspec, policy


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


@hookspec
@policy(STRICT)
def email_template_values(contact, names):
    """Values a plugin lends to a newsletter's (or any email template's)
    personalisation, for one recipient.

    The email plugin fills ``first_name``, ``fields``, ``owner_name``… itself.
    When a template uses a top-level name it does not know (``{{ content.title }}``
    uses ``content``), it asks the plugins for that recipient's values while
    rendering, in the full rendering and in the prerendered fast path alike.
    A template that uses only the email plugin's own names never calls this
    hook (no cost per recipient).

    - ``contact``: the recipient (a ``core.Contact``), or ``None`` when there
      is none (the send rules' check, a preview without a contact): answer
      what a recipient with nothing specific would get;
    - ``names``: the unknown top-level names the template uses (a frozenset).

    Return a dict holding only names of ``names`` that your plugin owns (plain
    data: strings, numbers, lists and dicts of them; templates run in a
    sandbox), or ``None``. A name the email plugin fills itself is never
    overridden. An implementation that raises is reported against its plugin
    and fails this recipient's email as a template error (it is not sent
    half-filled; a preview or the send rules show the error); the other
    recipients still get theirs.

    Example::

        @hookimpl(optionalhook=True)
        def email_template_values(contact, names):
            if "shop" not in names:
                return None
            last = last_order(contact) if contact is not None else None
            return {"shop": {"product": last.product_name if last else "our bestseller"}}
    """
