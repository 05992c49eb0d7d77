"""The per-field decision of a three-way merge, shared by the contact and
the account pulls: compare Koban's value, ours and the value both sides
agreed on at the last sync."""
from __future__ import annotations


def decide(theirs, ours, agreed) -> str:
    """``same`` (nothing to do), ``take`` (only Koban changed), ``keep`` (only
    ours changed) or ``conflict`` (both changed; no agreed value counts as both).

    >>> decide("b", "a", "a"), decide("a", "b", "a"), decide("b", "c", "a"), decide("a", "a", None)
    ('take', 'keep', 'conflict', 'same')
    """
    if theirs == ours:
        return "same"
    remote_changed = agreed is None or theirs != agreed
    local_changed = agreed is None or ours != agreed
    if remote_changed and local_changed:
        return "conflict"
    return "take" if remote_changed else "keep"
