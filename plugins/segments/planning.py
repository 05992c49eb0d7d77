"""How a compiled segment reaches the database fast, on SQLite as on PostgreSQL.

Filters return ``Contact.id IN (subquery)`` (the documented convention).
:func:`correlate` rewrites those into correlated ``EXISTS (subquery AND
<contact column> = contact.id)``: PostgreSQL plans both forms as semi-joins,
but SQLite materialises every ``IN`` list in full, while it evaluates
``EXISTS`` per contact with short-circuit; and a query restricted to one
contact (``refresh_contact``) then costs a few index lookups.

For a whole-segment evaluation on SQLite, a scan of every contact is still the
cost of ``EXISTS`` alone; :func:`plan_with_driver` starts instead from the
smallest cheap set that every member must be in (as a hand-written join would),
and checks the other conditions inside that subquery::

    contact.id IN (SELECT ct.contact_id FROM contact_tag ct WHERE <tag>
                   AND EXISTS (<zone> AND v.contact_id = ct.contact_id)
                   AND EXISTS (<visits> AND e.contact_id = ct.contact_id))
"""
from __future__ import annotations

from peewee import OP, SQL, Expression, Field, Join, Negated, Select, fn

from core import Contact

#: a driver is used only when its set is under this share of the contacts
DRIVER_SHARE = 3


def is_contact_id(node) -> bool:
    return isinstance(node, Field) and node.model is Contact and node.name == "id"


def _sources(node):
    if isinstance(node, Join):
        yield from _sources(node.lhs)
        yield from _sources(node.rhs)
    else:
        yield node


def _reads(subquery, model) -> bool:
    """Does ``subquery`` select from ``model`` (then a reference to ``model``
    inside it would bind to its own table, not the outer one)?"""
    for item in subquery._from_list or ():
        for source in _sources(item):
            if source is model or getattr(source, "model", None) is model:
                return True
    return False


def _correlatable(subquery, target=Contact.id):
    """The contact column of a plain ``SELECT x.contact ...`` subquery that
    can be correlated to ``target``, or None."""
    if not isinstance(subquery, Select):
        return None
    columns = subquery._returning or ()
    if len(columns) != 1 or subquery._limit is not None or subquery._offset is not None \
            or subquery._group_by or subquery._having or subquery._distinct or subquery._simple_distinct:
        return None
    column = columns[0]
    if not isinstance(column, Field) or column.model is target.model or _reads(subquery, target.model):
        return None
    return column


def correlate(node, target=Contact.id):
    """Rewrite ``Contact.id [NOT] IN (SELECT x.contact ...)`` into
    ``[NOT] EXISTS (SELECT ... AND x.contact = <target>)`` throughout an
    AND/OR/NOT tree; anything else is kept as is."""
    if isinstance(node, Expression):
        if node.op in (OP.AND, OP.OR):
            return Expression(correlate(node.lhs, target), node.op, correlate(node.rhs, target), flat=node.flat)
        if node.op in (OP.IN, OP.NOT_IN) and is_contact_id(node.lhs):
            column = _correlatable(node.rhs, target)
            if column is not None:
                exists = fn.EXISTS(node.rhs.where(column == target))
                return exists if node.op == OP.IN else Negated(exists)
        return node
    if isinstance(node, Negated):
        return Negated(correlate(node.node, target))
    return node


def _only_subqueries(node, target) -> bool:
    """Is ``node`` made only of ``Contact.id [NOT] IN (subquery)`` that can be
    correlated to ``target`` (so it can be checked without the contact row)?"""
    if isinstance(node, Expression):
        if node.op in (OP.AND, OP.OR):
            return _only_subqueries(node.lhs, target) and _only_subqueries(node.rhs, target)
        return node.op in (OP.IN, OP.NOT_IN) and is_contact_id(node.lhs) \
            and _correlatable(node.rhs, target) is not None
    if isinstance(node, Negated):
        return _only_subqueries(node.node, target)
    return False


def _is_driver_candidate(term) -> bool:
    return isinstance(term, Expression) and term.op == OP.IN and is_contact_id(term.lhs) \
        and _correlatable(term.rhs) is not None


def _smallest(candidates: list):
    """The candidate with the fewest rows, counted up to a share of the
    contacts (None when all are bigger: scanning the contacts is then as good)."""
    if not candidates:
        return None
    cap = max(1000, (Contact.select(fn.MAX(Contact.id)).scalar() or 0) // DRIVER_SHARE)
    best, best_size = None, cap
    for term in candidates:
        size = term.rhs.select(SQL("1")).limit(best_size).count()
        if size < best_size:
            best, best_size = term, size
    return best


def plan_with_driver(terms: list[tuple[int, object]]):
    """One expression for the conjunction of ``terms`` (``(cost, expression)``
    pairs, expressions not yet correlated), driven by the smallest cheap set;
    None when no term is a good driver."""
    driver = _smallest([term for cost, term in terms if cost <= 1 and _is_driver_candidate(term)])
    if driver is None:
        return None
    column = driver.rhs._returning[0]
    inside, outside = [], []
    for _, term in sorted(terms, key=lambda pair: pair[0]):
        if term is driver:
            continue
        if _only_subqueries(term, column):
            inside.append(correlate(term, column))
        else:
            outside.append(correlate(term))
    subquery = driver.rhs
    for term in inside:
        subquery = subquery.where(term)
    expression = Contact.id.in_(subquery)
    for term in outside:
        expression &= term
    return expression
