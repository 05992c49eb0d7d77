"""French first for the imports plugin (issue 17, part 2): the wizard, the
progress page, its flash messages and validation errors, the error report
and the plugin's labels speak the admin's language; the reasons of the
reported lines are translated when the report is read, not when the worker
wrote them."""
from __future__ import annotations

import csv
import io

from core.models import Contact, User

from .test_i18n import ENGLISH, FRENCH, menu
from .test_import_archive import a_zip, crm_export
from .test_imports import article_fields  # noqa: F401  (fixture)

ROWS = ("email;prénom;langue\r\n"
        "ada@exemple.fr;Ada;fr\r\n"
        "pas-une-adresse;Bob;fr\r\n"
        "cleo@exemple.fr;Cléo;klingon\r\n"
        "dan@exemple.fr;Dan;fr;en trop;encore\r\n")


def upload(admin, headers=FRENCH):
    form = admin.get("/admin/imports", headers=headers).forms["upload-form"]
    form["file"] = ("contacts salon.csv", ROWS.encode("utf-8"))
    return form.submit(headers=headers).follow(headers=headers)


def report(admin, job_path: str, headers) -> list[list[str]]:
    text = admin.get(f"{job_path}/report.csv", headers=headers).text.lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_the_import_list_and_upload_speak_french(admin):
    page = admin.get("/admin/imports", headers=FRENCH)
    assert "Importer" in menu(page)
    assert "Importer des contacts" in page.text and "Aucun import pour l’instant." in page.text
    assert "Envoyer et prévisualiser" in page.text
    assert "Import contacts" not in page.text and "No import yet." not in page.text

    refused = page.forms["upload-form"].submit(headers=FRENCH, status=400)
    assert "Choisissez un fichier CSV (ou un .zip contenant le CSV et ses fichiers) à importer." in refused.text
    assert "Choose a CSV file" not in refused.text


def test_the_wizard_speaks_french_from_the_mapping_to_the_report(admin, run_jobs):
    setup = upload(admin)
    assert "1. Format du fichier" in setup.text and "2. Associez chaque colonne à un champ" in setup.text
    assert "— ignorer cette colonne —" in setup.text and "Point-virgule ;" in setup.text
    assert "Ignorer les leads froids : lignes dont la colonne" in setup.text
    assert "Map each column" not in setup.text and "Run the import" not in setup.text

    form = setup.forms["mapping-form"]
    form["target_0"] = "ignore"
    refused = form.submit("action", value="run", headers=FRENCH, status=400)
    assert "Associez exactement une colonne à Email : il identifie les contacts (0 associée(s))." in refused.text

    form = refused.forms["mapping-form"]
    form["target_0"] = "email"
    form["test_only"] = False
    queued = form.submit("action", value="run", headers=FRENCH).follow(headers=FRENCH)
    assert "en attente" in queued.text and "Annuler l’import" in queued.text
    assert "queued" not in queued.text.replace('data-status="queued"', "")

    run_jobs()
    done = admin.get(queued.request.path, headers=FRENCH)
    assert "terminé" in done.text and "Télécharger le rapport d’erreurs (CSV)" in done.text
    assert "Relancer avec les mêmes réglages" in done.text and "Download the error report" not in done.text

    rows = report(admin, queued.request.path, FRENCH)
    assert rows[0][:3] == ["ligne", "type", "raison"]
    reasons = {int(row[0]): (row[1], row[2]) for row in rows[1:]}
    assert reasons[3][0] == "erreur" and reasons[3][1].startswith("email : ")
    assert reasons[4] == ("erreur", "langue : langue inconnue 'klingon' (utilisez fr ou en)")
    assert reasons[5] == ("erreur", "Cette ligne contient 5 valeurs mais le fichier a 3 colonnes "
                                    "(un séparateur dans une valeur sans guillemets ?).")

    # the same report read by an English admin: translated when read, not when written
    english = {int(row[0]): row[2] for row in report(admin, queued.request.path, ENGLISH)[1:]}
    assert english[4] == "langue: unknown language 'klingon' (use fr or en)"


def test_flash_messages_of_the_progress_page_are_french(admin, run_jobs):
    queued = upload(admin).forms["mapping-form"].submit("action", value="run", headers=FRENCH).follow(headers=FRENCH)
    cancel = next(form for form in queued.forms.values() if form.action.endswith("/cancel"))
    cancelled = cancel.submit(headers=FRENCH).follow(headers=FRENCH)
    assert "L’import s’arrêtera après les lignes en cours d’écriture." in cancelled.text
    deleted = next(form for form in cancelled.forms.values() if form.action.endswith("/delete"))
    page = deleted.submit(headers=FRENCH).follow(headers=FRENCH)
    assert "L’import, son fichier et son rapport ont été supprimés (les contacts sont conservés)." in page.text


def test_an_admin_whose_language_is_french_gets_the_plugins_labels(admin, ctx, run_jobs):
    User.update(language="fr").execute()
    settings = admin.get("/admin/settings/imports")
    assert "Adresses exclues" in settings.text and "Suppressed addresses" not in settings.text

    form = upload(admin, headers={}).forms["mapping-form"]
    form["test_only"] = False
    form["consent_declared"] = True
    form["consent_proof"] = "Formulaire papier du salon"
    form.submit("action", value="run").follow()
    run_jobs()
    ada = Contact.get(Contact.email == "ada@exemple.fr")
    page = admin.get(f"/admin/contacts/{ada.id}")
    assert "Consentement importé" in page.text and "Consent imported" not in page.text  # the event kind's label


def test_a_zip_refusal_and_a_missing_file_are_reported_in_french(article_fields, admin, run_jobs):  # noqa: F811
    form = admin.get("/admin/imports", headers=FRENCH).forms["upload-form"]
    form["file"] = ("vide.zip", a_zip({"notes.txt": b"rien"}))
    refused = form.submit(headers=FRENCH, status=400).html.get_text()
    assert "Le zip ne contient aucun fichier CSV" in refused and "holds no CSV" not in refused

    form = admin.get("/admin/imports", headers=FRENCH).forms["upload-form"]
    form["file"] = ("export.zip", crm_export())
    setup = form.submit(headers=FRENCH).follow(headers=FRENCH)
    assert "Ce CSV est arrivé dans un zip avec d’autres fichiers" in setup.text
    mapping = setup.forms["mapping-form"]
    mapping["test_only"] = False
    queued = mapping.submit("action", value="run", headers=FRENCH).follow(headers=FRENCH)
    run_jobs()
    [line] = [row for row in report(admin, queued.request.path, FRENCH)[1:] if row[0] == "4"]
    assert line[2] == "Cahier des charges : il n’y a pas de fichier « devis/missing.pdf » dans le zip."
