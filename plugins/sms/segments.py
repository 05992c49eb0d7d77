"""How many SMS segments a text takes, and in which encoding.

A text whose every character is in the GSM 03.38 default alphabet (its basic
table, plus the extension table reached through an escape, which costs two
septets: ``^ { } [ ] ~ \\ | €`` and form feed) is sent in GSM-7: 160 septets
in a single SMS, 153 per segment once it is split (the user data header takes
the rest). Any other character (an emoji, ``ê``, a typographic apostrophe
``’``) switches the whole text to UCS-2: 70 UTF-16 code units in a single
SMS, 67 per segment. A two-septet character or a surrogate pair is never cut
between two segments, so a long text can take one segment more than a plain
division says::

    count("Bonjour Ada")          # Count(encoding="GSM-7", units=11, segments=1, per_segment=160)
    count("Café ? Oui ! 😀")       # UCS-2, because of the emoji
"""
from __future__ import annotations

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

#: GSM 03.38 basic table (the escape 0x1B left out: it is not a character)
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: GSM 03.38 extension table: escape + one septet each
EXTENSION = frozenset("\f^{}\\[~]|€")

LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class Count:
    encoding: str
    #: septets (GSM-7) or UTF-16 code units (UCS-2)
    units: int
    segments: int
    #: capacity of one segment for this text (160/153 or 70/67)
    per_segment: int

    def cost(self, price_per_segment: float) -> float:
        """What sending it to one recipient costs."""
        return round(self.segments * price_per_segment, 4)


def is_gsm7(text: str) -> bool:
    """Can ``text`` be sent in the GSM-7 alphabet?"""
    return all(char in BASIC or char in EXTENSION for char in text)


def _widths(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if char in EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def count(text: str) -> Count:
    """The encoding, size and number of segments of ``text`` (0 segments for an empty text)."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    widths = _widths(text, encoding)
    units = sum(widths)
    single, multi = LIMITS[encoding]
    if units == 0:
        return Count(encoding, 0, 0, single)
    if units <= single:
        return Count(encoding, units, 1, single)
    segments, used = 1, 0
    for width in widths:
        if used + width > multi:  # the character does not fit whole: it opens the next segment
            segments += 1
            used = 0
        used += width
    return Count(encoding, units, segments, multi)
