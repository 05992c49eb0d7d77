"""One message to one recipient, sent through a channel from the registry.

Plugins that need to send something (a double opt-in confirmation, a
smart-content pick, a data-export link, an owner notification) build a
:class:`Message` and call :func:`send_message`; whichever plugin registered
the channel (``email`` is the email plugin's) delivers it. No plugin imports
another to send::

    from core import Message, send_message

    result = send_message(Message(
        to=contact.email, contact=contact, kind="forms.double_opt_in",
        purpose="transactional", subject="Confirm your subscription",
        html=html, key=f"doi:{form.id}:{contact.id}",
    ))
    if result.status == "skipped":
        log.info("not sent: %s", result.reason)

``send_message`` first asks ``contact_can_receive`` (when the message names a
contact): a veto gives ``status="skipped"`` with the reason the vetoing plugins
give through ``contact_receive_refusals`` ("no consent for email_marketing
(gdpr)"), nothing sent.
Call it from a worker job: channels may talk to remote servers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from flask import current_app

from .audience import skip_reason
from .contacts import can_receive
from .models import Contact


@dataclass
class Message:
    """What a channel needs to deliver one message.

    - ``kind``: the message type, ``<plugin>.<name>`` (``forms.double_opt_in``,
      ``smart_content.pick``, ``workflow.notify``); shown in send logs.
    - ``purpose``: ``marketing`` or ``transactional`` (or a finer consent
      purpose such as ``email_marketing``), passed to ``contact_can_receive``.
    - ``key``: idempotency key; a channel sends at most once per ``key``
      (retried jobs don't send twice). Empty means no deduplication.
    - ``track``: the channel may add open/click tracking and UTM parameters.
    - ``html`` and/or ``text``: the body; a channel derives the missing one.
    """

    to: str
    subject: str
    html: str = ""
    text: str = ""
    contact: Optional[Contact] = None
    kind: str = "transactional"
    purpose: str = "transactional"
    key: str = ""
    sender_name: str = ""
    sender_email: str = ""
    reply_to: str = ""
    headers: dict = field(default_factory=dict)
    track: bool = False
    metadata: dict = field(default_factory=dict)


@dataclass
class SendResult:
    """``status`` is ``sent``, ``skipped`` (vetoed, duplicate key, no address)
    or ``failed``; ``reason`` says why when not sent.

    ``retry`` is True on a failure that says nothing about the message or the
    recipient (the channel's server unreachable, a temporary refusal, a rate
    limit): the same message sent again later, with the same ``key``, may go
    through. Callers that can wait do so, through :meth:`raise_for_retry` (a
    workflow step raising is retried by the engine with its backoff)."""

    status: str
    reason: str = ""
    provider_id: Any = None
    #: what the channel reports about a delivered message (a test send: the server's answer)
    detail: str = ""
    #: the failure is temporary: try the same message again later (see above)
    retry: bool = False

    @property
    def sent(self) -> bool:
        return self.status == "sent"

    def describe(self) -> str:
        """For logs: ``sent``, or ``skipped: <reason>`` / ``failed: <reason>``."""
        return f"{self.status}: {self.reason}" if self.reason else self.status

    def raise_for_retry(self) -> "SendResult":
        """Raise :class:`SendLater` when the failure is temporary (``retry``),
        so that the RQ job or workflow step that sent the message is tried
        again later (with the same ``key``, it goes once); else return itself::

            return send_message(message).raise_for_retry().status
        """
        if self.retry:
            raise SendLater(f"not sent for now: {self.reason}")
        return self


class SendLater(RuntimeError):
    """A message could not go for now (see :meth:`SendResult.raise_for_retry`)."""


def channel_available(channel: str = "email") -> bool:
    """Is a channel with this id registered by an active plugin?"""
    return channel in current_app.extensions["couvee"].registries.channels


def send_message(message: Message, channel: str = "email") -> SendResult:
    """Deliver ``message`` through ``channel`` after the consent check."""
    registry = current_app.extensions["couvee"].registries.channels
    handler = registry.get(channel)
    if handler is None:
        return SendResult("failed", f"no '{channel}' channel is available (is its plugin active?)")
    if not (message.to or "").strip():
        return SendResult("skipped", "no address")
    if message.contact is not None:
        allowed, vetoes = can_receive(message.contact, channel, message.purpose)
        if not allowed:
            return SendResult("skipped", skip_reason(message.contact, channel, message.purpose, vetoes))
    outcome = handler.send(message)
    if isinstance(outcome, SendResult):
        return outcome
    return SendResult("sent", provider_id=outcome)


def send_test_message(message: Message, channel: str = "email") -> SendResult:
    """Send a test of ``message`` now through ``channel``'s ``test`` (see
    :class:`core.SendChannel`): no consent check (a test goes to an address the
    admin typed, not to a contact), not tracked, not counted. Call it from the
    admin's request to show the server's answer (``detail``) or the error
    (``reason``) in the page."""
    handler = current_app.extensions["couvee"].registries.channels.get(channel)
    if handler is None:
        return SendResult("failed", f"no '{channel}' channel is available (is its plugin active?)")
    if getattr(handler, "test", None) is None:
        return SendResult("failed", f"the '{channel}' channel cannot send tests")
    if not (message.to or "").strip():
        return SendResult("failed", "no address")
    outcome = handler.test(message)
    return outcome if isinstance(outcome, SendResult) else SendResult("sent", provider_id=outcome)
