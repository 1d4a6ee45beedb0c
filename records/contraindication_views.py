"""Pages of the contraindication stop: the product catalogue (owners and managers) and
recording a patch test on a client."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from access import door, policy
from audit import actions
from vault.classes import DataClass

from . import consent, contraindications, selectors
from .forms import PatchTestForm, ProductForm
from .models import Product


def _catalogue_keepers(request) -> None:
    # As the owners' pages: anyone else is refused before anything is looked up.
    if not contraindications.may_manage_products(policy.role_of(request.user)):
        raise PermissionDenied


@login_required
@require_GET
def product_list(request):
    _catalogue_keepers(request)
    return render(request, "records/products.html", {"products": Product.objects.all()})


@login_required
@require_http_methods(["GET", "POST"])
def product_create(request):
    _catalogue_keepers(request)
    return _product_form(request, ProductForm(request.POST or None), editing=False)


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request, pk):
    _catalogue_keepers(request)
    product = get_object_or_404(Product, pk=pk)
    return _product_form(request, ProductForm(request.POST or None, instance=product),
                         editing=True)


def _product_form(request, form: ProductForm, *, editing: bool):
    if request.method == "POST" and form.is_valid():
        product = form.save()
        messages.success(request, _("%(name)s is saved in the catalogue.") % {"name": product.name})
        return redirect("records:product_list")
    return render(request, "records/product_form.html", {"form": form, "editing": editing})


@login_required
@require_http_methods(["GET", "POST"])
def patch_test_add(request, pk):
    """Staff who open the client's health data (L4) record a patch test of a product."""
    decider = policy.Decider(request.user)
    client = selectors.client_for(request.user, pk, decider=decider)
    if decider.ceiling(client) < DataClass.L4:
        door.record_denied(user=request.user, action=actions.CLIENT_UPDATE, client_id=client.pk)
        raise door.AccessDenied()
    form = PatchTestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contraindications.patch_test_add(actor=request.user, client=client,
                                             decider=decider, **form.cleaned_data)
        except consent.NotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Patch test recorded."))
            return redirect("records:client_detail", pk=client.pk)
    return render(request, "records/patch_test_form.html", {"form": form, "client": client})
