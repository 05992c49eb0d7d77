"""Moving runs in progress to a workflow's newest version.

Runs pin the version they started on, so publishing a fix (an email step
that was empty, a wrong tag) changes nothing for the contacts already inside.
The editor offers the explicit choice to move them: a run moves when the
step it is at still exists in the new version as the same kind of step (a
removed step's id can be given again to a new step, hence the kind check);
the others stay on their version. Each move is written in the run's log with
who asked for it.
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import fn

from . import engine
from .definition import StepMap
from .models import RUN_ACTIVE, Workflow, WorkflowRun, WorkflowVersion
from .steps import kind_of


@dataclass
class MoveCount:
    """Runs on older versions: how many move (or can), how many stay."""

    moving: int = 0
    staying: int = 0

    @property
    def total(self) -> int:
        return self.moving + self.staying


def _step_maps(workflow: Workflow) -> dict[int, StepMap]:
    return {number: StepMap(definition) for number, definition in
            WorkflowVersion.select(WorkflowVersion.number, WorkflowVersion.definition)
            .where(WorkflowVersion.workflow == workflow.id).tuples()}


def _can_move(maps: dict[int, StepMap], version: int, step_id: str | None, target: int) -> bool:
    if step_id is None or version not in maps or target not in maps:
        return False
    old, new = maps[version].steps.get(step_id), maps[target].steps.get(step_id)
    return old is not None and new is not None and kind_of(old) == kind_of(new)


def _older_runs(workflow: Workflow):
    return ((WorkflowRun.workflow == workflow.id) & WorkflowRun.status.in_(RUN_ACTIVE)
            & (WorkflowRun.version < workflow.version))


def older_runs(workflow: Workflow) -> MoveCount:
    """What :func:`move_runs` would do now (counted per version and step)."""
    count = MoveCount()
    if not workflow.version:
        return count
    groups = (WorkflowRun.select(WorkflowRun.version, WorkflowRun.step_id, fn.COUNT(WorkflowRun.id))
              .where(_older_runs(workflow)).group_by(WorkflowRun.version, WorkflowRun.step_id).tuples())
    groups = list(groups)
    if not groups:
        return count
    maps = _step_maps(workflow)
    for version, step_id, number in groups:
        if _can_move(maps, version, step_id, workflow.version):
            count.moving += number
        else:
            count.staying += number
    return count


def move_runs(workflow: Workflow, by: str) -> MoveCount:
    """Move the runs in progress on older versions to ``workflow.version``
    where their step still exists; ``by`` (who asked) goes in each run's log."""
    count = MoveCount()
    if not workflow.version:
        return count
    maps = _step_maps(workflow)
    reason = f"asked by {by}" if by else "asked in the editor"
    for run_id in [row for (row,) in WorkflowRun.select(WorkflowRun.id).where(_older_runs(workflow))
                   .order_by(WorkflowRun.id).tuples()]:
        for _ in range(3):  # a worker may move the run between our read and our write
            run = WorkflowRun.get_or_none(WorkflowRun.id == run_id)
            if run is None or not run.is_active or run.version >= workflow.version:
                break
            if not _can_move(maps, run.version, run.step_id, workflow.version):
                count.staying += 1
                break
            if engine.move_to_version(run, workflow.version, reason):
                count.moving += 1
                break
    return count
