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
    parameters, shown joined with "; ". A parameter may itself be a
    :class:`Reason` (a file column's refusal inside "column: ..."), shown in
    the same language."""

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
        return cls([(message, _params(params, _param_from_data)) for message, params in data])

    def as_data(self) -> list:
        return [[message, _params(params, _param_as_data)] for message, params in self.parts]

    def english(self) -> str:
        return "; ".join(message % _shown(params, Reason.english) if params else message
                         for message, params in self.parts)

    def translated(self) -> str:
        gettext = translation_domain(__name__).gettext
        return "; ".join(message if params is None else gettext(message, **_shown(params, Reason.translated))
                         for message, params in self.parts)

    def __str__(self) -> str:
        return self.english()


#: how a nested reason is kept among a message's parameters
_NESTED = "reason"


def _param_as_data(value):
    return {_NESTED: value.as_data()} if isinstance(value, Reason) else value


def _param_from_data(value):
    return Reason.from_data(value[_NESTED]) if isinstance(value, dict) and _NESTED in value else value


def _params(params: dict | None, convert) -> dict | None:
    return None if params is None else {key: convert(value) for key, value in params.items()}


def _shown(params: dict, render) -> dict:
    """The parameters with nested reasons rendered by ``render``."""
    return {key: render(value) if isinstance(value, Reason) else value for key, value in params.items()}
