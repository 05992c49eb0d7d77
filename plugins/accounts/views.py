"""``/admin/accounts``: the list (search, status filter, pages), the account
form, the account page (contacts, combined timeline and score), linking a
contact by hand (from the account page or the contact page's panel), and the
CSV export and import."""
from __future__ import annotations

import peewee
from flask import (
    Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, stream_with_context, url_for,
)

from core import Contact, User, field_types, normalize_email, roles_required, translation_domain

from . import csvio, editing, fields, linking, score
from .models import SIZE_BANDS, STATUSES, Account, AccountContact, AccountField, name_or_domain

_ = translation_domain(__name__).gettext

accounts_admin = Blueprint("accounts", __name__, url_prefix="/admin/accounts", static_folder="static")
PER_PAGE = 50
#: accounts the typeahead offers, and the search page lists
SEARCH_LIMIT = 10
CHOICES_LIMIT = 20
#: contacts listed on an account page (the most recently active)
CONTACTS_SHOWN = 200
#: who may delete and import accounts (everyone signed in may see and edit them)
MANAGERS = ("admin", "marketer")


def _account(account_id: int) -> Account:
    return Account.get_or_none(Account.id == account_id) or abort(404)


def _page() -> int:
    raw = request.args.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


@accounts_admin.route("")
def index():
    """Accounts by name, searched by name or domain, filtered by status."""
    search = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    query = Account.select()
    if search:
        query = query.where(name_or_domain(search))
    if status in STATUSES:
        query = query.where(Account.status == status)
    else:
        status = ""
    total = query.count()
    page = _page()
    accounts = list(query.order_by(Account.name, Account.id).paginate(page, PER_PAGE))
    counts = _counts(accounts)
    return render_template("accounts/index.html", accounts=accounts, counts=counts, total=total, page=page,
                           per_page=PER_PAGE, search=search, status=status, statuses=STATUSES,
                           any_account=bool(total) or Account.select().exists(),
                           extra={"q": search, "status": status})


def _counts(accounts) -> dict[int, int]:
    ids = [account.id for account in accounts]
    if not ids:
        return {}
    return dict(AccountContact.select(AccountContact.account, peewee.fn.COUNT(AccountContact.contact))
                .where(AccountContact.account.in_(ids)).group_by(AccountContact.account).tuples())


def _users():
    return list(User.select().where(User.is_active == True).order_by(User.email))  # noqa: E712


def _custom_from_form(form) -> dict:
    """What the custom inputs of a posted form held (to show them again)."""
    types = field_types()
    result = {}
    for field in fields.account_fields():
        name = fields.PREFIX + field.key
        field_type = types.get(field.type_id)
        multi = field_type is not None and field_type.multi_valued and hasattr(form, "getlist")
        result[field.key] = [item for item in form.getlist(name) if item] if multi else form.get(name)
    return result


def _render_form(account, form, errors, status=200, custom=None):
    if custom is None:
        custom = _custom_from_form(form)
    return render_template("accounts/form.html", account=account, form=form, errors=errors, users=_users(),
                           size_bands=SIZE_BANDS, statuses=STATUSES, custom_fields=fields.account_fields(),
                           custom=custom, widget=fields.widget, prefix=fields.PREFIX), status


@accounts_admin.route("/new", methods=["GET", "POST"])
def new():
    if request.method == "GET":
        return _render_form(None, {"status": "prospect"}, {}, custom={})
    try:
        values = editing.clean_account(request.form)
    except editing.AccountError as error:
        return _render_form(None, request.form, error.errors, 400)
    account = editing.create_account(values)
    linked = linking.contact_ids_of(account).count()
    flash(_("Account %(name)s created.", name=account.name) if not linked else
          _("Account %(name)s created; %(count)s contacts at its domain were linked to it.",
            name=account.name, count=linked))
    return redirect(url_for("accounts.show", account_id=account.id))


@accounts_admin.route("/<int:account_id>/edit", methods=["GET", "POST"])
def edit(account_id):
    account = _account(account_id)
    if request.method == "GET":
        form = {key: getattr(account, key) for key in editing.FIELDS}
        form["domain"], form["revenue"] = account.domain or "", "" if account.revenue is None else account.revenue
        return _render_form(account, form, {}, custom=fields.values_of(account.id))
    try:
        values = editing.clean_account(request.form, account)
    except editing.AccountError as error:
        return _render_form(account, request.form, error.errors, 400)
    editing.update_account(account, values)
    flash(_("Account %(name)s saved.", name=values["name"]))
    return redirect(url_for("accounts.show", account_id=account.id))


@accounts_admin.route("/<int:account_id>")
def show(account_id):
    account = _account(account_id)
    mode = score.score_mode()
    return render_template("accounts/account.html", account=account,
                           contacts=list(linking.contacts_of(account).limit(CONTACTS_SHOWN)),
                           contact_count=linking.contact_ids_of(account).count(),
                           timeline=score.timeline(account), combined=score.combined_score(account, mode),
                           custom_fields=fields.account_fields(), custom=fields.values_of(account.id),
                           show_value=fields.display,
                           score_mode=dict(score.SCORE_MODES)[mode])


