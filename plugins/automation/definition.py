"""The workflow definition (JSON) and its step tree.

::

    {"triggers": [{"type": "tag_added", "settings": {"tag": "hot"}}],
     "entry": {"mode": "once" | "reentry", "reentry_days": 30, "exit_segment_id": 4},
     "steps": [
        {"id": "s1", "type": "delay", "settings": {"mode": "duration", "amount": 2, "unit": "days"}},
        {"id": "s2", "type": "condition", "settings": {...}, "yes": [...], "no": [...]},
        {"id": "s3", "type": "action", "action": "tag.add", "settings": {"tag": "vip"}},
        {"id": "s4", "type": "wait", "settings": {"event": "tag_added", "days": 30},
         "yes": [...], "no": [...]}]}

Branches re-join: when a branch ends, the run continues with the step that
follows the condition (or wait) in its list. A tree has no loops, so a step
is visited at most once per run. Step ids never change once given, which is
what lets a run find its place in the version it pinned.

A *place* in the tree is ``(list_ref, index)`` where ``list_ref`` is
``"root"`` or ``"<step id>.yes"`` / ``"<step id>.no"``.
"""
from __future__ import annotations

import copy
from typing import Iterator

STEP_TYPES = ("delay", "condition", "action", "wait")
BRANCHING = ("condition", "wait")
BRANCHES = ("yes", "no")


class DefinitionError(ValueError):
    """A malformed definition or an impossible edit."""


def walk(steps: list, parent: str = "root") -> Iterator[tuple[dict, str]]:
    """Every step with the reference of the list holding it, depth first."""
    for step in steps:
        yield step, parent
        if step.get("type") in BRANCHING:
            for branch in BRANCHES:
                yield from walk(step.get(branch) or [], f"{step['id']}.{branch}")


def find(definition: dict, step_id: str) -> dict | None:
    for step, _ in walk(definition.get("steps") or []):
        if step.get("id") == step_id:
            return step
    return None


def step_list(definition: dict, list_ref: str) -> list:
    """The list a reference points to (creating an empty branch list)."""
    if list_ref == "root":
        return definition.setdefault("steps", [])
    step_id, _, branch = list_ref.rpartition(".")
    step = find(definition, step_id)
    if step is None or step.get("type") not in BRANCHING or branch not in BRANCHES:
        raise DefinitionError(f"there is no branch {list_ref!r} in this workflow")
    return step.setdefault(branch, [])


def new_step_id(definition: dict) -> str:
    used = {step["id"] for step, _ in walk(definition.get("steps") or [])}
    number = len(used) + 1
    while f"s{number}" in used:
        number += 1
    return f"s{number}"


def insert_step(definition: dict, list_ref: str, index: int, step: dict) -> dict:
    """A copy of ``definition`` with ``step`` inserted (given a fresh id)."""
    result = copy.deepcopy(definition)
    target = step_list(result, list_ref)
    step = dict(step, id=new_step_id(result))
    if step["type"] in BRANCHING:
        step.setdefault("yes", [])
        step.setdefault("no", [])
    target.insert(max(0, min(index, len(target))), step)
    return result


def remove_step(definition: dict, step_id: str) -> dict:
    """A copy without the step (and, for a branch step, its branches)."""
    result = copy.deepcopy(definition)
    for step, list_ref in walk(result.get("steps") or []):
        if step["id"] == step_id:
            holder = step_list(result, list_ref)
            holder.remove(step)
            return result
    raise DefinitionError(f"there is no step {step_id!r} in this workflow")


def update_step(definition: dict, step_id: str, **changes) -> dict:
    result = copy.deepcopy(definition)
    step = find(result, step_id)
    if step is None:
        raise DefinitionError(f"there is no step {step_id!r} in this workflow")
    step.update(changes)
    return result


# --- moving through a version -------------------------------------------------------


class StepMap:
    """Where each step of one definition leads: the next step after it, and
    the first step of each branch."""

    def __init__(self, definition: dict):
        self.steps: dict[str, dict] = {}
        self.after: dict[str, str | None] = {}
        self._index(definition.get("steps") or [], None)

    def _index(self, steps: list, continuation: str | None) -> None:
        for position, step in enumerate(steps):
            following = steps[position + 1]["id"] if position + 1 < len(steps) else continuation
            self.steps[step["id"]] = step
            self.after[step["id"]] = following
            if step.get("type") in BRANCHING:
                for branch in BRANCHES:
                    self._index(step.get(branch) or [], following)

    def first(self, steps: list | None, otherwise: str | None) -> str | None:
        return steps[0]["id"] if steps else otherwise

    def start(self, definition: dict) -> str | None:
        return self.first(definition.get("steps"), None)

    def next_after(self, step_id: str, branch: str | None = None) -> str | None:
        """The step to run after ``step_id`` (taking ``branch`` for a branch step)."""
        step = self.steps[step_id]
        if branch is not None:
            return self.first(step.get(branch), self.after[step_id])
        return self.after[step_id]


def entry_rules(definition: dict) -> dict:
    rules = {"mode": "once", "reentry_days": 0, "exit_segment_id": None}
    rules.update(definition.get("entry") or {})
    return rules
