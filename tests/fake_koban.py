"""A local fake of Koban's public API (``/api/v1``), served on loopback for
the CRM sync tests. It follows Koban's published docs and SDKs:

- auth headers ``X-ncApi`` / ``X-ncUser`` (401 JSON otherwise);
- ``GET ncContact/GetUpdated?updated=<unix s>&s=<start>&l=<size>`` →
  ``{"Length": total, "List": [...]}``; ``GET ncContact/GetOne?id=<Guid>``;
- ``POST ncContact/PostMany?uniqueproperty=Extcode|Email`` (≤ 100 objects) →
  ``{"Success", "Result": [guids], "Message", "Errors": [{"Index", "Extcode", "Message"}]}``;
- ``ncThird/PostMany?uniqueproperty=Extcode|Guid`` (accounts: ``Label``,
  ``WebSite``, ``Status`` code), ``ncThird/GetUpdated`` (same paging),
  ``ncThird/GetOneByKey``, ``ncThird/GetStatus?status=CLI``; a contact's
  ``Third`` reference (``{"Extcode": …}`` matched with ``thirduniqueproperty``)
  is resolved to the account's Guid and Label; ``POST ncEMailing/Unsubscribe`` (form ``email``).

Tests inject failures with :meth:`FakeKoban.fail` (status, body, content
type, ``Retry-After``, how many times) and read every request in
``.requests``. Unknown paths answer an HTML 404 page, like a web server.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
import types
import urllib.parse
from dataclasses import dataclass, field

import pytest

from tests.loopback import serve

PREFIX = "/api/v1/"
API_KEY, USER_KEY = "test-api-key", "test-user-key"
HTML_404 = b"<!DOCTYPE html><html><head><title>404 - File or directory not found.</title></head><body>IIS</body></html>"


@dataclass
class Fault:
    path: str
    status: int
    body: bytes
    content_type: str
    headers: dict
    times: int


@dataclass
class Request:
    method: str
    path: str
    query: dict
    body: object
    headers: dict = field(default_factory=dict)


class FakeKoban:
    """The WSGI application and its in-memory Koban account."""

    def __init__(self):
        self.contacts: dict[str, dict] = {}
        self.thirds: dict[str, dict] = {}
        self.unsubscribed: list[str] = []
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        #: reject a whole PostMany with HTTP 400 when one object is invalid
        self.strict_batches = False
        self.lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- helpers for tests ---------------------------------------------------------------

    def new_guid(self) -> str:
        return f"{next(self._ids):024x}"

    @staticmethod
    def now() -> int:
        return int(time.time())

    def add_contact(self, **fields) -> dict:
        """A contact created by a Koban user."""
        guid = fields.pop("Guid", None) or self.new_guid()
        contact = {"Guid": guid, "Extcode": None, "Tags": [], "MoreFields": [], "Unsuscribe": False,
                   "InvalidMail": False, "Optin": False, "DUpdated": self.now(), **fields}
        self.contacts[guid] = contact
        return contact

    def edit(self, guid: str, **fields) -> dict:
        """A Koban user edits a contact (DUpdated moves)."""
        contact = self.contacts[guid]
        contact.update(fields)
        contact["DUpdated"] = self.now()
        return contact

    def add_third(self, **fields) -> dict:
        """An account (``ncThird``) created by a Koban user (``Status`` is its code, e.g. ``CLI``)."""
        guid = fields.pop("Guid", None) or self.new_guid()
        third = {"Guid": guid, "Extcode": None, "Label": "", "Status": "PROS", "DUpdated": self.now(), **fields}
        self.thirds[guid] = third
        return third

    def edit_third(self, guid: str, **fields) -> dict:
        """A Koban user edits an account (DUpdated moves)."""
        third = self.thirds[guid]
        third.update(fields)
        third["DUpdated"] = self.now()
        return third

    def by_extcode(self, extcode) -> dict | None:
        return next((c for c in self.contacts.values() if str(c.get("Extcode")) == str(extcode)), None)

    def fail(self, path: str, status: int, body: bytes | str = b"", content_type: str = "application/json",
             times: int = 1, retry_after: str | None = None) -> None:
        """Answer the next ``times`` calls to ``path`` with this failure."""
        body = body.encode() if isinstance(body, str) else body
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.faults.append(Fault(path, status, body, content_type, headers, times))

    def calls(self, path: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        content_type = environ.get("CONTENT_TYPE", "")
        if "json" in content_type and raw:
            body = json.loads(raw)
        elif raw:
            body = dict(urllib.parse.parse_qsl(raw.decode()))
        else:
            body = None
        name = path[len(PREFIX):] if path.startswith(PREFIX) else path
        headers = {"X-ncApi": environ.get("HTTP_X_NCAPI"), "X-ncUser": environ.get("HTTP_X_NCUSER")}
        with self.lock:
            self.requests.append(Request(method, name, query, body, headers))
            status, payload, ctype, extra = self._handle(method, name, query, body, headers)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
                  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Error")
        start_response(f"{status} {reason}", [("Content-Type", ctype), ("Content-Length", str(len(data)))]
                       + list(extra.items()))
        return [data]

    def _handle(self, method, name, query, body, headers):
        for fault in self.faults:
            if fault.path == name and fault.times > 0:
                fault.times -= 1
                return fault.status, fault.body, fault.content_type, fault.headers
        if not path_known(name):
            return 404, HTML_404, "text/html; charset=utf-8", {}
        if headers["X-ncApi"] != API_KEY or headers["X-ncUser"] != USER_KEY:
            return 401, {"Message": "Authorization has been denied for this request."}, "application/json", {}
        handler = getattr(self, "_" + name.replace("/", "_"))
        status, payload = handler(method, query, body)
        return status, payload, "application/json; charset=utf-8", {}

    # -- contacts --------------------------------------------------------------------------

    def _ncContact_GetUpdated(self, method, query, body):
        return 200, self._updated(self.contacts, query)

    def _updated(self, table, query):
        since = int(query.get("updated", 0))
        start, size = int(query.get("s", 0)), int(query.get("l", 20))
        if size > 100:
            return {"Length": 0, "List": []}
        rows = sorted((c for c in table.values() if c["DUpdated"] >= since), key=lambda c: (c["DUpdated"], c["Guid"]))
        return {"Length": len(rows), "List": [dict(c) for c in rows[start:start + size]]}

    def _ncContact_GetOne(self, method, query, body):
        contact = self.contacts.get(query.get("id", ""))
        if contact is None:
            return 404, {"Message": f"No contact with id {query.get('id')}"}
        return 200, dict(contact)

    def _ncContact_PostMany(self, method, query, body):
        status, payload = self._post_many(self.contacts, query, body, "EMail")
        if status == 200:
            key = query.get("thirduniqueproperty", "Extcode")
            for guid in payload["Result"]:
                contact = self.contacts.get(guid) if guid else None
                reference = contact.get("Third") if contact else None
                if isinstance(reference, dict) and reference.get(key) and "Guid" not in reference:
                    third = next((t for t in self.thirds.values() if str(t.get(key)) == str(reference[key])), None)
                    contact["Third"] = {"Guid": third["Guid"], "Label": third.get("Label")} if third else None
        return status, payload

    def _post_many(self, table, query, body, email_key):
        items = body if isinstance(body, list) else None
        if items is None:
            return 400, {"Success": False, "Message": "The body must be a JSON array.", "Errors": []}
        if len(items) > 100:
            return 400, {"Success": False, "Message": "A maximum of 100 is accepted per api call.", "Errors": []}
        unique = query.get("uniqueproperty", "")
        if unique not in ("Extcode", "Email", "Guid"):
            return 400, {"Success": False, "Message": f"Unknown uniqueproperty {unique!r}.", "Errors": []}
        errors, guids = [], []
        for index, item in enumerate(items):
            problem = invalid(item, email_key)
            if problem:
                errors.append({"Index": index, "Extcode": item.get("Extcode"), "Message": problem})
            guids.append(None)  # filled below when the object is accepted
        if errors and self.strict_batches:
            return 400, {"Success": False, "Message": errors[0]["Message"], "Errors": errors}
        for index, item in enumerate(items):
            if any(e["Index"] == index for e in errors):
                continue
            guids[index] = self._upsert(table, item, unique, email_key)["Guid"]
        return 200, {"Success": not errors, "Result": guids, "Message": "" if not errors else "Some objects were refused",
                     "Errors": errors}

    def _upsert(self, table, item, unique, email_key):
        key = {"Extcode": "Extcode", "Email": email_key, "Guid": "Guid"}[unique]
        target = None
        if item.get(key):
            target = next((c for c in table.values() if str(c.get(key) or "").lower() == str(item[key]).lower()), None)
        if target is None:
            target = {"Guid": self.new_guid(), "Tags": [], "MoreFields": [], "Unsuscribe": False, "InvalidMail": False}
            table[target["Guid"]] = target
        for name, value in item.items():
            if name == "Guid":
                continue
            if name == "MoreFields":
                merged = {f["FieldId"]: f for f in target.get("MoreFields") or []}
                merged.update({f["FieldId"]: f for f in value or []})
                target["MoreFields"] = list(merged.values())
            else:
                target[name] = value
        target["DUpdated"] = self.now()
        return target

    # -- accounts ----------------------------------------------------------------------------

    def _ncThird_PostMany(self, method, query, body):
        return self._post_many(self.thirds, query, body, "EMail")

    def _ncThird_GetUpdated(self, method, query, body):
        return 200, self._updated(self.thirds, query)

    def _ncThird_GetOneByKey(self, method, query, body):
        key, value = query.get("uniqueproperty", ""), query.get("value", "")
        field_name = {"Email": "EMail"}.get(key, key)
        third = next((t for t in self.thirds.values() if str(t.get(field_name) or "").lower() == value.lower()), None)
        if third is None:
            return 404, {"Message": "Not found"}
        return 200, dict(third)

    def _ncThird_GetStatus(self, method, query, body):
        status = query.get("status", "")
        rows = [dict(t) for t in self.thirds.values() if (t.get("Status") or "") == status]
        return 200, {"Length": len(rows), "List": rows}

    # -- emailing ------------------------------------------------------------------------------

    def _ncEMailing_Unsubscribe(self, method, query, body):
        email = (body or {}).get("email", "")
        if not email:
            return 400, {"Success": False, "Message": "email is required"}
        self.unsubscribed.append(email)
        for contact in self.contacts.values():
            if str(contact.get("EMail") or "").lower() == email.lower():
                contact["Unsuscribe"] = True
                contact["DUpdated"] = self.now()
        return 200, {"Success": True, "Result": None, "Message": ""}


def invalid(item: dict, email_key: str) -> str:
    """Koban-like validation of one posted object ("" when fine)."""
    email = item.get(email_key)
    if email and "@" not in email:
        return f"EMail {email} is not valid"
    phone = item.get("Phone")
    if phone and not all(ch.isdigit() or ch in " +.-()" for ch in str(phone)):
        return f"Phone {phone} is not a valid phone number"
    return ""


KNOWN = {"ncContact/GetUpdated", "ncContact/GetOne", "ncContact/PostMany", "ncThird/PostMany", "ncThird/GetUpdated",
         "ncThird/GetOneByKey", "ncThird/GetStatus", "ncEMailing/Unsubscribe"}


def path_known(name: str) -> bool:
    return name in KNOWN


@pytest.fixture
def koban():
    """The fake Koban on a loopback port: ``koban.api`` (the FakeKoban),
    ``koban.url`` (base URL ending in /api/v1)."""
    api = FakeKoban()
    with serve(api) as port:
        yield types.SimpleNamespace(api=api, url=f"http://127.0.0.1:{port}/api/v1", port=port)
