"""``couvee import`` and ``couvee export``: the wizard and the export link on
the command line, through the same code (the import runs in this process,
with a terminal progress bar)."""
from __future__ import annotations

import os
import sys

import click

from core import FieldValueError
from .models import POLICIES
from .sniff import DELIMITER_LABELS, ENCODINGS

DELIMITER_NAMES = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _column_index(name: str, headers: list[str]) -> int:
    from .mapping import normalize_header

    if name.isdigit() and 1 <= int(name) <= len(headers):
        return int(name) - 1
    wanted = normalize_header(name)
    for index, header in enumerate(headers):
        if normalize_header(header) == wanted:
            return index
    raise click.BadParameter(f"no column {name!r}; the columns are: {', '.join(headers)}", param_hint="--map")


def _target(value: str, fields_by_key: dict) -> str:
    from .mapping import IGNORE, NATIVE_TARGETS, SPECIAL_TARGETS

    value = value.strip()
    if value in NATIVE_TARGETS or value in SPECIAL_TARGETS or value == IGNORE or value.startswith(("field:", "new:")):
        return value
    if value in fields_by_key:
        return f"field:{value}"
    raise click.BadParameter(
        f"unknown field {value!r}: use email, first_name, last_name, language, owner, tags, ignore, "
        f"a custom field key "
        f"({', '.join(sorted(fields_by_key)) or 'none yet'}) or new:<type>", param_hint="--map")


def _apply_maps(job, maps, suggest: bool):
    from core import CustomField, field_types
    from .mapping import IGNORE, FieldConflict, field_for_column, reusable_field, validate_targets

    headers = job.headers
    fields_by_key = {f.key: f for f in CustomField.select()}
    targets = [c["target"] if suggest else IGNORE for c in job.mapping]
    for item in maps:
        column, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: write COLUMN=FIELD", param_hint="--map")
        targets[_column_index(column.strip(), headers)] = _target(value, fields_by_key)
    errors = validate_targets(targets, fields_by_key, field_types())
    for index, target in enumerate(targets):
        if target.startswith("new:") and not errors:
            try:
                reusable_field(headers[index], target[4:])
            except FieldConflict as error:
                errors.append(f"{headers[index]}: {error}")
    if errors:
        raise click.UsageError(" ".join(errors))
    for index, target in enumerate(targets):
        if target.startswith("new:"):
            options = None
            if target[4:] in ("select", "multiselect"):
                from .runner import source_of

                options = source_of(job).column_values(index)
                if options is None:
                    raise click.UsageError(f"{headers[index]}: too many different values for a select field")
            targets[index] = f"field:{field_for_column(headers[index], target[4:], options).key}"
    job.mapping = [{"header": h, "target": t} for h, t in zip(headers, targets)]


def _file_columns(mapping: list[dict]) -> list[str]:
    """Headers of the columns mapped to a file field."""
    from core import CustomField, field_types
    from .mapping import is_file_target

    fields_by_key, types = {f.key: f for f in CustomField.select()}, field_types()
    return [c["header"] for c in mapping if is_file_target(c["target"], fields_by_key, types)]


def _consent_options(headers, column, purpose, proof, source, date, drops) -> dict:
    """The job options for ``--consent-*`` and ``--drop`` (checked: a usage error says what is wrong)."""
    from .consent import ConsentPlan, ConsentSettingError, DropRule

    options = {}
    try:
        if column or proof:
            plan = ConsentPlan(purpose=purpose, column=_column_index(column, headers) if column else None,
                               declared=bool(proof), source=source, date=date, proof=proof or "").check()
            options["consent"] = plan.as_options()
        options["drop"] = [DropRule.parse(text, headers, _column_index).as_options() for text in drops]
    except ConsentSettingError as error:
        raise click.UsageError(str(error)) from None
    return options


