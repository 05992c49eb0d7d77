"""The gateway's webhooks, public and signed: inbound replies (STOP) and
delivery receipts. Both check ``X-Twilio-Signature`` against the URL
configured at the gateway, which is this instance's ``COUVEE_BASE_URL`` plus
the path (``/sms/hooks/inbound``, ``/sms/hooks/status``); an unsigned or
wrongly signed call gets 403 and changes nothing."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from core import csrf_exempt, external_url, public, write_or_defer

from .models import SmsSend
from .optout import is_start, is_stop, keyword, record_start, record_stop
from .phones import PhoneError, to_e164
from .provider import configured_provider

log = logging.getLogger("couvee.sms")
sms_hooks = Blueprint("sms_hooks", __name__, url_prefix="/sms/hooks")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
#: receipts in the order a message goes through them: an older receipt arriving late does not win
DELIVERY_ORDER = ("accepted", "queued", "sending", "sent", "receiving", "received",
                  "delivered", "undelivered", "failed", "read")


def _signed(endpoint: str) -> bool:
    provider = configured_provider()
    if provider is None:
        return False
    url = external_url(endpoint)
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    params = {key: request.form.get(key, "") for key in request.form}
    return provider.signature_valid(url, params, request.headers.get("X-Twilio-Signature", ""))


def _refused() -> Response:
    return Response("invalid or missing X-Twilio-Signature\n", status=403, mimetype="text/plain")


@sms_hooks.route("/inbound", methods=["POST"])
@public
@csrf_exempt
def inbound():
    """A reply to one of our numbers: ``From``, ``Body``. STOP words record
    the opposition, START words lift it; other replies are ignored."""
    if not _signed("sms_hooks.inbound"):
        return _refused()
    body = request.form.get("Body", "")
    action = record_stop if is_stop(body) else record_start if is_start(body) else None
    if action is not None:
        try:
            phone = to_e164(request.form.get("From", ""))
        except PhoneError as error:
            log.warning("%s from an unreadable number: %s", keyword(body), error)
        else:
            write_or_defer(action, phone, keyword(body)[:40])
    return Response(EMPTY_TWIML, mimetype="text/xml")


def record_receipt(sid: str, status: str, error_code: str) -> int:
    row = SmsSend.get_or_none(SmsSend.provider_id == sid)
    if row is None:
        return 0
    known = DELIVERY_ORDER.index(row.delivery) if row.delivery in DELIVERY_ORDER else -1
    if status in DELIVERY_ORDER and DELIVERY_ORDER.index(status) < known:
        return 0
    values = {"delivery": status[:40]}
    if error_code:
        values["reason"] = f"delivery error {error_code[:20]}"
    return SmsSend.update(**values).where(SmsSend.id == row.id).execute()


@sms_hooks.route("/status", methods=["POST"])
@public
@csrf_exempt
def status():
    """A delivery receipt: ``MessageSid``, ``MessageStatus`` (and ``ErrorCode``)."""
    if not _signed("sms_hooks.status"):
        return _refused()
    sid, state = request.form.get("MessageSid", ""), request.form.get("MessageStatus", "")
    if not sid or not state:
        return Response("MessageSid and MessageStatus are required\n", status=400, mimetype="text/plain")
    write_or_defer(record_receipt, sid, state.strip().lower(), request.form.get("ErrorCode", ""))
    answer = Response(status=204)
    answer.headers.pop("Content-Type", None)
    return answer
