"""Template access to the one policy table: `{% load access %}{% if user|may:"staff.list" %}`."""

from django import template

from gridgov.accounts import policy

register = template.Library()


@register.filter
def may(user, kind_action: str) -> bool:
    """Whether `user` may do the action on the kind somewhere ("kind.action", accounts.policy)."""
    kind, _, action = kind_action.partition(".")
    return policy.allows(user, kind, action)
