"""{% complaints_panel %}: open and overdue complaints on the owners' dashboard."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from rights import complaints

register = template.Library()


@register.inclusion_tag("rights/includes/complaint_panel.html", takes_context=True)
def complaints_panel(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None or not complaints.access_for(user).read:
        return {"shown": False}
    today = timezone.localdate()
    last_month = today.replace(day=1) - dt.timedelta(days=1)
    return {"shown": True, "open": complaints.open_complaints().count(),
            "overdue": complaints.overdue(today=today).count(),
            "last_month": last_month.strftime("%Y-%m")}
