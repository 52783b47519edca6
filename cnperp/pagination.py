from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Pages of 50 by default; a client may ask for 1 to 1000 with ``page_size``.

    A ``page_size`` outside that (``abc``, ``0``, ``5000``) is a 400 naming it: DRF
    fell back to 50 (or cut to 1000) silently, and the client read a short page as
    the whole list.
    """

    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_number(self, request, paginator):
        # Not a page number at all (``abc``, ``0``) is bad input, a 400 naming it; a page
        # past the end stays DRF's 404.
        number = super().get_page_number(request, paginator)
        if isinstance(number, str):
            try:
                valid = int(number) >= 1
            except ValueError:
                valid = False
            if not valid:
                raise ValidationError({self.page_query_param: ['Use a page number of 1 or more, or "last".']})
        return number

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"Use a whole number from 1 to {self.max_page_size}."]}
            )
        return size
