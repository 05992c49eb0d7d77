"""Why a line of an import was reported, kept as message ids with their
parameters so that the report speaks the language of whoever reads it.

The worker writes the English text (``ImportRowError.reason``, what the
``couvee import`` command and older reports show) and the messages
themselves (``ImportRowError.detail``); the report translates the messages
when it is downloaded. Texts that come from core (a field type's validation
error, a plugin's suppression reason) are parameters and shown as written.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core import translation_domain


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue; it is translated when shown."""
    return message


@dataclass
class Reason:
    """One or more messages, each an English message id and its named
    parameters, shown joined with "; "."""

    #: (message id, params), or (text, None) for a text shown as written
    parts: list[tuple[str, dict | None]] = field(default_factory=list)

    @classmethod
    def of(cls, message: str, **params) -> "Reason":
        return cls([(message, params)])

    @classmethod
    def verbatim(cls, text: str) -> "Reason":
        """A text that is not ours to translate (e.g. another plugin's reason)."""
        return cls([(text, None)])

    @classmethod
    def joined(cls, reasons: list["Reason"]) -> "Reason":
        return cls([part for reason in reasons for part in reason.parts])

    @classmethod
    def from_data(cls, data) -> "Reason | None":
        if not data:
            return None
        return cls([(message, params) for message, params in data])

    def as_data(self) -> list:
        return [[message, params] for message, params in self.parts]

    def english(self) -> str:
        return "; ".join(message % params if params else message for message, params in self.parts)

    def translated(self) -> str:
        gettext = translation_domain(__name__).gettext
        return "; ".join(message if params is None else gettext(message, **params) for message, params in self.parts)

    def __str__(self) -> str:
        return self.english()
