"""The reports' answers hold together through every door.

A transfer's allocations add up to its amount in the same answer on every database (on SQLite
the allocations were read as floats by plain SQL: 12345678901234.56 against 12345678901234.60);
each report answers the same bytes as DRF's own renderer would, through JSON, indented JSON, the
browsable API, HEAD, CSV and the error bodies; and a worker loads every view and freezes its
start-up (cnperp.runtime) with the database down.
"""

import datetime
import json
import os
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from rest_framework.renderers import JSONRenderer

from banking.api.report_views import ReportJSONEncoder
from banking.choices import TransferStatus
from banking.tests.factories import BankAccountFactory, BankTransferAllocationFactory, BankTransferFactory
from banking.tests.report_data import build_book
from banking.tests.test_report_api import BASE, GUIDE_URLS, reader  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]


class _DRFRenderer(JSONRenderer):
    """DRF's own renderer with the reports' encoder: what the reports answered before orjson."""

    encoder_class = ReportJSONEncoder


def _drf(data, media_type=None):
    return _DRFRenderer().render(data, media_type, {})


@pytest.mark.django_db
def test_a_transfers_allocations_add_up_to_its_amount_in_the_report(reader):  # noqa: F811 (the fixture)
    # Given a transfer of an amount the money columns accept (18 digits, 2 places: below 10 ** 16)
    # split into one allocation of the whole amount
    amount = Decimal("12345678901234.56")
    op, other = BankAccountFactory(id="ba-op"), BankAccountFactory(id="ba-other")
    transfer = BankTransferFactory(
        id="tr-big",
        from_bank_account=op,
        to_bank_account=other,
        amount=amount,
        initiated_date=datetime.date(2025, 10, 2),
        status=TransferStatus.IN_TRANSIT,
    )
    BankTransferAllocationFactory(transfer=transfer, line_number=1, amount=amount)

    # When its month's transfer tracking is read
    response = reader.get(BASE + "transfer-tracking?bank_account_id=ba-op&period=2025-10")

    # Then the allocations add up to the transfer, and the dimension table to the totals, in the
    # one answer. On SQLite the transfer's amount is read by the ORM (15 significant digits:
    # "12345678901234.60") and the allocation's by the plain SQL of _allocation_rows, which skips
    # Django's converter ("12345678901234.56"): one answer, two amounts for the same money.
    assert response.status_code == 200, response.content
    report = json.loads(response.content)
    (item,) = report["outgoing"]
    assert [line["amount"] for line in item["allocations"]] == [item["amount"]]
    (unassigned,) = report["by_dimension"]["outgoing"]["cost_center"]
    assert unassigned["total_amount"] == report["totals"]["outgoing_amount"]


@pytest.mark.django_db
@pytest.mark.parametrize("report", list(GUIDE_URLS))
def test_every_door_of_a_report_answers_as_before(reader, report):  # noqa: F811 (the fixture)
    """Guard: byte for byte DRF's JSON; the browsable API, HEAD, exports and errors after ``_let_go``."""
    build_book()
    url = BASE + GUIDE_URLS[report]

    compact = reader.get(url)
    indented = reader.get(url, HTTP_ACCEPT="application/json; indent=2")
    as_json = reader.get(url + "&format=json")
    browsable = reader.get(url + "&format=api", HTTP_ACCEPT="text/html")
    head = reader.head(url)
    csv = reader.get(url + "&format=csv")
    bad = reader.get(url.replace("period=2025-10", "period=2025-13") + "&format=csv")

    assert compact.status_code == 200, compact.content
    assert compact["Content-Type"] == "application/json"
    assert compact.content == _drf(compact.data)
    assert indented.content == _drf(indented.data, "application/json; indent=2")
    assert as_json.status_code == 200 and as_json["Content-Type"] == "application/json"
    assert browsable.status_code == 200 and b"period_start" in browsable.content
    assert head.status_code == 200 and head.content == b""
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert bad.status_code == 400 and bad["Content-Type"] == "application/json"
    assert bad.content == _drf(bad.data)


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_worker_loads_every_view_and_freezes_without_the_database():
    """Guard: settle_after_start() imports every view at boot; none may need the database then,
    or a worker could not boot during an outage (and /health, /ready could not answer 503)."""
    script = (
        "import gc\n"
        "import cnperp.wsgi\n"
        "from django.db import connections\n"
        "print(gc.get_freeze_count() > 0, all(c.connection is None for c in connections.all()))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cnperp.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"mysql://root:@127.0.0.1:{_closed_port()}/nothing_listens",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
