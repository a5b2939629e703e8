"""`{% load access %}` … `{% if user|may:"tickets.list" %}`: the access table (accounts.policy)
asked by the pages to show a link or a button, the same predicate the services ask."""

from django import template

from gridgov.accounts import policy

register = template.Library()


@register.filter
def may(user, kind_action: str) -> bool:
    kind, _, action = kind_action.partition(".")
    return policy.allows(user, kind, action)
