"""CSV import and export of contacts.

Public API::

    from core.imports import new_job, start, run_import, execute, ImportJob
    job = new_job(open("contacts.csv", "rb"), "contacts.csv", user=user)  # stored, sniffed, mapping suggested
    job.policy = "fill"; job.save()
    start(job)                      # RQ job on the "import" queue (run_import)

    from core.imports import contact_rows, contacts_query, csv_lines
    for chunk in csv_lines(contact_rows(contacts_query("acme"))): ...

See docs/imports.md for the pipeline, the duplicate policies and the numbers.
"""
from .export import contact_rows, contacts_query, csv_lines, neutralise, report_rows
from .mapping import normalize_header, suggest_mapping
from .models import ImportJob, ImportRowError
from .pipeline import BATCH_SIZE, Counts, Importer, Settings, dispatch_events
from .reader import CsvSource, SourceError
from .runner import UploadRefused, cancel, copy_job, execute, new_job, run_import, start
from .sniff import NotTextError, detect_dialect, detect_encoding

__all__ = [
    "BATCH_SIZE", "Counts", "CsvSource", "ImportJob", "ImportRowError", "Importer", "NotTextError", "Settings",
    "SourceError", "UploadRefused", "cancel", "contact_rows", "contacts_query", "copy_job", "csv_lines",
    "detect_dialect", "detect_encoding", "dispatch_events", "execute", "neutralise", "new_job",
    "normalize_header", "report_rows", "run_import", "start", "suggest_mapping",
]
