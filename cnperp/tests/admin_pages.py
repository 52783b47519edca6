"""Helpers for admin tests: URLs of a model's pages and the POST a rendered form would send."""

from django.contrib.admin.utils import quote
from django.urls import reverse


def admin_url(model, view, *args):
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def changelist_url(model):
    return admin_url(model, "changelist")


def add_url(model):
    return admin_url(model, "add")


def change_url(obj):
    return admin_url(type(obj), "change", quote(obj.pk))


def delete_url(obj):
    return admin_url(type(obj), "delete", quote(obj.pk))


def _form_fields(data, form):
    for bound in form:
        value = bound.value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[bound.html_name] = "on"
            continue
        data[bound.html_name] = str(value)


def form_data(response):
    """Return what the change form in ``response`` submits unchanged: its fields and its inlines."""
    data = {}
    _form_fields(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        _form_fields(data, formset.management_form)
        for form in formset.forms:
            _form_fields(data, form)
    return data


def management_form(prefix, total=0, initial=0):
    """Return the management fields of an inline formset with ``total`` forms."""
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def inputs_named(response, name):
    """Return how many editable inputs for field ``name`` the page holds."""
    content = response.content.decode()
    return content.count(f'name="{name}"')
