"""The processing register (registre des traitements), built from what this
plugin holds: the purposes seen in the consent ledger, per form (``form_id``
of consent events — forms are another plugin, we never read its tables), the
consent texts and versions in use, and the retention that applies."""
from __future__ import annotations

from peewee import fn

from core import translation_domain

from .models import ConsentRecord
from .purposes import PURPOSES, purpose_label
from .retention import Policy

_, _l = translation_domain(__name__).pair()
ngettext = translation_domain(__name__).ngettext

SOURCE_LABELS = {"form": _l("Form"), "double_opt_in": _l("Double opt-in"), "preference_centre": _l("Preference centre"),
                 "admin": _l("Admin"), "api": _l("API"), "import": _l("Import (declared proof)")}


def processing_register() -> dict:
    policy = Policy.current()
    rows = (ConsentRecord.select(ConsentRecord.form_id, ConsentRecord.source, ConsentRecord.purpose,
                                 ConsentRecord.text_version, fn.COUNT(ConsentRecord.id).alias("n"),
                                 fn.MIN(ConsentRecord.at).alias("first"), fn.MAX(ConsentRecord.at).alias("last"))
            .group_by(ConsentRecord.form_id, ConsentRecord.source, ConsentRecord.purpose, ConsentRecord.text_version)
            .order_by(ConsentRecord.form_id, ConsentRecord.source, ConsentRecord.purpose))
    collections: dict = {}
    for row in rows.dicts():
        key = (row["form_id"] or "", row["source"] or "")
        entry = collections.setdefault(key, {"form_id": row["form_id"], "source": row["source"],
                                             "source_label": SOURCE_LABELS.get(row["source"], row["source"]),
                                             "purposes": {}})
        purpose = entry["purposes"].setdefault(row["purpose"], {"label": purpose_label(row["purpose"]),
                                                                "versions": [], "count": 0})
        purpose["versions"].append(row["text_version"] or "—")
        purpose["count"] += row["n"]
    retention = [{"purpose": p, "label": purpose_label(p), "retention": retention_sentence(policy)} for p in PURPOSES]
    return {"collections": list(collections.values()), "retention": retention, "policy": policy}


def retention_sentence(policy: Policy) -> str:
    if policy.mode == "pseudonymise":
        return ngettext("%(num)s year after the last interaction, then pseudonymised",
                        "%(num)s years after the last interaction, then pseudonymised", policy.years)
    return ngettext("%(num)s year after the last interaction, then deleted",
                    "%(num)s years after the last interaction, then deleted", policy.years)


def consent_texts(form_id: int | None, purpose: str) -> list[ConsentRecord]:
    """The distinct texts shown for a purpose on a form (latest first)."""
    query = (ConsentRecord.select(ConsentRecord.text, ConsentRecord.text_version, fn.MAX(ConsentRecord.at).alias("last"))
             .where(ConsentRecord.purpose == purpose)
             .group_by(ConsentRecord.text, ConsentRecord.text_version).order_by(fn.MAX(ConsentRecord.at).desc()))
    query = query.where(ConsentRecord.form_id == form_id) if form_id else query.where(ConsentRecord.form_id.is_null())
    return list(query.limit(10))
