"""Turn a segment definition into ONE parameterised query over contacts.

A definition (``Segment.filter``) is ``{"match": "all"|"any", "groups":
[{"match": "all"|"any", "conditions": [{"filter": id, "params": {...}}]}]}``.
Each condition is compiled by its registered :class:`core.SegmentFilter`;
the terms of an AND are ordered from cheap to expensive (row predicates, then
indexed lookups, then behaviour) so costly checks only run for rows that
passed the cheap ones; ``plugins.segments.planning`` then shapes the SQL
(correlated ``EXISTS``, and on SQLite a driving set for whole evaluations).
Nothing is evaluated in Python: the result is a peewee expression.
"""
from __future__ import annotations

from core import Contact, is_sqlite, translation_domain
from .dependencies import conditions_of, cycle_through
from .filters import cost_of, segment_filters
from .operators import SegmentFilterError
from .models import Segment, SegmentMember
from .planning import correlate, plan_with_driver

MATCHES = ("all", "any")
MAX_CONDITIONS = 100
_ = translation_domain(__name__).gettext


class DefinitionError(ValueError):
    """A definition that cannot be compiled. ``errors`` maps a condition key
    (``g0-c1`` = group 0, condition 1) or ``definition`` to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


# --- shape ----------------------------------------------------------------------


def _bad_shape(message: str) -> DefinitionError:
    return DefinitionError({"definition": message})


def normalize_definition(raw) -> dict:
    """Check the shape of a definition (from a form or the API) and return a
    clean copy; conditions without a filter are dropped."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise _bad_shape(_("The filter must be an object with “match” and “groups”."))
    match, groups = raw.get("match") or "all", raw.get("groups") or []
    if match not in MATCHES or not isinstance(groups, list):
        raise _bad_shape(_("“match” must be “all” or “any” and “groups” a list."))
    clean, count = {"match": match, "groups": []}, 0
    for group in groups:
        if not isinstance(group, dict) or group.get("match", "all") not in MATCHES \
                or not isinstance(group.get("conditions") or [], list):
            raise _bad_shape(_("Each group needs “match” (all/any) and a list of “conditions”."))
        conditions = []
        for condition in group.get("conditions") or []:
            if not isinstance(condition, dict) or not isinstance(condition.get("params") or {}, dict):
                raise _bad_shape(_("Each condition needs a “filter” and an object of “params”."))
            if condition.get("filter"):
                params = {str(k): v for k, v in (condition.get("params") or {}).items()}
                conditions.append({"filter": str(condition["filter"]), "params": params})
        count += len(conditions)
        if conditions:
            clean["groups"].append({"match": group.get("match", "all"), "conditions": conditions})
    if count > MAX_CONDITIONS:
        raise _bad_shape(_("A segment can have at most %(maximum)s conditions.", maximum=MAX_CONDITIONS))
    return clean


# --- compiling ------------------------------------------------------------------


def compile_condition(condition: dict, correlated: bool = True):
    """The peewee expression of one condition, its ``IN`` subqueries
    correlated into ``EXISTS`` unless ``correlated`` is False
    (SegmentFilterError when the filter is unknown or refuses its parameters)."""
    segment_filter = segment_filters().get(condition["filter"])
    if segment_filter is None:
        raise SegmentFilterError(
            f"The filter “{condition['filter']}” is not available (is the plugin that provides it active?)."
        )
    try:
        expression = segment_filter.compile(dict(condition.get("params") or {}))
    except SegmentFilterError:
        raise
    except (ValueError, TypeError, LookupError) as error:
        raise SegmentFilterError(str(error) or _("Invalid parameters for “%(filter)s”.", filter=segment_filter.label)) from None
    return correlate(expression) if correlated else expression


def _combine(terms: list, match: str):
    expression = terms[0]
    for term in terms[1:]:
        expression = (expression & term) if match == "all" else (expression | term)
    return expression


