"""The admin index's access notice: the matrix's link and how old the last review is."""

from django import template

from ..admin_matrix import review_notice

register = template.Library()


@register.inclusion_tag("admin/divisions/review_notice.html", takes_context=True)
def access_review_notice(context):
    return {"notice": review_notice(context["request"])}
