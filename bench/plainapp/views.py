"""The client list and detail pages over the plaintext twins.

They run the same queries as ``records.views.client_list`` / ``client_detail`` (a page of
50 clients, their locations' and assigned staff's names; a client with profile, health notes, up to 50
treatments, photos and forms) and render the same templates with the same context, but
without the door, the audit event or any decryption. The user is the owner, whose
ceiling is L4 for every client; the page's buttons (assign, no break-glass) are the
owner's too.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from access import policy
from records import selectors
from records.views import LIST_FIELDS, PAGE_SIZE, list_lines
from vault.classes import DataClass

from .models import PlainClient


@login_required
def client_list(request):
    q = ""  # the plain baseline lists only; searches are posted to the real view
    page = selectors.code_page(PlainClient.objects.only(*LIST_FIELDS).order_by("code"),
                               size=PAGE_SIZE, **selectors.cursor_from(request.GET))
    # The owner sees every client's contact data.
    lines = list_lines(page.rows, ceiling=lambda row: DataClass.L4)
    return render(request, "records/client_list.html",
                  {"page": page, "lines": lines, "q": q, "found": None, "query_kind": None})


@login_required
def client_detail(request, pk):
    try:
        client = PlainClient.objects.select_related("location", "assigned_staff__staff").get(pk=pk)
    except PlainClient.DoesNotExist:
        raise Http404 from None
    ceiling = DataClass.L4
    context = {
        "client": client,
        "ceiling": ceiling,
        "L2": DataClass.L2,
        "L3": DataClass.L3,
        "L4": DataClass.L4,
        "profile": getattr(client, "profile", None) if ceiling >= DataClass.L3 else None,
        "health": getattr(client, "health", None) if ceiling >= DataClass.L4 else None,
        "treatments": list(client.treatments.select_related("staff__staff")[:50])
        if ceiling >= DataClass.L3 else [],
        "photos": list(client.photos.all()) if ceiling >= DataClass.L4 else [],
        "forms": list(client.forms.all()) if ceiling >= DataClass.L4 else [],
        # The page's buttons: the owner may assign staff and needs no break-glass.
        "may_break_glass": ceiling < DataClass.L4,
        "may_assign": policy.may_assign(request.user, client),
        "may_rekey": policy.role_of(request.user) == "owner",
        "break_glass": None,
    }
    return render(request, "records/client_detail.html", context)
