"""The reports' JSON: encoded by orjson, the same JSON as DRF's own renderer would give."""

import datetime
import json
from decimal import Decimal

import pytest
from rest_framework.renderers import JSONRenderer

from banking.api.report_views import ReportJSONEncoder, ReportJSONRenderer
from banking.tests.report_data import build_book
from banking.tests.test_report_api import BASE, GUIDE_URLS, reader  # noqa: F401 (a fixture)

UTC = datetime.UTC


def _standard(data, media_type=None):
    """What DRF's renderer gives with the reports' encoder: the JSON the reports answered before."""

    class Standard(JSONRenderer):
        encoder_class = ReportJSONEncoder

    return Standard().render(data, media_type, {})


PAYLOAD = {
    "amount": Decimal("1234.50"),
    "negative": Decimal("-0.05"),
    "many_places": Decimal("2.345"),
    "date": datetime.date(2025, 10, 31),
    "moment": datetime.datetime(2025, 11, 3, 8, 0, 0, 123456, tzinfo=UTC),
    "whole_second": datetime.datetime(2025, 11, 3, 8, 0, tzinfo=UTC),
    "away": datetime.datetime(2025, 11, 3, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
    "name": 'Caf\u00e9 "Nord" \\ line\nnext',
    "rows": [{"count": 3, "flag": True, "none": None, "tuple": ("a", 1)}],
}


def test_the_same_json_as_drfs_renderer():
    # When a payload of every kind a report holds is rendered both ways
    fast = ReportJSONRenderer().render(PAYLOAD)

    # Then both read back to the same values: amounts with two places, moments in UTC with Z
    assert json.loads(fast) == json.loads(_standard(PAYLOAD))
    decoded = json.loads(fast)
    assert decoded["amount"] == "1234.50"
    assert decoded["negative"] == "-0.05"
    assert decoded["moment"] == "2025-11-03T08:00:00.123456Z"
    assert decoded["whole_second"] == "2025-11-03T08:00:00Z"
    assert decoded["away"] == "2025-11-03T09:00:00+01:00"
    assert decoded["name"] == PAYLOAD["name"]
    # and it is UTF-8, not escaped ASCII, as DRF's (UNICODE_JSON)
    assert "Café".encode() in fast


def test_line_separators_are_escaped_for_javascript():
    data = {"narrative": "one\u2028two\u2029three"}

    fast = ReportJSONRenderer().render(data)

    assert b"\\u2028" in fast and b"\\u2029" in fast
    assert "\u2028".encode() not in fast and "\u2029".encode() not in fast
    assert json.loads(fast) == data


def test_what_orjson_does_not_take_goes_through_drfs_renderer():
    # A key that is not a string (orjson refuses it; the standard library writes it as text)
    data = {1: Decimal("5.00"), "nested": {None: "x"}}

    fast = ReportJSONRenderer().render(data)

    assert json.loads(fast) == {"1": "5.00", "nested": {"null": "x"}}


def test_an_indented_answer_is_indented():
    rendered = ReportJSONRenderer().render(PAYLOAD, "application/json; indent=2")

    assert rendered == _standard(PAYLOAD, "application/json; indent=2")
    assert b'\n  "amount": "1234.50"' in rendered


def test_nothing_renders_as_nothing():
    assert ReportJSONRenderer().render(None) == b""


@pytest.mark.django_db
@pytest.mark.parametrize("report", list(GUIDE_URLS))
def test_each_report_answers_what_drfs_renderer_would(reader, report):  # noqa: F811 (the fixture)
    build_book()

    response = reader.get(BASE + GUIDE_URLS[report])

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == json.loads(_standard(response.data))


@pytest.mark.django_db
@pytest.mark.parametrize("report", list(GUIDE_URLS))
def test_a_rendered_answer_is_in_no_reference_cycle(report):
    """Its rows are freed with it, not left to the cyclic collector (banking.api.report_views)."""
    import gc

    from django.contrib.auth.models import Permission
    from django.urls import resolve
    from rest_framework.test import APIRequestFactory, force_authenticate

    from accounting.tests.factories import UserFactory
    from cnperp.roles import REPORT_PERMISSIONS

    build_book()
    user = UserFactory(username="controller")
    for name in REPORT_PERMISSIONS[report]:
        app_label, codename = name.split(".")
        permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        user.user_permissions.add(permission)
    path, _, query = (BASE + GUIDE_URLS[report]).partition("?")
    request = APIRequestFactory().get(f"{path}?{query}")
    force_authenticate(request, user)
    view = resolve(path).func

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        response = view(request)
        response.render()
        assert response.status_code == 200, response.content
        data_id = id(response.data)
        del response
        gc.collect()
        in_cycles = {id(obj) for obj in gc.garbage}
        kinds = {type(obj).__name__ for obj in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()

    assert data_id not in in_cycles
    assert "Response" not in kinds
