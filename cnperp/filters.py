"""List filters every app shares."""

import django_filters
from django import forms

TRUE_WORDS = frozenset({"true", "1"})
FALSE_WORDS = frozenset({"false", "0"})


class StrictBooleanField(forms.Field):
    """``true``/``false`` (or ``1``/``0``); anything else is an error, not "no filter".

    django-filter's own boolean filter reads ``?is_active=no`` as no filter at all,
    so the client got every record and believed it had only the inactive ones.
    """

    default_error_messages = {"invalid": 'Use "true" or "false".'}

    def to_python(self, value):
        if value in (None, ""):
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField
