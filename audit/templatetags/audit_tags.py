from django import template

from audit import actions

register = template.Library()


@register.filter
def action_label(name: str) -> str:
    """An action as people read it, from the one catalogue (client.open → 查看客户档案)."""
    return actions.action_label(name)


@register.filter
def purpose_label(name: str) -> str:
    return actions.purpose_label(name)
