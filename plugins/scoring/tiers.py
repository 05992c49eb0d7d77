"""Score tiers (cold / warm / hot) with editable thresholds, the settings row
that holds them (and the decay), the ``points_tier`` segment filter and the
distribution of scores for the chart."""
from __future__ import annotations

from peewee import fn

from core import Contact, SegmentFilter, Setting, translation_domain, utcnow

from .models import DECAY_MODES, ScoringSettings

_, _l = translation_domain(__name__).pair()

TIERS = {"cold": _l("Cold"), "warm": _l("Warm"), "hot": _l("Hot")}
LIMIT = 10**9


class TierFilterError(ValueError):
    """Bad segment filter parameters (shown to the user by the segment editor)."""


def current() -> ScoringSettings:
    """The saved settings, or the defaults when never saved."""
    return ScoringSettings.get_or_none(ScoringSettings.id == 1) or ScoringSettings(id=1)


def tier_of(points: int, settings: ScoringSettings | None = None) -> str:
    settings = settings or current()
    if points >= settings.hot_from:
        return "hot"
    if points >= settings.warm_from:
        return "warm"
    return "cold"


def tier_expression(tier: str, settings: ScoringSettings | None = None):
    """A peewee expression over ``Contact`` selecting one tier."""
    settings = settings or current()
    column = Contact.points
    if tier == "hot":
        return column >= settings.hot_from
    if tier == "warm":
        return (column >= settings.warm_from) & (column < settings.hot_from)
    return column < settings.warm_from


def compile_tier(params: dict):
    """``{"operator": "is"|"is_not", "value": "cold"|"warm"|"hot"}``."""
    operator = params.get("operator") or "is"
    if operator not in ("is", "is_not"):
        raise TierFilterError(_("Choose “is” or “is not”."))
    tier = str(params.get("value") or "").strip().lower()
    if tier not in TIERS:
        raise TierFilterError(_("Choose a score tier: cold, warm or hot."))
    expression = tier_expression(tier)
    return expression if operator == "is" else ~expression


def tier_filter() -> SegmentFilter:
    return SegmentFilter(
        "points_tier", _l("Score tier"), compile_tier,
        [Setting("operator", _l("Operator"), kind="choice", required=True,
                 choices=[("is", _l("is")), ("is_not", _l("is not"))]),
         Setting("value", _l("Tier"), kind="choice", required=True, choices=list(TIERS.items()),
                 help=_l("Thresholds are set in Points > Settings."))],
        changed_by=("points_changed",),
    )


# --- settings form ------------------------------------------------------------------


def _field_errors(key: str, low: int, high: int) -> tuple[str, str]:
    """The two errors of a number field of the form: not a whole number, out of range."""
    if key == "warm_from":
        return (_("Warm from must be a whole number."),
                _("Warm from must be between %(low)s and %(high)s.", low=low, high=high))
    if key == "hot_from":
        return (_("Hot from must be a whole number."),
                _("Hot from must be between %(low)s and %(high)s.", low=low, high=high))
    if key == "decay_percent":
        return (_("The share lost must be a whole number."),
                _("The share lost must be between %(low)s and %(high)s.", low=low, high=high))
    if key == "decay_period_days":
        return (_("The period without interaction must be a whole number."),
                _("The period without interaction must be between %(low)s and %(high)s.", low=low, high=high))
    return (_("The lifetime of points must be a whole number."),
            _("The lifetime of points must be between %(low)s and %(high)s.", low=low, high=high))


def _whole(values: dict, key: str, errors: dict, low: int, high: int) -> int:
    text = str(values.get(key, "")).strip()
    not_whole, out_of_range = _field_errors(key, low, high)
    try:
        number = int(text)
    except ValueError:
        errors[key] = not_whole
        return 0
    if not low <= number <= high:
        errors[key] = out_of_range
    return number


def save(values: dict) -> tuple[ScoringSettings, dict]:
    """Validate and store the settings form; nothing is stored on error."""
    errors: dict[str, str] = {}
    row = current()
    row.warm_from = _whole(values, "warm_from", errors, -LIMIT, LIMIT)
    row.hot_from = _whole(values, "hot_from", errors, -LIMIT, LIMIT)
    if not errors and row.hot_from <= row.warm_from:
        errors["hot_from"] = _("Hot must start above warm.")
    row.decay_mode = str(values.get("decay_mode") or "off")
    if row.decay_mode not in DECAY_MODES:
        errors["decay_mode"] = _("Choose a kind of decay.")
    row.decay_percent = _whole(values, "decay_percent", errors, 1, 100)
    row.decay_period_days = _whole(values, "decay_period_days", errors, 1, 3650)
    row.expire_days = _whole(values, "expire_days", errors, 1, 36500)
    if errors:
        return row, errors
    row.updated_at = utcnow()
    if ScoringSettings.get_or_none(ScoringSettings.id == 1) is None:
        row.save(force_insert=True)
    else:
        row.save()
    return row, {}


# --- distribution ---------------------------------------------------------------------


def tier_counts(settings: ScoringSettings | None = None) -> dict[str, int]:
    settings = settings or current()
    return {tier: Contact.select().where(tier_expression(tier, settings)).count() for tier in TIERS}


def distribution(buckets: int = 20) -> list[tuple[int, int, int]]:
    """``[(low, high, contacts)]`` covering every score, in one grouped query."""
    low, high = Contact.select(fn.MIN(Contact.points), fn.MAX(Contact.points)).scalar(as_tuple=True)
    if low is None:
        return []
    width = max(1, -(-(high - low + 1) // buckets))
    bucket = ((Contact.points - low) / width)
    counts = {int(row[0]): row[1] for row in
              Contact.select(bucket.alias("b"), fn.COUNT(Contact.id)).group_by(bucket).tuples()}
    count_of_buckets = (high - low) // width + 1
    return [(low + i * width, low + (i + 1) * width - 1, counts.get(i, 0)) for i in range(count_of_buckets)]
