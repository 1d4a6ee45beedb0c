from django import template

from records import consent
from records.models import ConsentEvent, Restriction

from .. import requests
from ..models import RightsRequest

register = template.Library()


@register.inclusion_tag("rights/includes/requests_panel.html")
def requests_panel():
    """The owners' home page: rights requests open and overdue."""
    return {"open": requests.open_requests().count(), "overdue": requests.overdue().count()}


@register.inclusion_tag("rights/includes/client_panel.html", takes_context=True)
def client_rights_panel(context, client):
    """The client page's consents, restriction and rights requests (no personal data)."""
    current = consent.current(client.pk)
    return {
        "client": client, "csrf_token": context.get("csrf_token"),
        "consents": [(label, current[value]) for value, label in ConsentEvent.Purpose.choices],
        "restricted": Restriction.objects.filter(client_id=client.pk,
                                                 lifted_at__isnull=True).exists(),
        "requests": RightsRequest.objects.filter(client_id=client.pk,
                                                 state__in=RightsRequest.OPEN),
    }
