"""A small, strict client for Koban's public REST API (``/api/v1``).

Koban authenticates every call with two headers, ``X-ncApi`` (the account's
API key) and ``X-ncUser`` (a user's key); both are under Koban's
*Parameters > API*. Answers come in three shapes:

- a list envelope ``{"Length": total, "List": [...]}`` (``GetUpdated``...),
- a result envelope ``{"Success": bool, "Result": ..., "Message": ..., "Errors": [...]}``
  (``PostMany``, ``Unsubscribe``),
- or an object (``GetOne``).

Failures come as ``Success: false``, as HTTP 4xx/5xx, or as an HTML page
(a proxy or Koban's own error page). Each becomes a :class:`KobanError`
subclass with a message a user can act on. 429 and 5xx are retried here a
couple of times with a polite pause (``Retry-After`` honoured); the jobs add a
slower exponential backoff on top.
"""
from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

DEFAULT_BASE_URL = "https://app-koban.com/api/v1"
#: PostMany accepts at most this many objects per call
MAX_BATCH = 100
USER_AGENT = "Couvee-crm_koban_sync/1.0"


class KobanError(Exception):
    """Something went wrong talking to Koban; ``str()`` is meant for users."""

    status: int | None = None

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class KobanAuthError(KobanError):
    """Koban refused the keys (HTTP 401/403). Retrying will not help."""


class KobanUnavailable(KobanError):
    """Koban is down, slow or asked us to slow down (5xx, 429, timeouts,
    network errors). Worth retrying later."""


class KobanBadRequest(KobanError):
    """Koban refused the data (HTTP 4xx other than auth, or ``Success: false``)."""

    def __init__(self, message: str, status: int | None = None, errors: list | None = None):
        super().__init__(message, status)
        self.errors = errors or []


class KobanNotFound(KobanBadRequest):
    """HTTP 404: the object (or the endpoint) does not exist."""


@dataclass
class PostResult:
    """What ``PostMany`` said: one Guid (or ``None``) per object sent, and
    the error messages Koban gave, keyed by the object's position."""

    guids: list[str | None]
    errors: dict[int, str] = field(default_factory=dict)
    message: str = ""


def _looks_like_html(content_type: str, body: bytes) -> bool:
    head = body[:200].lstrip().lower()
    return "html" in content_type.lower() or head.startswith(b"<!doctype") or head.startswith(b"<html")


