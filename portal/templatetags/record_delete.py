"""``{% delete_module "expense" as delete_module %}``: the module whose Delete button a list
page shows on each row (``templates/portal/delete_form.html``), or "" for a member who may not
delete its records (G6)."""

from __future__ import annotations

from django import template

from portal.deleted import deletable_module

register = template.Library()


@register.simple_tag(takes_context=True)
def delete_module(context, subject: str) -> str:
    return deletable_module(context["request"].membership, subject)
