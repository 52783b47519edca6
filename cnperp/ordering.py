"""The API's ``ordering`` parameter, refusing a field it cannot sort by.

DRF drops an unknown term silently, so ``?ordering=amout`` (a typo) answered in
the default order and looked sorted. A module of its own, as ``cnperp.search``:
the settings name it as a filter backend.
"""

from rest_framework import filters
from rest_framework.exceptions import ValidationError


class OrderingFilter(filters.OrderingFilter):
    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        unknown = [term for term in fields if term and term not in valid]
        if unknown:
            choices = self.get_valid_fields(queryset, view, {"request": request})
            names = sorted(name for name, _label in choices)
            raise ValidationError(
                {
                    self.ordering_param: [
                        f'Cannot sort by "{unknown[0]}"; use one of: {", ".join(names)} '
                        '(a leading "-" sorts in descending order).'
                    ]
                }
            )
        return valid
