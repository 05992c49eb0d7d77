"""Workflow templates shipped with the product (the source article's
scenarios). Each builds a draft definition; what the marketer must choose
(the emails, a segment, a field) is left empty, so the activation check
lists it. Email steps use the ``email.send`` action of the email plugin; a
template whose actions are missing says which plugin to enable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask import current_app

from core import translation_domain
from .lifecycle import plugin_hint

_, _l = translation_domain(__name__).pair()


def trigger(kind: str, **settings) -> dict:
    return {"type": kind, "settings": settings}


def action(action_id: str, note: str = "", **settings) -> dict:
    return {"type": "action", "action": action_id, "settings": settings, "note": note}


def email(note: str) -> dict:
    return action("email.send", note)


def wait(amount: int, unit: str = "days") -> dict:
    return {"type": "delay", "variant": "duration", "settings": {"amount": amount, "unit": unit}}


def window(note: str = "") -> dict:
    return {"type": "delay", "variant": "window", "note": note,
            "settings": {"weekdays": "mon-sun", "from_time": "09:00", "to_time": "11:00", "timezone": "contact"}}


def condition(variant: str, yes: list, no: list, **settings) -> dict:
    return {"type": "condition", "variant": variant, "settings": settings, "yes": yes, "no": no}


def wait_for(event: str, days: int, yes: list, no: list, match: str = "") -> dict:
    return {"type": "wait", "variant": "event", "settings": {"event": event, "days": days, "match": match},
            "yes": yes, "no": no}


def with_ids(steps: list, counter: list | None = None) -> list:
    """Give every step an id (s1, s2... in reading order)."""
    counter = counter if counter is not None else [0]
    for step in steps:
        counter[0] += 1
        step["id"] = f"s{counter[0]}"
        for branch in ("yes", "no"):
            if branch in step:
                with_ids(step[branch], counter)
    return steps


@dataclass
class Template:
    id: str
    name: str
    description: str
    choose: str
    build: Callable[[], dict]
    actions: tuple[str, ...] = field(default_factory=tuple)

    def definition(self) -> dict:
        built = self.build()
        built["steps"] = with_ids(built["steps"])
        built.setdefault("entry", {"mode": "once", "reentry_days": 0, "exit_segment_id": None})
        return built

    def missing(self) -> list[tuple[str, str]]:
        """``[(action id, plugin to enable)]`` not available right now."""
        registry = current_app.extensions["couvee"].registries.actions
        return [(a, plugin_hint(a)) for a in self.actions if a not in registry]


def _entry(mode="once", days=0, exit_segment_id=None):
    return {"mode": mode, "reentry_days": days, "exit_segment_id": exit_segment_id}


TEMPLATES = [
    Template("birthday", _l("Birthday greeting"), _l("On the contact's birthday, a greeting email in the morning (their time)."),
             _l("the birthday date field and the email"),
             lambda: {"triggers": [trigger("date_anniversary", field="birthday")], "entry": _entry("reentry", 300),
                      "steps": [window(_("Morning, contact's time")), email(_("Birthday email"))]},
             ("email.send",)),
    Template("customer_anniversary", _l("1-year customer thank-you"), _l("One year after the first purchase, a thank-you email."),
             _l("the first-purchase date field and the email"),
             lambda: {"triggers": [trigger("days_after_date", field="first_purchase", days=365)],
                      "steps": [email(_("Thank-you email"))]}, ("email.send",)),
    Template("drip", _l("Drip: day 1, 7 and 14"), _l("Three emails a week apart after joining a list."),
             _l("the list and the three emails"),
             lambda: {"triggers": [trigger("segment_joined", segment_id="")],
                      "steps": [email(_("Day 1 email")), wait(6), email(_("Day 7 email")), wait(7), email(_("Day 14 email"))]},
             ("email.send",)),
    Template("welcome", _l("Welcome after newsletter sign-up"), _l("A welcome email when someone gives consent to "
             "email marketing (newsletter form)."), _l("the welcome email"),
             lambda: {"triggers": [trigger("consent_given", purpose="email_marketing")],
                      "steps": [email(_("Welcome email: your promise, frequency, best articles"))]}, ("email.send",)),
    Template("onboarding", _l("Onboarding when a lead becomes a customer"), _l("Three emails presenting the product after "
             "the status becomes “customer”."), _l("the status field and the three emails"),
             lambda: {"triggers": [trigger("status_changed", field="", to_value="customer")],
                      "steps": [email(_("Onboarding 1: getting started")), wait(3), email(_("Onboarding 2: key features")),
                                wait(4), email(_("Onboarding 3: tips and help"))]}, ("email.send",)),
    Template("repermission", _l("Re-permission"), _l("No email opened for 6 months → ask to confirm; no confirmation "
             "(click) within 30 days → removed from the mailing list."), _l("the email and the mailing list"),
             lambda: {"triggers": [trigger("no_event", event="email_opened", days=180)], "entry": _entry("reentry", 180),
                      "steps": [email(_("Do you still want our emails? (confirmation link)")),
                                wait_for("email_clicked", 30, [action("tag.add", tag="re-confirmed")],
                                         [action("segment.remove", _("Remove from the mailing list"), segment_id=""),
                                          action("tag.add", tag="unsubscribed (re-permission)")])]},
             ("email.send", "tag.add", "segment.remove")),
    Template("engagement", _l("Engagement status"), _l("No interaction for 30 days → “disengaged”; still none after 60 "
             "→ “inactive” and, for customers, a “what's new” email; any interaction → back to “engaged”."),
             _l("the customer tag and the “what's new” email"),
             lambda: {"triggers": [trigger("no_interaction", days=30)], "entry": _entry("reentry", 30),
                      "steps": [action("tag.remove", tag="engaged"), action("tag.add", tag="disengaged"),
                                wait_for("any_interaction", 30,
                                         [action("tag.remove", tag="disengaged"), action("tag.add", tag="engaged")],
                                         [action("tag.remove", tag="disengaged"), action("tag.add", tag="inactive"),
                                          condition("tag", [email(_("What's new email"))], [], tag="customer")])]},
             ("email.send", "tag.add", "tag.remove")),
    Template("hot_lead", _l("Hot lead → assign a rep and notify"), _l("When points cross the hot-lead threshold, a rep is "
             "assigned (rules, then round robin) and notified by email."), _l("the threshold"),
             lambda: {"triggers": [trigger("points_threshold_crossed", threshold=None)],
                      "steps": [action("owner.assign", mode="rules"),
                                action("notify.user", user="owner", subject=_("Hot lead: {{ name }}"),
                                       message=_("{{ name }} just became a hot lead ({{ points }} points). Contact them soon."))]},
             ("owner.assign", "notify.user")),
    Template("pricing_alert", _l("Pricing page visit → alert sales"), _l("A visit of the pricing page sends an email to the "
             "contact's owner (at most once a week per contact)."), _l("the page pattern"),
             lambda: {"triggers": [trigger("page_visited", url="*/pricing*")], "entry": _entry("reentry", 7),
                      "steps": [action("notify.user", user="owner", subject=_("{{ name }} is looking at the pricing page"),
                                       message=_("{{ name }} visited the pricing page."))]}, ("notify.user",)),
    Template("lost_opportunity", _l("Lost opportunity → nurture series"), _l("When a rep marks an opportunity lost in the "
             "CRM, a series of nurturing emails to convert later."), _l("the three emails"),
             lambda: {"triggers": [trigger("crm_opportunity_lost")], "entry": _entry("reentry", 90),
                      "steps": [wait(7), email(_("Nurture 1: useful content")), wait(14), email(_("Nurture 2: case study")),
                                wait(14), email(_("Nurture 3: come back offer"))]}, ("email.send",)),
    Template("nps", _l("NPS: review request or re-engagement"), _l("When the NPS answer arrives: 7 or more → review request "
             "with an exclusive offer; below 7 → a re-engagement series."), _l("the NPS field and the emails"),
             lambda: {"triggers": [trigger("field_changed", field="nps", from_value="", to_value="")],
                      "entry": _entry("reentry", 90),
                      "steps": [condition("field", [email(_("Review request + exclusive offer"))],
                                          [email(_("Re-engagement 1: tutorials")), wait(7),
                                           email(_("Re-engagement 2: coaching session"))],
                                          field="nps", operator="gte", value="7")]}, ("email.send",)),
]


def templates() -> dict[str, Template]:
    return {template.id: template for template in TEMPLATES}