def _compiled_groups(definition: dict) -> list[tuple[str, list]]:
    """``[(match, [(cost, uncorrelated expression)])]``, or DefinitionError
    naming every invalid condition."""
    errors, groups = {}, []
    for g, group in enumerate(definition.get("groups") or []):
        terms = []
        for c, condition in enumerate(group.get("conditions") or []):
            try:
                terms.append((cost_of(condition["filter"]), compile_condition(condition, correlated=False)))
            except SegmentFilterError as error:
                errors[f"g{g}-c{c}"] = str(error)
        if terms:
            groups.append((group.get("match", "all"), terms))
    if errors:
        raise DefinitionError(errors)
    if not groups:
        raise DefinitionError({"definition": _("Add at least one condition.")})
    return groups


def _conjunction(match: str, groups: list) -> list | None:
    """The terms every member must meet when the definition is an AND of
    them (groups of ``any`` count as one term), else None."""
    if match != "all" and len(groups) > 1:
        return None
    terms = []
    for group_match, group_terms in groups:
        if group_match == "all" or len(group_terms) == 1:
            terms += group_terms
        else:
            terms.append((max(c for c, _ in group_terms), _combine([t for _, t in group_terms], "any")))
    return terms


def compile_definition(definition: dict, plan: bool = False):
    """One peewee expression over ``Contact`` for the whole definition.

    ``plan``: the expression evaluates the whole segment (not one contact);
    on SQLite it is then driven by the smallest cheap set (see
    ``plugins.segments.planning``). Raises :class:`DefinitionError`.
    """
    groups = _compiled_groups(definition)
    match = definition.get("match", "all")
    if plan and is_sqlite():
        terms = _conjunction(match, groups)
        planned = plan_with_driver(terms) if terms else None
        if planned is not None:
            return planned
    combined = []
    for group_match, terms in groups:
        if group_match == "all":
            terms = sorted(terms, key=lambda term: term[0])
        combined.append((max(c for c, _ in terms), _combine([correlate(t) for _, t in terms], group_match)))
    if match == "all":
        combined.sort(key=lambda group: group[0])
    return _combine([expression for _, expression in combined], match)


def segment_condition(segment: Segment, plan: bool = False):
    """The expression selecting the members of ``segment``: its filter when
    dynamic, its stored members when static. ``plan``: see
    :func:`compile_definition` (leave it off when the query is restricted to
    one contact)."""
    if segment.is_dynamic:
        return compile_definition(segment.filter or {}, plan=plan)
    return correlate(Contact.id.in_(
        SegmentMember.select(SegmentMember.contact).where(SegmentMember.segment == segment.id)
    ))


def compile_segment(segment: Segment):
    """``SELECT contact.id FROM contact WHERE <condition>``: one parameterised
    query (a peewee ``Select``) of the contact ids in ``segment``, planned for
    evaluating the whole segment."""
    return Contact.select(Contact.id).where(segment_condition(segment, plan=True))


# --- validation -------------------------------------------------------------------


def validate_definition(definition: dict, segment_id: int | None = None) -> dict[str, str]:
    """Messages for every invalid condition, and for a dependency cycle;
    empty when the definition can be saved."""
    try:
        compile_definition(definition)
        errors = {}
    except DefinitionError as error:
        errors = dict(error.errors)
    filters_on_itself = False
    for key, condition in conditions_of(definition):
        if condition["filter"] == "segment" and key not in errors:
            if str(condition["params"].get("value")).strip() == str(segment_id):
                errors[key] = _("A segment cannot filter on itself.")
                filters_on_itself = True
    cycle = cycle_through(segment_id, definition)
    if cycle and not filters_on_itself:
        names = {s.id: s.name for s in Segment.select(Segment.id, Segment.name).where(Segment.id.in_(cycle))}
        errors["definition"] = _("These conditions would make segments depend on each other in a loop: %(loop)s.",
                                 loop=" → ".join(names.get(sid, f"#{sid}") for sid in cycle))
    return errors
