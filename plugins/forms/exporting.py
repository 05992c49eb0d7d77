"""Submissions as CSV, safe to open in a spreadsheet: a cell starting with
``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) is prefixed with ``'``
so it is shown as text, never run as a formula."""
from __future__ import annotations

import csv
import io

from core import csv_cell

from .models import Form, Submission, SubmittedValue


def submissions_csv(form: Form) -> str:
    submissions = list(Submission.select().where(Submission.form == form.id).order_by(Submission.id))
    values: dict[int, dict[str, str]] = {}
    columns: dict[str, str] = {}
    query = (SubmittedValue.select().join(Submission)
             .where(Submission.form == form.id).order_by(SubmittedValue.id))
    for row in query:
        columns.setdefault(row.name, row.label or row.name)
        values.setdefault(row.submission_id, {})[row.name] = row.value
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(c) for c in ["Submitted at (UTC)", "Contact id", "Page URL", "IP", "User agent",
                                             "Channel", *columns.values()]])
    for submission in submissions:
        own = values.get(submission.id, {})
        writer.writerow([csv_cell(c) for c in [
            submission.created_at.strftime("%Y-%m-%d %H:%M:%S"), submission.contact_id, submission.page_url,
            submission.ip, submission.user_agent, submission.channel, *(own.get(name, "") for name in columns)]])
    return out.getvalue()
