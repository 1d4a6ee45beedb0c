"""The spreadsheet import pages: owners and managers bring clients over from an old system.

Upload, then a preview of what the import would do line by line (nothing written), then
confirm. Between the two the file is kept only as ciphertext whose key is in the preview
page (records.importing.staging).
"""

from __future__ import annotations

import io

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpResponseNotAllowed
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from access import door, policy
from access.models import StaffProfile
from audit import actions

from . import importing
from .forms import ImportConfirmForm, ImportForm
from .importing import staging

ERRORS_SHOWN = 500
REPORT_SHOWN = 1000
# The preview lists what needs a look first.
_ORDER = {"changed": 0, "skipped": 1, "unchanged": 2, "new": 3}


class MemoryOnlyUploadHandler(FileUploadHandler):
    """Keep the upload in memory, never in a temporary file: it is plaintext personal data.

    Past IMPORT_MAX_BYTES the rest is read and dropped; the file then arrives empty but with
    its true size, so the import refuses it with a clear message instead of a missing field.
    """

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.buffer, self.received = io.BytesIO(), 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received <= settings.IMPORT_MAX_BYTES:
            self.buffer.write(raw_data)

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        if self.received > settings.IMPORT_MAX_BYTES:
            self.buffer = io.BytesIO()
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer, field_name=self.field_name, name=self.file_name,
            content_type=self.content_type, size=self.received, charset=self.charset,
            content_type_extra=self.content_type_extra)


@csrf_exempt
def import_upload(request):
    # The handlers must be replaced before anything reads the body, CSRF included;
    # the CSRF check then runs in the view below.
    request.upload_handlers = [MemoryOnlyUploadHandler(request)]
    return _import_upload(request)


@csrf_protect
@login_required
@require_http_methods(["GET", "POST"])
def _import_upload(request):
    profile = _importer(request.user)
    form = _import_form(request, profile)
    if request.method == "POST" and form.is_valid():
        return _preview(request, form)
    return _upload_page(request, form)


@login_required
def import_confirm(request):
    profile = _importer(request.user)  # who may import, before what the method is
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ImportConfirmForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_gone_message())
        held, upload = staging.unstage(staging_id=form.cleaned_data["staging"],
                                       key=form.cleaned_data["key"], user=request.user)
        if not policy.import_locations(request.user).filter(pk=held.location_id).exists():
            raise ValidationError(_gone_message())
        result = importing.clients_import(
            upload=upload, location=held.location, username=request.user.get_username(),
            user=request.user, update=held.update, expected=form.cleaned_data["digest"])
    except importing.PlanChanged as exc:
        return _preview_page(request, exc.result, held, form.cleaned_data["key"],
                             notice=exc.messages[0])
    except ValidationError as exc:
        return _upload_page(request, _import_form(request, profile, bound=False),
                            notice=" ".join(exc.messages))
    staging.discard(held)
    return _upload_page(request, _import_form(request, profile, bound=False), result)


def _gone_message() -> str:
    return str(staging._gone().messages[0])


def _preview(request, form: ImportForm):
    upload, location = form.cleaned_data["file"], form.cleaned_data["location"]
    update = form.cleaned_data["update"]
    try:
        result = importing.clients_import(upload=upload, location=location, dry_run=True,
                                          update=update, username=request.user.get_username(),
                                          user=request.user)
    except ValidationError as exc:
        form.add_error("file", exc)
        return _upload_page(request, form)
    if not result.ok:
        return _upload_page(request, form, result)
    upload.seek(0)
    held = staging.stage(data=upload.read(), filename=upload.name or "", user=request.user,
                         location=location, update=update)
    return _preview_page(request, result, held.staging, held.key)


def _preview_page(request, result, held, key: str, notice: str = ""):
    confirm = ImportConfirmForm(initial={"staging": held.pk, "key": key, "digest": result.digest})
    lines = sorted(result.report, key=lambda r: (_ORDER.get(r.outcome, 9), r.line))
    return render(request, "records/import_preview.html", {
        "result": result, "confirm": confirm, "location": held.location, "notice": notice,
        "lines": lines[:REPORT_SHOWN], "more": max(0, len(lines) - REPORT_SHOWN),
    })


def _upload_page(request, form: ImportForm, result=None, notice: str = ""):
    return render(request, "records/import.html", {
        "form": form, "result": result, "notice": notice,
        "shown_errors": result.errors[:ERRORS_SHOWN] if result else [],
        "report": [r for r in result.report if r.outcome != "new"][:REPORT_SHOWN]
        if result else [],
        "titles": [(importing.LABELS[name], titles) for name, titles in importing.TITLES.items()],
        "max_mb": max(1, settings.IMPORT_MAX_BYTES // 2**20), "max_rows": importing.MAX_ROWS,
    })


def _importer(user) -> StaffProfile:
    if not policy.import_locations(user).exists():
        door.record_denied(user=user, action=actions.CLIENT_IMPORT)
        raise PermissionDenied
    return policy.profile_of(user)


def _import_form(request, profile: StaffProfile, *, bound: bool = True) -> ImportForm:
    locations = policy.import_locations(request.user)
    posted = bound and request.method == "POST"
    form = ImportForm(request.POST if posted else None, request.FILES if posted else None,
                      locations=locations, initial={"location": profile.location})
    # One location to import into (a manager's own): whatever is posted, that one is used.
    form.fields["location"].disabled = len(locations) == 1 and profile.location_id is not None
    return form
