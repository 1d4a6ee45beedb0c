"""The spreadsheet import page: owners and managers bring clients over from an old system."""

from __future__ import annotations

import io

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from access import door, policy
from access.models import Location, Role, StaffProfile

from . import importing
from .forms import ImportForm

IMPORTERS = {Role.OWNER, Role.MANAGER}
ERRORS_SHOWN = 500


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
    result = None
    if request.method == "POST" and form.is_valid():
        result = _run(request, form)
    return render(request, "records/import.html", {
        "form": form, "result": result,
        "shown_errors": result.errors[:ERRORS_SHOWN] if result else [],
        "titles": [(importing.LABELS[name], titles) for name, titles in importing.TITLES.items()],
        "max_mb": max(1, settings.IMPORT_MAX_BYTES // 2**20), "max_rows": importing.MAX_ROWS,
    })


def _importer(user) -> StaffProfile:
    profile = policy.profile_of(user)
    allowed = profile is not None and profile.role in IMPORTERS and (
        profile.role == Role.OWNER or profile.location_id is not None)
    if not allowed:
        door.record_denied(user=user, action="client.import")
        raise PermissionDenied
    return profile


def _import_form(request, profile: StaffProfile) -> ImportForm:
    if profile.role == Role.OWNER:
        locations = Location.objects.all()
    else:
        locations = Location.objects.filter(pk=profile.location_id)
    form = ImportForm(request.POST if request.method == "POST" else None,
                      request.FILES if request.method == "POST" else None,
                      locations=locations, initial={"location": profile.location})
    # A manager imports into their own location only: whatever is posted, that one is used.
    form.fields["location"].disabled = profile.role != Role.OWNER
    return form


def _run(request, form: ImportForm) -> importing.ImportResult | None:
    try:
        return importing.clients_import(
            upload=form.cleaned_data["file"], location=form.cleaned_data["location"],
            username=request.user.get_username(), user=request.user)
    except ValidationError as exc:
        form.add_error("file", exc)
        return None
