"""Application statuses: upload the CSV, read every bad row, see a dry run, then confirm.

The same importer as `python -m bot import-applications`: `read_text` checks the
file, `import_text(dry_run=True)` runs every row through the real code and
rolls back, and the confirmed import runs `parse_csv` + `apply_records`.
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from aiohttp import web
from aiohttp.web_request import FileField

from bot.console.pages import NavItem, Page
from bot.console.web import console, render, staff_session, tr_of
from bot.delivery.quiet import KYIV
from bot.i18n import N_
from bot.services.status.changes import Effect
from bot.services.status.importer import (
    ImportFileError,
    ImportReport,
    apply_records,
    import_text,
    parse_csv,
    read_text,
)
from storage.repositories import AuditLog

routes = web.RouteTableDef()
PATH = "/statuses"
CONSOLE_PAGE = Page(NavItem("statuses", N_("Application statuses"), PATH, 40), routes)
#: checked files kept for "confirm", per process (the oldest goes first)
MAX_PENDING = 20


def _counts(report: ImportReport) -> list[tuple[str, int]]:
    tr_keys = (
        (N_("New applications"), Effect.ADDED),
        (N_("Status changes"), Effect.CHANGED),
        (N_("Other updates (note, dates)"), Effect.UPDATED),
        (N_("Unchanged"), Effect.UNCHANGED),
        (N_("Older than what is stored (ignored)"), Effect.OLDER),
    )
    return [(label, report.counts[effect]) for label, effect in tr_keys]


def _page(
    request: web.Request,
    *,
    report: ImportReport | None = None,
    upload: str = "",
    name: str = "",
    done: bool = False,
    error: str = "",
    status: int = 200,
) -> web.Response:
    tr = tr_of(request)
    return render(
        request,
        "statuses.html",
        status=status,
        title=tr._("Application statuses"),
        report=report,
        counts=_counts(report) if report else [],
        upload=upload,
        name=name,
        done=done,
        error=error,
    )


@routes.get(PATH)
async def page(request: web.Request) -> web.Response:
    return _page(request)


def _read_upload(field: FileField) -> str:
    """Through the importer's own file reader, so the CLI's checks apply unchanged."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.csv"
        path.write_bytes(field.file.read())
        return read_text(path)


@routes.post(PATH + "/check")
async def check(request: web.Request) -> web.Response:
    tr = tr_of(request)
    field = (await request.post()).get("file")
    if not isinstance(field, FileField):
        return _page(request, error=tr._("Choose a CSV file to upload."), status=400)
    name = Path(field.filename or "upload.csv").name[:80]
    c = console(request)
    try:
        text = _read_upload(field)
        report = await import_text(
            c.app.db,
            text,
            now=c.now(),
            default_locale=c.app.settings.default_locale,
            dry_run=True,
        )
    except ImportFileError as exc:
        return _page(
            request,
            error=tr._("The file cannot be imported: {reason}", reason=str(exc)),
            status=400,
        )
    upload = secrets.token_urlsafe(16)
    while len(c.uploads) >= MAX_PENDING:
        c.uploads.pop(next(iter(c.uploads)))
    c.uploads[upload] = (staff_session(request).token_hash, text)
    return _page(request, report=report, upload=upload, name=name)


@routes.post(PATH + "/import")
async def confirm(request: web.Request) -> web.Response:
    tr = tr_of(request)
    c = console(request)
    upload = str((await request.post()).get("upload", ""))
    pending = c.uploads.get(upload)
    if pending is None or pending[0] != staff_session(request).token_hash:
        return _page(
            request,
            error=tr._("That upload is no longer here. Upload the file again."),
            status=400,
        )
    c.uploads.pop(upload, None)
    now = c.now()
    parsed = parse_csv(pending[1], now.astimezone(KYIV).date())
    report = ImportReport(problems=list(parsed.problems))
    async with c.app.db.transaction() as session:
        await apply_records(
            session,
            parsed.records,
            now=now,
            default_locale=c.app.settings.default_locale,
            report=report,
        )
        await AuditLog(session).record(
            staff_session(request).staff_id,
            "applications.imported",
            via="console",
            rows=report.loaded + len(report.problems),
            skipped=len(report.problems),
            notices=report.notices,
            **{str(effect): n for effect, n in report.counts.items()},
        )
    return _page(request, report=report, done=True)
