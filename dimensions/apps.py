from django.apps import AppConfig


class DimensionsConfig(AppConfig):
    name = "dimensions"
    verbose_name = "Dimensions"
