"""The Koban sync's hook, for another plugin to offer a record type that
syncs with Koban's accounts (``ncThird``).

Added to the plugin manager while ``crm_koban_sync`` is active (see
``core.plugins.plugin_hookspecs``); with it off, nobody asks. Implement it
with ``core.hookimpl(optionalhook=True)`` so your plugin also runs where the
Koban sync is not installed. See docs/crm_koban.md, “Accounts”.
"""
from core import hookspec


@hookspec
def crm_sync_record_types():
    """Record types a plugin lets the Koban sync push to and pull from Koban's
    accounts (``ncThird``). Only the type named ``"account"`` is synced (one
    provider; a second one is ignored and logged).

    Return a list of dicts, or ``None``. Each has:

    - ``type``: ``"account"``;
    - ``label``: what the CRM page shows (a lazy gettext string of your domain);
    - ``changed_since(since)``: ids of the records created or changed at or
      after ``since`` (an aware UTC datetime; ``None`` means all of them);
    - ``read(ids)``: ``{id: values}`` for those that still exist, values being
      those of ``fields()``, ``name``, ``domain`` (lower case, no ``www.``;
      ``""`` if none), ``status`` (``prospect``, ``customer`` or ``former``) and ``updated_at``
      (aware UTC datetime of the last change);
    - ``find(domain)``: the id of the record with this domain, or ``None``;
    - ``write(record_id, values, source)``: create (``record_id`` is ``None``)
      or update a record from some of ``status`` and the ``fields()`` keys
      (values as ``canonical`` gives them); returns its id; raises ``ValueError`` with a message a user can read when the
      values are refused (nothing is then written). ``source`` is
      ``"crm_koban"``: record it on the events your change emits;
    - ``record_of_contacts(contact_ids)``: ``{contact_id: record_id}`` for the
      contacts that belong to a record (the contact push sends it as the
      contact's ``Third``);
    - ``fields()``: the fields the account mapping page may map to Koban
      properties, a list of dicts with ``key`` (as in ``read``/``write``),
      ``label`` and ``canonical(value)``: a value from either side (Koban's
      JSON or ``read``'s) as the text both sides are compared and written in
      (``"2 500 000"`` → ``"2500000"``), raising ``ValueError`` with a
      readable message when a record cannot hold it. ``read`` returns these
      keys too, and ``write`` accepts them.

    The sync keeps the Koban Guid of each record in its own table: the
    provider stores nothing about Koban.

    Example::

        @hookimpl(optionalhook=True)
        def crm_sync_record_types():
            return [{"type": "account", "label": _l("Accounts"), "changed_since": changed_since,
                     "read": read, "find": find_by_domain, "write": write,
                     "record_of_contacts": record_of_contacts, "fields": mappable_fields}]

        def mappable_fields():
            return [{"key": "name", "label": _l("Name"), "canonical": lambda v: str(v or "").strip()},
                    {"key": "revenue", "label": _l("Revenue"), "canonical": revenue_text}]
    """
