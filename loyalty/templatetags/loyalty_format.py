"""``{% load loyalty_format %}``: ``{{ amount|money }}``, ``{{ n|points }}``, ``{{ day|day }}``
in the active language (``loyalty.formatting``)."""

from __future__ import annotations

from django import template

from loyalty.formatting import date_display, money_display, points_display

register = template.Library()


@register.filter
def money(value, currency=None):
    return money_display(value, currency or None)


@register.filter
def points(value):
    return points_display(value)


@register.filter
def day(value):
    return date_display(value)
