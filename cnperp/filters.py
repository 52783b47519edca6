"""List filters every app shares."""

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

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


def refuse_unknown_parameters(request, known):
    """Answer 400 naming each query parameter of ``request`` not in ``known`` (DRF's ``format`` is)."""
    unknown = sorted(set(request.query_params) - set(known) - {api_settings.URL_FORMAT_OVERRIDE})
    if unknown:
        raise ValidationError({name: ["Unknown parameter."] for name in unknown})


class KnownParametersFilterBackend(DjangoFilterBackend):
    """django-filter's backend that answers 400 to a query parameter the list does not know.

    A mistyped filter (``?amount_minimum=``, ``?year=`` on a list without it) was dropped without a
    word, and the client took the whole list for the filtered one; the reports already refuse an
    unknown parameter, naming it. Known are the list's filters, its search, ordering and paging,
    and DRF's ``format``.
    """

    def filter_queryset(self, request, queryset, view):
        known = set()
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            known.update(filterset_class.base_filters)
        for backend in getattr(view, "filter_backends", ()):
            for attribute in ("search_param", "ordering_param"):
                if hasattr(backend, attribute):
                    known.add(getattr(backend, attribute))
        paginator = getattr(view, "paginator", None)
        for attribute in ("page_query_param", "page_size_query_param"):
            if getattr(paginator, attribute, None):
                known.add(getattr(paginator, attribute))
        refuse_unknown_parameters(request, known)
        return super().filter_queryset(request, queryset, view)