def import_command() -> click.Command:
    @click.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD",
                  help="Map a column (name or 1-based number) to email, first_name, last_name, language, owner, tags, "
                       "ignore, a custom field key or new:<type>. Repeat for each column; the others keep "
                       "the suggested field.")
    @click.option("--only-mapped", is_flag=True, help="Ignore the columns not given with --map.")
    @click.option("--policy", type=click.Choice(POLICIES), default="update", show_default=True,
                  help="Existing contacts: update them, skip them, or only fill their empty fields.")
    @click.option("--tag", "tags", multiple=True, help="Tag every imported contact (repeatable).")
    @click.option("--segment", type=int, help="Add the contacts to this static segment (id).")
    @click.option("--limit", type=click.IntRange(min=1), help="Import only the first N rows (a test).")
    @click.option("--encoding", type=click.Choice(list(ENCODINGS)), help="Default: detected.")
    @click.option("--delimiter", type=click.Choice(list(DELIMITER_NAMES) + list(DELIMITER_LABELS)),
                  help="Default: detected.")
    @click.option("--no-header", is_flag=True, help="The first line is data, not column names.")
    @click.option("--keep-suppressed", is_flag=True, help="Do not skip bounced/unsubscribed addresses.")
    @click.option("--cold-column", help="Column holding the last activity date (skip cold leads).")
    @click.option("--cold-months", type=click.IntRange(min=1), help="Skip rows inactive for more months than this.")
    @click.option("--report", type=click.Path(dir_okay=False, writable=True), help="Write the error report CSV here.")
    @click.option("--files", "files_dir", type=click.Path(exists=True, file_okay=False),
                  help="Folder holding the files named in file-field columns (paths relative to it).")
    @click.option("--consent-column", help="Column saying each person consented: yes/no, or the date they did.")
    @click.option("--consent-purpose", default="email_marketing", show_default=True,
                  help="The consent purpose the column or declaration is about.")
    @click.option("--consent-proof", help="Declare that everyone in the file consented: how it was collected "
                                          "(the proof note, required for a declaration).")
    @click.option("--consent-source", default="", help="With --consent-proof: where it was collected (e.g. Mailchimp).")
    @click.option("--consent-date", default="", help="With --consent-proof: when (YYYY-MM-DD; default: the import).")
    @click.option("--drop", "drops", multiple=True, metavar="COLUMN=VALUE|VALUE",
                  help="Leave out rows whose column holds one of the values, e.g. STATUS=unsubscribed|cleaned "
                       "(repeatable; any case).")
    def command(file, maps, only_mapped, policy, tags, segment, limit, encoding, delimiter, no_header,
                keep_suppressed, cold_column, cold_months, report, files_dir, consent_column, consent_purpose,
                consent_proof, consent_source, consent_date, drops):
        """Import contacts from a CSV file."""
        from core import normalize_tag
        from . import runner, segments
        from .export import csv_lines, report_rows

        if segment is not None and segments.check(segment):
            raise click.UsageError(f"--segment: {segments.check(segment)}")
        if bool(cold_column) != bool(cold_months):
            raise click.UsageError("give --cold-column and --cold-months together")
        try:
            with open(file, "rb") as handle:
                job = runner.new_job(handle, os.path.basename(file), max_bytes=os.path.getsize(file) + 1)
        except runner.UploadRefused as error:
            raise click.ClickException(f"{file}: {error}") from None
        if encoding or delimiter or no_header:
            if encoding:
                try:
                    runner.check_encoding(job, encoding)
                except runner.UploadRefused as error:
                    raise click.ClickException(str(error)) from None
            job.encoding = encoding or job.encoding
            job.delimiter = DELIMITER_NAMES.get(delimiter, delimiter) if delimiter else job.delimiter
            job.has_header = not no_header
            runner.suggest(job)
        _apply_maps(job, maps, suggest=not only_mapped)
        if not files_dir and _file_columns(job.mapping):
            raise click.UsageError(
                f"{', '.join(_file_columns(job.mapping))}: a file field is filled from the file names in its column; "
                "give the folder holding the files with --files DIR (or --map the column to ignore).")
        try:
            job.tags = sorted({normalize_tag(tag) for tag in tags})
        except FieldValueError as error:
            raise click.BadParameter(str(error), param_hint="--tag") from None
        job.policy, job.segment_id, job.test_rows = policy, segment, limit
        job.options = {"skip_suppressed": not keep_suppressed,
                       "cold_column": _column_index(cold_column, job.headers) if cold_column else None,
                       "cold_months": cold_months, "files_dir": os.path.abspath(files_dir) if files_dir else None,
                       **_consent_options(job.headers, consent_column, consent_purpose, consent_proof, consent_source,
                                          consent_date, drops)}
        job.save()
        click.echo(f"Importing {file} ({job.encoding}, separator {job.delimiter!r}) as import #{job.id}:", err=True)
        for column in job.mapping:
            click.echo(f"  {column['header']:30} -> {column['target']}", err=True)

        bar = {}

        def started(total):
            bar["bar"] = click.progressbar(length=total, label="Rows", file=sys.stderr, show_pos=True)
            bar["bar"].__enter__()

        try:
            runner.execute(job, on_start=started, on_batch=lambda result: bar["bar"].update(result.counts.rows))
        except Exception as error:
            from .models import FAILED, ImportJob

            ImportJob.update(status=FAILED, message=str(error)).where(ImportJob.id == job.id).execute()
            raise click.ClickException(f"the import failed: {error}") from None
        finally:
            if "bar" in bar:
                bar["bar"].__exit__(None, None, None)
        job = type(job).get_by_id(job.id)
        p = job.progress()
        click.echo(f"Done: {p['rows_done']} rows, {p['created']} created, {p['updated']} updated, "
                   f"{p['unchanged']} unchanged, {p['duplicates']} duplicates merged, {p['skipped']} skipped, "
                   f"{p['errors']} errors, {p['warnings']} warnings ({p['rate']:.0f} rows/s).")
        if job.message:
            click.echo(job.message)
        if report:
            with open(report, "w", encoding="utf-8", newline="") as out:
                out.writelines(csv_lines(report_rows(job)))
            click.echo(f"Report written to {report}.")
        elif p["errors"] or p["warnings"] or p["skipped"]:
            click.echo("Use --report FILE to get the reported lines with their reasons.")

    return command


def export_command() -> click.Command:
    @click.command("export")
    @click.option("--q", "q", default="", help="Search words, as in the admin contacts list.")
    @click.option("--segment", type=int, help="Only the contacts of this segment (id).")
    @click.option("--output", "-o", type=click.File("w", encoding="utf-8", lazy=True), default="-",
                  help="File to write (default: standard output).")
    def command(q, segment, output):
        """Export contacts (native and custom fields, owner, tags) as CSV."""
        from .export import contact_rows, contacts_query, csv_lines
        from .segments import SegmentsUnavailable

        try:
            query = contacts_query(q, segment)
        except SegmentsUnavailable as error:
            raise click.UsageError(str(error)) from None
        for chunk in csv_lines(contact_rows(query)):
            output.write(chunk)

    return command