def _html_title(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    lower = text.lower()
    start, end = lower.find("<title>"), lower.find("</title>")
    if start != -1 and end > start:
        return " ".join(text[start + 7:end].split())[:120]
    return ""


def _retry_after(headers) -> float | None:
    raw = headers.get("Retry-After") if headers is not None else None
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class KobanClient:
    """One Koban account. ``sleep`` is injectable so tests never wait."""

    def __init__(self, api_key: str, user_key: str, base_url: str = DEFAULT_BASE_URL, timeout: float = 20.0,
                 attempts: int = 3, pause: float = 0.5, max_pause: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep):
        if not api_key or not user_key:
            raise KobanAuthError("The Koban API key and user key are both required (Koban: Parameters > API).")
        base_url = (base_url or DEFAULT_BASE_URL).strip().rstrip("/")
        if not base_url.startswith(("https://", "http://")):
            raise KobanError(f"The Koban base URL must start with https:// (got {base_url!r}).")
        self.api_key, self.user_key, self.base_url = api_key.strip(), user_key.strip(), base_url
        self.timeout, self.attempts, self.pause, self.max_pause = timeout, max(1, attempts), pause, max_pause
        self.sleep = sleep
        #: number of HTTP requests made (the sync log shows it)
        self.requests = 0

    # -- transport ---------------------------------------------------------------------

    def _request(self, method: str, path: str, params: dict | None = None, json_body: Any = None,
                 form: dict | None = None) -> Any:
        url = f"{self.base_url}/{path.lstrip('/')}"
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        headers = {"X-ncApi": self.api_key, "X-ncUser": self.user_key, "Accept": "application/json",
                   "User-Agent": USER_AGENT}
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        last: KobanUnavailable | None = None
        for attempt in range(self.attempts):
            if attempt:
                wait = last.retry_after if getattr(last, "retry_after", None) is not None \
                    else self.pause * (2 ** (attempt - 1))
                self.sleep(min(wait, self.max_pause))
            try:
                return self._once(method, url, path, headers, data)
            except KobanUnavailable as error:
                last = error
        raise last

    def _once(self, method: str, url: str, path: str, headers: dict, data: bytes | None) -> Any:
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, body, content_type = response.status, response.read(), response.headers.get("Content-Type", "")
                response_headers = response.headers
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read() or b""
            content_type, response_headers = error.headers.get("Content-Type", "") if error.headers else "", error.headers
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise KobanUnavailable(f"Could not reach Koban at {self.base_url} ({reason}).") from None
        return self._decode(status, body, content_type, response_headers, path)

    def _decode(self, status: int, body: bytes, content_type: str, headers, path: str) -> Any:
        if status in (401, 403):
            raise KobanAuthError(
                f"Koban refused the API key or user key (HTTP {status}) on {path}. "
                "Check both keys under Koban's Parameters > API.", status)
        if status == 429 or status >= 500:
            title = _html_title(body) if _looks_like_html(content_type, body) else body[:120].decode("utf-8", "replace")
            what = "asked us to slow down" if status == 429 else "had a server error"
            error = KobanUnavailable(f"Koban {what} (HTTP {status}) on {path}" + (f": {title}" if title else "."), status)
            error.retry_after = _retry_after(headers)
            raise error
        if _looks_like_html(content_type, body):
            title = _html_title(body)
            raise KobanBadRequest(
                f"Koban answered {path} with an HTML page instead of JSON (HTTP {status}"
                + (f", “{title}”" if title else "") + "). Is the base URL right (it ends with /api/v1)?", status)
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else None
        except ValueError:
            raise KobanBadRequest(f"Koban answered {path} with something that is not JSON (HTTP {status}).",
                                  status) from None
        if status == 404:
            raise KobanNotFound(f"Koban says {path} was not found (HTTP 404)"
                                + (f": {_message_of(payload)}" if _message_of(payload) else "."), status)
        if status >= 400:
            raise KobanBadRequest(f"Koban refused the request to {path} (HTTP {status})"
                                  + (f": {_message_of(payload)}" if _message_of(payload) else "."),
                                  status, errors=_errors_of(payload))
        if isinstance(payload, dict) and payload.get("Success") is False:
            errors = _errors_of(payload)
            if not any(isinstance(e, dict) and ("Index" in e or "Extcode" in e) for e in errors):
                raise KobanBadRequest(f"Koban refused the request to {path}: "
                                      + (_message_of(payload) or "Success: false without a message."),
                                      status, errors=errors)
        return payload

    # -- contacts ----------------------------------------------------------------------

    def contacts_updated(self, since: int, start: int = 0, length: int = 100) -> tuple[int, list[dict]]:
        """``GET ncContact/GetUpdated``: contacts created or changed since
        ``since`` (unix seconds), one page. Returns ``(total, page)``."""
        return _page(self._request("GET", "ncContact/GetUpdated",
                                   {"updated": int(since), "s": int(start), "l": int(length)}), "ncContact/GetUpdated")

    def contact(self, guid: str) -> dict:
        """``GET ncContact/GetOne?id=<Guid>``."""
        payload = self._request("GET", "ncContact/GetOne", {"id": guid})
        if not isinstance(payload, dict):
            raise KobanBadRequest(f"Koban returned no contact for {guid}.")
        return payload.get("Result") if isinstance(payload.get("Result"), dict) else payload

    def post_contacts(self, contacts: list[dict], unique: str = "Extcode", third_unique: str = "Extcode") -> PostResult:
        """``POST ncContact/PostMany``: create or update up to 100 contacts,
        matched on ``unique`` (``Extcode`` or ``Email``)."""
        return self._post_many("ncContact/PostMany", contacts,
                               {"uniqueproperty": unique, "thirduniqueproperty": third_unique})

    # -- accounts ("Third") --------------------------------------------------------------

    def post_thirds(self, thirds: list[dict], unique: str = "Extcode") -> PostResult:
        """``POST ncThird/PostMany``: create or update up to 100 accounts."""
        return self._post_many("ncThird/PostMany", thirds, {"uniqueproperty": unique})

    def thirds_updated(self, since: int, start: int = 0, length: int = 100) -> tuple[int, list[dict]]:
        """``GET ncThird/GetUpdated``: accounts changed since ``since``."""
        return _page(self._request("GET", "ncThird/GetUpdated",
                                   {"updated": int(since), "s": int(start), "l": int(length)}), "ncThird/GetUpdated")

    def third_by_key(self, property_name: str, value: str) -> dict | None:
        """``GET ncThird/GetOneByKey``; ``None`` when Koban has no such account."""
        try:
            payload = self._request("GET", "ncThird/GetOneByKey", {"uniqueproperty": property_name, "value": value})
        except KobanNotFound:
            return None
        if isinstance(payload, dict) and isinstance(payload.get("Result"), dict):
            return payload["Result"]
        return payload or None

    def thirds_with_status(self, status: str) -> list[dict]:
        """``GET ncThird/GetStatus?status=CLI``: the accounts in a status."""
        payload = self._request("GET", "ncThird/GetStatus", {"status": status})
        if isinstance(payload, dict) and "List" in payload:
            return list(payload.get("List") or [])
        if isinstance(payload, dict) and isinstance(payload.get("Result"), list):
            return payload["Result"]
        if isinstance(payload, list):
            return payload
        raise KobanBadRequest("Koban's ncThird/GetStatus answer has no list of accounts.")

    # -- emailing ------------------------------------------------------------------------

    def unsubscribe(self, email: str) -> None:
        """``POST ncEMailing/Unsubscribe`` (form field ``email``)."""
        self._request("POST", "ncEMailing/Unsubscribe", form={"email": email})

    # -- helpers -------------------------------------------------------------------------

    def _post_many(self, path: str, items: list[dict], params: dict) -> PostResult:
        if len(items) > MAX_BATCH:
            raise ValueError(f"{path} accepts at most {MAX_BATCH} objects per call ({len(items)} given)")
        if not items:
            return PostResult(guids=[])
        payload = self._request("POST", path, params, json_body=items) or {}
        result = payload.get("Result") if isinstance(payload, dict) else None
        guids = list(result) if isinstance(result, list) else [None] * len(items)
        guids += [None] * (len(items) - len(guids))
        errors = _indexed_errors(_errors_of(payload), items)
        return PostResult(guids=guids[: len(items)], errors=errors, message=_message_of(payload))

    def count_contacts(self) -> int:
        """Test the connection: a one-item ``GetUpdated``. Returns how many
        contacts the account holds; raises :class:`KobanError` otherwise."""
        total, _ = self.contacts_updated(since=0, start=0, length=1)
        return total

    def check(self) -> str:
        """:meth:`count_contacts` said in a sentence (English, for logs and the CLI)."""
        return f"Connected to Koban at {self.base_url}: the account holds {self.count_contacts()} contact(s)."


def _page(payload: Any, path: str) -> tuple[int, list[dict]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("List", []), list):
        raise KobanBadRequest(f"Koban's {path} answer is not a {{Length, List}} page.")
    items = payload.get("List") or []
    return int(payload.get("Length") or len(items)), items


def _message_of(payload: Any) -> str:
    if isinstance(payload, dict):
        for key in ("Message", "message", "ExceptionMessage"):
            if payload.get(key):
                return str(payload[key])[:500]
        errors = _errors_of(payload)
        if errors:
            return "; ".join(_error_text(e) for e in errors)[:500]
    return ""


def _errors_of(payload: Any) -> list:
    if isinstance(payload, dict) and isinstance(payload.get("Errors"), list):
        return payload["Errors"]
    return []


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("Message") or error.get("message") or error)
    return str(error)


def _indexed_errors(errors: list, items: list[dict]) -> dict[int, str]:
    """Koban's per-object errors name the object by ``Index`` or by
    ``Extcode``; map them to positions in what we sent."""
    by_extcode = {str(item.get("Extcode")): i for i, item in enumerate(items) if item.get("Extcode") is not None}
    found: dict[int, str] = {}
    for error in errors:
        if not isinstance(error, dict):
            continue
        index = error.get("Index")
        if index is None and error.get("Extcode") is not None:
            index = by_extcode.get(str(error["Extcode"]))
        if isinstance(index, int) and 0 <= index < len(items):
            found[index] = _error_text(error)
    return found
