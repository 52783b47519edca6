"""Checks that documents use dimension values finance staff may still post to."""

from django.core.exceptions import ValidationError

DIMENSION_FIELDS = ("cost_center", "project", "department", "branch")


def check_active_dimensions(document, fields=DIMENSION_FIELDS):
    """Raise ``ValidationError`` naming each field whose value is inactive."""
    errors = {}
    for field in fields:
        if not hasattr(document, f"{field}_id") or getattr(document, f"{field}_id") is None:
            continue
        value = getattr(document, field)
        if not value.is_active:
            errors[field] = f"{value} is inactive; choose an active {value._meta.verbose_name}."
    if errors:
        raise ValidationError(errors)
