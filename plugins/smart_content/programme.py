"""The sending programme's settings: read, validate, save, and the calendar
questions the periodic job asks ("may we send now?", "due since when?").

Settings live in one row (:class:`ProgrammeRow`) as JSON; :class:`Programme`
gives them types and defaults. Validation returns a message per field so the
admin form shows each problem next to its input and nothing is stored.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import instance_timezone, translation_domain, utcnow

from .models import STAGES, ProgrammeRow
from .template import DEFAULT_SUBJECT, DEFAULT_TEMPLATE, TemplateError, check_template

_, _l = translation_domain(__name__).pair()

WEEKDAY_LABELS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))
#: the stages a segment can lead to, in the order the rules are tried (engagement is what is left)
GROUP_STAGES = ("loyalty", "transformation", "qualification")
_DATE = re.compile(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})$|^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?$")


@dataclasses.dataclass
class Programme:
    enabled: bool = False
    every_days: int = 10
    #: 0 = Monday ... 6 = Sunday
    weekdays: list = dataclasses.field(default_factory=lambda: [0, 1, 2, 3, 4])
    #: "MM-DD" (every year) or "YYYY-MM-DD"
    excluded_dates: list = dataclasses.field(default_factory=lambda: ["12-25", "01-01"])
    segment_ids: list = dataclasses.field(default_factory=list)
    subject: str = DEFAULT_SUBJECT
    template: str = DEFAULT_TEMPLATE
    hour_start: int = 9
    hour_end: int = 17
    #: an IANA name; empty = the instance time zone (Settings → General)
    timezone: str = ""
    # -- stage rules ------------------------------------------------------
    customer_field: str = "crm_status"
    customer_values: list = dataclasses.field(default_factory=lambda: ["customer", "client"])
    opportunity_field: str = "opportunity_status"
    opportunity_values: list = dataclasses.field(default_factory=lambda: ["open"])
    qualification_threshold: int = 50
    #: stage → ids of segments whose members are in that stage too (``GROUP_STAGES``), e.g.
    #: ``{"loyalty": [12]}`` with 12 a dynamic segment "account status is customer"
    stage_groups: dict = dataclasses.field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    @property
    def zone_name(self) -> str:
        """The programme's own time zone, else the instance's."""
        return self.timezone or instance_timezone()

    def local_now(self, now: dt.datetime | None = None) -> dt.datetime:
        return (now or utcnow()).astimezone(self.zone)

    def send_date(self, now: dt.datetime | None = None) -> dt.date:
        """The programme's "today" (in its time zone)."""
        return self.local_now(now).date()

    def closed_reason(self, now: dt.datetime | None = None) -> str:
        """Why nothing may be sent now, or "" when sending is allowed."""
        if not self.enabled:
            return _("the programme is disabled")
        local = self.local_now(now)
        if local.weekday() not in self.weekdays:
            return _("%(day)s is not an allowed weekday", day=WEEKDAY_LABELS[local.weekday()])
        if is_excluded(local.date(), self.excluded_dates):
            return _("%(date)s is an excluded date", date=local.date().isoformat())
        if not (self.hour_start <= local.hour < self.hour_end):
            return _("outside the sending hours (%(start)s:00–%(end)s:00 %(zone)s)", start=self.hour_start,
                     end=self.hour_end, zone=self.zone_name)
        return ""

    def due_before(self, now: dt.datetime | None = None) -> dt.datetime:
        """Contacts whose last marketing email is older than this are due: the
        last one was on day ``today - every_days`` or earlier (local days)."""
        today = self.send_date(now)
        first_blocked_day = today - dt.timedelta(days=self.every_days - 1)
        start = dt.datetime.combine(first_blocked_day, dt.time(0), tzinfo=self.zone)
        return start.astimezone(dt.timezone.utc)


def is_excluded(day: dt.date, excluded: list[str]) -> bool:
    return day.strftime("%m-%d") in excluded or day.isoformat() in excluded


def load() -> Programme:
    row = ProgrammeRow.get_or_none(ProgrammeRow.id == 1)
    values = dict(row.values or {}) if row else {}
    known = {f.name for f in dataclasses.fields(Programme)}
    return Programme(**{k: v for k, v in values.items() if k in known})


def store(programme: Programme) -> None:
    values = dataclasses.asdict(programme)
    ProgrammeRow.insert(id=1, values=values, updated_at=utcnow()).on_conflict(
        conflict_target=[ProgrammeRow.id], update={ProgrammeRow.values: values, ProgrammeRow.updated_at: utcnow()}
    ).execute()


