"""The suppression list's set-based check (what an import asks for each batch
of new addresses): the same answer as hashing each address on its own, found
whatever the case and spacing, and nothing when the list is empty."""
from __future__ import annotations

from plugins.gdpr.models import Suppression
from plugins.gdpr.suppression import REASON, email_hash, suppress, suppressed


def test_suppressed_finds_listed_addresses_in_any_spelling_and_only_them(ctx):
    addresses = [f"person{i}@exemple.fr" for i in range(2500)]  # more than one query chunk
    assert suppressed(addresses) == {}  # an empty list answers without hashing
    for listed in ("person7@exemple.fr", "Person2400@EXEMPLE.fr", "zoé@exémple.fr"):
        suppress(listed)
    asked = addresses + ["  PERSON7@exemple.fr ", "Zoé@Exémple.FR", "not an address", "other@exemple.fr"]
    assert suppressed(asked) == {"person7@exemple.fr": REASON, "person2400@exemple.fr": REASON,
                                 "  PERSON7@exemple.fr ": REASON, "Zoé@Exémple.FR": REASON}
    stored = {row.email_hash for row in Suppression.select()}
    assert stored == {email_hash(a) for a in ("person7@exemple.fr", "person2400@exemple.fr", "zoé@exémple.fr")}
