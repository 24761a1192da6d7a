"""The shared layout's small helpers (templates/base.html and the pages built on it).

`url_if_ready`: a link to another part of the site only when its URL exists, so a page
never links to one that is not built (the patient pages arrive one by one).
`text_size`: the visitor's text size (core.views), for the `<html>` class.
"""

from django import template
from django.urls import NoReverseMatch, reverse

from core.views import TEXT_SIZES, text_size_of

register = template.Library()


@register.simple_tag
def url_if_ready(name: str, *args) -> str:
    """`{% url_if_ready "booking:mine" as mine %}`: the URL, or "" when it does not resolve."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.simple_tag(takes_context=True)
def text_size(context) -> str:
    """The chosen text size: one of core.views.TEXT_SIZES."""
    return text_size_of(context.get("request"))


@register.simple_tag
def text_sizes() -> tuple[str, ...]:
    return TEXT_SIZES