class ProgrammeError(ValueError):
    """Invalid settings; ``errors`` maps a field name to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def parse_dates(text: str) -> tuple[list[str], list[str]]:
    """"25/12, 2025-07-14, 01-01" → (["12-25", "2025-07-14", "01-01"], bad entries)."""
    dates, bad = [], []
    for raw in re.split(r"[,\s;]+", text or ""):
        if not raw:
            continue
        match = _DATE.match(raw)
        if not match:
            bad.append(raw)
            continue
        if match.group(2):
            year, month, day = match.group(1), int(match.group(2)), int(match.group(3))
        else:
            day, month, year = int(match.group(4)), int(match.group(5)), match.group(6)
        try:
            dt.date(int(year) if year else 2024, month, day)  # 2024: a leap year accepts 29/02
        except ValueError:
            bad.append(raw)
            continue
        value = f"{int(year):04d}-{month:02d}-{day:02d}" if year else f"{month:02d}-{day:02d}"
        if value not in dates:
            dates.append(value)
    return dates, bad


def _words(text: str) -> list[str]:
    return [w.strip() for w in (text or "").split(",") if w.strip()]


def _field_errors(key: str, low: int, high: int) -> tuple[str, str]:
    """The two errors of a number field: not a whole number, out of range."""
    if key == "every_days":
        return (_("Frequency must be a whole number."),
                _("Frequency must be between %(low)s and %(high)s.", low=low, high=high))
    if key == "hour_start":
        return (_("Start hour must be a whole number."),
                _("Start hour must be between %(low)s and %(high)s.", low=low, high=high))
    if key == "hour_end":
        return (_("End hour must be a whole number."),
                _("End hour must be between %(low)s and %(high)s.", low=low, high=high))
    return (_("Qualification threshold must be a whole number."),
            _("Qualification threshold must be between %(low)s and %(high)s.", low=low, high=high))


def _int(form, key: str, errors: dict, low: int, high: int) -> int:
    raw = (form.get(key) or "").strip()
    not_whole, out_of_range = _field_errors(key, low, high)
    try:
        value = int(raw)
    except ValueError:
        errors[key] = not_whole
        return low
    if not low <= value <= high:
        errors[key] = out_of_range
    return value


def _stage_groups(form, segment_ids: set[int], errors: dict) -> dict:
    """The segments chosen per stage (``stage_groups_<stage>`` lists)."""
    chosen = {}
    for stage in GROUP_STAGES:
        key, ids = f"stage_groups_{stage}", []
        for raw in form.getlist(key):
            if not raw.isdigit() or int(raw) not in segment_ids:
                errors[key] = _("One of the segments chosen for this stage does not exist any more.")
            elif int(raw) not in ids:
                ids.append(int(raw))
        if ids:
            chosen[stage] = ids
    return chosen


def from_form(form, segment_ids: set[int], kept_stage_groups: dict | None = None) -> Programme:
    """Build settings from the admin form, or raise :class:`ProgrammeError`.

    ``kept_stage_groups``: when no audience source is active the form has no
    segment pickers for the stages; the stored choice is passed here and kept."""
    errors: dict[str, str] = {}
    weekdays = sorted({int(d) for d in form.getlist("weekdays") if d in {str(i) for i in range(7)}})
    if not weekdays:
        errors["weekdays"] = _("Choose at least one weekday.")
    dates, bad = parse_dates(form.get("excluded_dates", ""))
    if bad:
        errors["excluded_dates"] = _("Not a date: %(dates)s (use 25/12 or 2025-12-24).", dates=", ".join(bad))
    chosen = []
    for raw in form.getlist("segment_ids"):
        if not raw.isdigit() or int(raw) not in segment_ids:
            errors["segment_ids"] = _("One of the chosen segments does not exist any more.")
        else:
            chosen.append(int(raw))
    timezone = (form.get("timezone") or "").strip()
    try:
        if timezone:
            ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = _("Unknown time zone “%(zone)s” (e.g. Europe/Paris).", zone=timezone)
        timezone = ""
    programme = Programme(
        enabled=form.get("enabled") in ("1", "on", "true"),
        every_days=_int(form, "every_days", errors, 1, 365),
        weekdays=weekdays,
        excluded_dates=dates,
        segment_ids=chosen,
        subject=(form.get("subject") or "").strip(),
        template=form.get("template") or "",
        hour_start=_int(form, "hour_start", errors, 0, 23),
        hour_end=_int(form, "hour_end", errors, 1, 24),
        timezone=timezone,
        customer_field=(form.get("customer_field") or "").strip(),
        customer_values=_words(form.get("customer_values", "")),
        opportunity_field=(form.get("opportunity_field") or "").strip(),
        opportunity_values=_words(form.get("opportunity_values", "")),
        qualification_threshold=_int(form, "qualification_threshold", errors, -10**9, 10**9),
        stage_groups=(dict(kept_stage_groups) if kept_stage_groups is not None
                      else _stage_groups(form, segment_ids, errors)),
    )
    if "hour_start" not in errors and "hour_end" not in errors and programme.hour_start >= programme.hour_end:
        errors["hour_end"] = _("The end hour must be after the start hour.")
    if not programme.subject:
        errors["subject"] = _("The subject is required (e.g. %(example)s).", example="{{ content.title }}")
    try:
        check_template(programme.template, programme.subject)
    except TemplateError as error:
        errors["template"] = str(error)
    if errors:
        raise ProgrammeError(errors)
    return programme


def stage_choices() -> list[str]:
    return list(STAGES)
