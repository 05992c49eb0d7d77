"""Right to be forgotten for imports: an erased person's lines leave the
import reports and the uploaded CSV files kept for "Run again"."""
from __future__ import annotations

import json
import os
import tempfile

from peewee import fn

from .models import ImportJob, ImportRowError
from .runner import UploadRefused, job_file


def erase_from_imports(email: str | None) -> int:
    """Delete report lines and CSV lines mentioning ``email``; return how many
    lines went. Lines are matched case-insensitively on the address."""
    if not email:
        return 0
    needle = email.lower()
    candidates = (ImportRowError.select(ImportRowError.id, ImportRowError.row)
                  .where(fn.LOWER(ImportRowError.row).contains(needle)))
    ids = [row.id for row in candidates if needle in json.dumps(row.row, ensure_ascii=False).lower()]
    removed = ImportRowError.delete().where(ImportRowError.id.in_(ids)).execute() if ids else 0
    for job in ImportJob.select():
        try:
            path = job_file(job)
        except UploadRefused:
            continue
        if path.is_file():
            removed += _drop_lines(path, needle.encode())
    return removed


def _drop_lines(path, needle: bytes) -> int:
    """Rewrite ``path`` without the lines containing ``needle`` (atomic)."""
    with open(path, "rb") as source:
        lines = source.readlines()
    kept = [line for line in lines if needle not in line.lower()]
    if len(kept) == len(lines):
        return 0
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".erase-")
    with os.fdopen(handle, "wb") as target:
        target.writelines(kept)
    os.replace(temp, path)
    return len(lines) - len(kept)