@accounts_admin.route("/<int:account_id>/delete", methods=["POST"])
@roles_required(*MANAGERS)
def delete(account_id):
    account = _account(account_id)
    count = editing.delete_account(account)
    flash(_("Account %(name)s deleted; its %(count)s contacts are kept, without account.",
            name=account.name, count=count))
    return redirect(url_for("accounts.index"))


@accounts_admin.route("/<int:account_id>/contacts", methods=["POST"])
def add_contact(account_id):
    """Link a contact, found by its address, to this account by hand."""
    account = _account(account_id)
    email = normalize_email(request.form.get("email", ""))
    contact = Contact.get_or_none(Contact.email == email) if email else None
    if contact is None:
        flash(_("No contact has the address %(email)s.", email=request.form.get("email", "").strip() or "—"), "error")
    elif linking.link(contact, account, source="manual"):
        flash(_("%(contact)s is now linked to %(account)s.", contact=contact.display_name, account=account.name))
    else:
        flash(_("%(contact)s was already linked to %(account)s.", contact=contact.display_name, account=account.name))
    return redirect(url_for("accounts.show", account_id=account.id))


@accounts_admin.route("/contacts/<int:contact_id>/link", methods=["POST"])
def link_contact(contact_id):
    """From the contact page's panel: link to the chosen account, or unlink."""
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    raw = request.form.get("account_id", "")
    if raw == "":
        if linking.unlink(contact):
            flash(_("%(contact)s is no longer linked to an account.", contact=contact.display_name))
    else:
        account = Account.get_or_none(Account.id == int(raw)) if raw.isdigit() else None
        if account is None:
            flash(_("This account does not exist (any more)."), "error")
        elif linking.link(contact, account, source="manual"):
            flash(_("%(contact)s is now linked to %(account)s.", contact=contact.display_name, account=account.name))
    if request.form.get("back") == "account" and raw.isdigit():
        return redirect(url_for("accounts.show", account_id=int(raw)))
    return redirect(url_for("admin.contact", contact_id=contact.id))


@accounts_admin.route("/search")
def search():
    """Typeahead of the contact page's panel: ``{"items": [{id, name, domain, status}]}``, names
    starting with the text first (at most ``SEARCH_LIMIT``; one indexed or limited query at any size)."""
    found = linking.search_accounts(request.args.get("q", ""), SEARCH_LIMIT)
    return jsonify(items=[{"id": a.id, "name": a.name, "domain": a.domain, "status": a.status} for a in found])


@accounts_admin.route("/contacts/<int:contact_id>/choose")
def choose_for_contact(contact_id):
    """The panel's search without script: the matching accounts, each with a button linking the contact."""
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    text = request.args.get("q", "").strip()[:200]
    found = linking.search_accounts(text, CHOICES_LIMIT) if text else []
    return render_template("accounts/choose.html", contact=contact, search=text, found=found,
                           limit=CHOICES_LIMIT, current=linking.account_of(contact.id))


@accounts_admin.route("/<int:account_id>/contacts/<int:contact_id>/unlink", methods=["POST"])
def unlink_contact(account_id, contact_id):
    account = _account(account_id)
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    link = linking.link_of(contact.id)
    if link is not None and link.account_id == account.id:
        linking.unlink(contact)
        flash(_("%(contact)s is no longer linked to %(account)s.", contact=contact.display_name, account=account.name))
    return redirect(url_for("accounts.show", account_id=account.id))


@accounts_admin.route("/export.csv")
def export():
    """Every account as CSV, streamed (UTF-8 with a BOM, so spreadsheets read the accents)."""
    def body():
        yield "\ufeff"
        yield from csvio.export_csv()

    return Response(stream_with_context(body()), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="accounts.csv"', "X-Content-Type-Options": "nosniff"})


def _import_page(report):
    return render_template("accounts/import.html", report=report, columns=csvio.COLUMNS,
                           custom_keys=[field.key for field in fields.account_fields()])


@accounts_admin.route("/import", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def import_accounts():
    if request.method == "GET":
        return _import_page(None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a CSV file to import."), "error")
        return _import_page(None), 400
    try:
        report = csvio.import_csv(upload.read())
    except csvio.ImportFileError as error:
        flash(str(error), "error")
        return _import_page(None), 400
    return _import_page(report)


@accounts_admin.route("/fields", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def field_definitions():
    """The custom fields of accounts: the list and the form adding one."""
    form, errors, status = {}, {}, 200
    if request.method == "POST":
        try:
            field = fields.create_field(request.form)
        except fields.FieldDefinitionError as error:
            form, errors, status = request.form, error.errors, 400
        else:
            flash(_("Field %(label)s added; its CSV column is %(key)s.", label=field.label, key=field.key))
            return redirect(url_for("accounts.field_definitions"))
    types = fields.usable_types()
    return render_template("accounts/fields.html", fields=fields.account_fields(), types=types, form=form,
                           errors=errors), status


@accounts_admin.route("/fields/<int:field_id>/delete", methods=["POST"])
@roles_required(*MANAGERS)
def delete_field(field_id):
    field = AccountField.get_or_none(AccountField.id == field_id) or abort(404)
    fields.delete_field(field)
    flash(_("Field %(label)s deleted, with its values.", label=field.label))
    return redirect(url_for("accounts.field_definitions"))
