from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Pages of 50 by default; a client may ask for up to 1000 with ``page_size``."""

    page_size_query_param = "page_size"
    max_page_size = 1000
