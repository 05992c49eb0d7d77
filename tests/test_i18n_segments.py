"""French first for segments (issue 17): the segments admin, its builder,
its flash messages and validation errors, the filter and operator labels
and the sentence describing a segment speak the admin's language."""
from __future__ import annotations

import html

import pytest

from core.contacts import create_contact
from core.models import CustomField, User
from plugins.segments import add_to_segment
from plugins.segments.editing import save_segment
from plugins.segments.models import Segment

from .conftest import ADMIN_EMAIL


@pytest.fixture
def french_admin(admin, ctx):
    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    return admin


def text(page) -> str:
    return html.unescape(page.text)


def cond(filter_id: str, **params) -> dict:
    return {"filter": filter_id, "params": params}


def test_the_segments_list_speaks_french(french_admin):
    page = french_admin.get("/admin/segments")
    assert "Aucun segment pour l’instant" in text(page) and "Nouvelle liste statique" in text(page)
    assert "Nouveau segment dynamique" in text(page) and "<strong>liste statique</strong>" in text(page)
    assert "No segments yet" not in text(page) and "New static list" not in text(page)


def test_a_dynamic_segment_is_described_in_a_french_sentence(french_admin):
    CustomField.create(key="zone", label="Zone", type_id="select", options=["EMEA", "APAC"])
    segment = save_segment(None, name="Webinaires", kind="dynamic", definition={"match": "all", "groups": [
        {"match": "all", "conditions": [cond("field", field="zone", operator="equals", value="EMEA"),
                                        cond("tag", operator="has", value="webinar"),
                                        cond("last_interaction_at", operator="within_last_days", value="30")]},
    ]})
    listed = french_admin.get("/admin/segments")
    words = "Zone est « EMEA » et a l’étiquette « webinar » et la dernière activité est dans les 30 derniers jours"
    assert words in text(listed) and "Dynamique" in text(listed) and "Dernier recalcul" in text(listed)
    page = french_admin.get(f"/admin/segments/{segment.id}")
    assert page.html.select_one(".filter-words").text == words
    assert "Recalculer maintenant" in text(page) and "Membres" in text(page) and "Rebuild now" not in text(page)
    rebuild = next(form for form in page.forms.values() if form.action.endswith("/rebuild"))
    rebuilt = rebuild.submit().maybe_follow()
    assert ("Le recalcul est en attente" in text(rebuilt)) or ("Un recalcul de ce segment est déjà en attente." in text(rebuilt))


def test_the_builder_and_its_filter_labels_speak_french(french_admin):
    CustomField.create(key="zone", label="Zone", type_id="text")
    page = french_admin.get("/admin/segments/new?kind=dynamic")
    assert "Nouveau segment" in text(page) and "+ Ajouter une condition" in text(page)
    subjects = [option.text for option in page.html.select("select[data-subject] option")]
    assert {"Prénom", "Étiquette", "Appartenance à un segment", "A eu un événement", "Zone"} <= set(subjects)
    groups = [group["label"] for group in page.html.select("select[data-subject] optgroup")]
    assert "Comportement" in groups and "Champs personnalisés" in groups and "Behaviour" not in groups
    form = page.forms["segment-form"]
    form["g0-c0-subject"] = "tag"
    form = form.submit("action", value="refresh").forms["segment-form"]
    assert [label for _, _, label in form["g0-c0-operator"].options] == ["a", "n’a pas"]
    form["name"] = ""
    refused = form.submit("action", value="save", status=400)
    assert "Le segment n’a pas été enregistré" in text(refused) and "Donnez un nom au segment." in text(refused)
    assert "Give the segment a name." not in text(refused)
    form = refused.forms["segment-form"]
    form["name"] = "Sans étiquette"
    refused = form.submit("action", value="save", status=400)
    assert "Saisissez une étiquette." in text(refused) and "Enter a tag." not in text(refused)


def test_static_list_flash_messages_speak_french(french_admin):
    page = french_admin.get("/admin/segments/new?kind=static")
    form = page.forms["segment-form"]
    form["name"] = "Clients VIP"
    saved = form.submit("action", value="save").maybe_follow()
    assert "La liste « Clients VIP » a été enregistrée." in text(saved)
    assert "Ajouter un contact par son e-mail" in text(saved) and "Cette liste est vide" in text(saved)
    form = saved.forms["add-member"]
    form["email"] = "nobody@example.com"
    missing = form.submit().maybe_follow()
    assert "Aucun contact n’a l’e-mail « nobody@example.com »." in text(missing)


def test_deleting_a_segment_speaks_french(french_admin):
    segment = save_segment(None, name="Anciens", kind="static")
    add_to_segment(create_contact({"email": "lea@example.com"}), segment)
    page = french_admin.get(f"/admin/segments/{segment.id}/delete")
    assert "Supprimer « Anciens » ?" in text(page) and "1 appartenance sera oubliée" in text(page)
    done = page.forms["delete-form"].submit().maybe_follow()
    assert "Le segment « Anciens » a été supprimé." in text(done)
    assert Segment.get_or_none(Segment.id == segment.id) is None


def test_english_stays_english(admin, ctx):
    save_segment(None, name="Tagged", kind="dynamic", definition={"match": "all", "groups": [
        {"match": "any", "conditions": [cond("tag", operator="has", value="a"), cond("tag", operator="has_not", value="b")]},
    ]})
    page = admin.get("/admin/segments")
    assert "has the tag “a” or does not have the tag “b”" in text(page) and "New static list" in text(page)


def test_a_segment_others_filter_on_explains_in_french_why_it_stays(french_admin):
    listed = save_segment(None, name="Abonnés", kind="static")
    save_segment(None, name="Abonnés actifs", kind="dynamic", definition={"match": "all", "groups": [
        {"match": "all", "conditions": [cond("segment", operator="in_segment", value=str(listed.id))]},
    ]})
    page = french_admin.get(f"/admin/segments/{listed.id}/delete")
    alert = page.html.select_one("[role=alert]")
    assert alert.text == "Ce segment ne peut pas être supprimé : Abonnés actifs filtre sur lui. Modifiez-le d’abord."
    assert alert.select_one("a").text == "Abonnés actifs"


def test_behaviour_filters_are_worded_by_the_event_kind_in_french(french_admin):
    segment = save_segment(None, name="Inactifs", kind="dynamic", definition={"match": "all", "groups": [
        {"match": "all", "conditions": [cond("custom_event", operator="had_not", days="30")]},
    ]})
    page = french_admin.get(f"/admin/segments/{segment.id}")
    assert page.html.select_one(".filter-words").text == \
        "n’a pas fait l’événement suivi au cours des 30 derniers jours"
    builder = french_admin.get(f"/admin/segments/{segment.id}/edit")
    behaviour = [option.text for option in builder.html.select("optgroup[label=Comportement] option")]
    assert "A fait un événement suivi" in behaviour and "Did a tracked event" not in behaviour
