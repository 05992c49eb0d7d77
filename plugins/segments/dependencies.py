"""Segments that filter on other segments: references, evaluation order,
dependents, cycles; and which definitions move with the clock."""
from __future__ import annotations

from .filters import is_relative
from .models import Segment


def conditions_of(definition: dict):
    """``(key, condition)`` pairs, the key naming the condition in errors
    (``g0-c1`` = group 0, condition 1)."""
    for g, group in enumerate((definition or {}).get("groups") or []):
        for c, condition in enumerate(group.get("conditions") or []):
            yield f"g{g}-c{c}", condition


def referenced_segments(definition: dict) -> set[int]:
    """Ids of the segments a definition filters on."""
    found = set()
    for _, condition in conditions_of(definition):
        if condition.get("filter") == "segment":
            try:
                found.add(int(str((condition.get("params") or {}).get("value")).strip()))
            except (TypeError, ValueError):
                continue
    return found


def dependency_graph(dynamic: list[Segment] | None = None) -> dict[int, set[int]]:
    """Dynamic segment id -> ids of the segments its filter uses (of
    ``dynamic``, the dynamic segments already loaded, or read now)."""
    if dynamic is None:
        dynamic = Segment.select(Segment.id, Segment.filter).where(Segment.kind == "dynamic")
    return {row.id: referenced_segments(row.filter) for row in dynamic}


def cycle_through(segment_id: int | None, definition: dict) -> list[int] | None:
    """The path ``[segment_id, ..., segment_id]`` if saving ``definition`` on
    ``segment_id`` would make a segment depend on itself, else None."""
    if segment_id is None:
        return None
    graph = dependency_graph()
    graph[segment_id] = referenced_segments(definition)
    path, seen = [], set()

    def visit(node):
        if node == segment_id and path:
            return path + [node]
        if node in seen:
            return None
        seen.add(node)
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt)
            if found:
                return found
        path.pop()
        return None

    return visit(segment_id)


def evaluation_order(segments: list[Segment]) -> list[Segment]:
    """Dynamic segments ordered so that a segment comes after those it filters
    on (a cycle, which saving refuses, is broken arbitrarily)."""
    by_id = {segment.id: segment for segment in segments}
    ordered, state = [], {}

    def visit(segment):
        if state.get(segment.id):
            return
        state[segment.id] = "visiting"
        for dependency in sorted(referenced_segments(segment.filter)):
            if dependency in by_id and state.get(dependency) is None:
                visit(by_id[dependency])
        state[segment.id] = "done"
        ordered.append(segment)

    for segment in sorted(segments, key=lambda s: s.id):
        visit(segment)
    return ordered


def dependents_of(segment_ids, dynamic: list[Segment] | None = None) -> list[Segment]:
    """Dynamic segments that (transitively) filter on any of ``segment_ids``,
    in evaluation order (``dynamic``: every dynamic segment, if already
    loaded, saves two reads)."""
    graph = dependency_graph(dynamic)
    wanted, frontier = set(), set(segment_ids)
    while frontier:
        found = {sid for sid, deps in graph.items() if deps & frontier and sid not in wanted}
        wanted |= found
        frontier = found
    if not wanted:
        return []
    if dynamic is not None:
        return evaluation_order([segment for segment in dynamic if segment.id in wanted])
    return evaluation_order(list(Segment.select().where(Segment.id.in_(sorted(wanted)))))


def uses_relative_dates(definition: dict) -> bool:
    """Does membership change with time alone (``in the last 30 days``...)?"""
    return any(is_relative(c["filter"], c.get("params") or {}) for _, c in conditions_of(definition))
