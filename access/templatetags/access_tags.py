from django import template

from access.models import Role

register = template.Library()


@register.filter
def role_label(code: str) -> str:
    """A role code as people read it ("reception" → 前台 / Receptionist)."""
    try:
        return Role(code).label
    except ValueError:
        return code
