"""The API's search parameter, naming itself when it refuses a term.

A module of its own: the settings name it as a filter backend, and DRF imports
the backends while its views are still loading.
"""

from rest_framework import filters
from rest_framework.exceptions import ValidationError


class SearchFilter(filters.SearchFilter):
    """DRF's ``?search=``, answering ``{"search": [...]}`` for a term it refuses (a NUL character)."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc
