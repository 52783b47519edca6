"""docs/reports.md shows each report's answer for the demo company; those answers must be real.

The examples drifted twice behind fixes to the reports (a received share, a flag on a rolled-up
total) with nobody the wiser. This loads the demo, posts its drafts as docs/reports.md says, asks
each documented request and compares the answer with the example: every value shown must be the
one returned. The docs may shorten a list with a final ``"..."``; ``generated_at`` differs by
nature.
"""

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=False)

DOC = Path(__file__).resolve().parents[2] / "docs" / "reports.md"
EXAMPLE = re.compile(r"`GET (/api/v1/banking/[^`]+)`(?:(?!```json).)*?```json\n(.*?)```", re.S)


def examples():
    return EXAMPLE.findall(DOC.read_text())


def differences(shown, live, path="$"):
    """Where the example ``shown`` says something other than the ``live`` answer."""
    if isinstance(shown, dict):
        if not isinstance(live, dict):
            return [f"{path}: the example shows an object, the answer {live!r}"]
        found = [f"{path}.{key}: missing from the answer" for key in shown if key not in live]
        for key, value in shown.items():
            if key in live and key != "generated_at":
                found += differences(value, live[key], f"{path}.{key}")
        return found
    if isinstance(shown, list):
        if not isinstance(live, list):
            return [f"{path}: the example shows a list, the answer {live!r}"]
        elided = bool(shown) and shown[-1] == "..."
        items = shown[:-1] if elided else shown
        if len(items) > len(live) or (not elided and len(items) != len(live)):
            return [f"{path}: {len(items)} item(s) shown, {len(live)} in the answer"]
        found = []
        for index, value in enumerate(items):
            found += differences(value, live[index], f"{path}[{index}]")
        return found
    return [] if shown == live else [f"{path}: the example shows {shown!r}, the answer {live!r}"]


def test_every_report_example_in_the_docs_is_the_demos_real_answer(admin_api):
    documented = examples()
    assert len(documented) >= 4, "docs/reports.md lost its examples"
    call_command("load_demo", stdout=StringIO())
    call_command("post_transactions", "--all-drafts", stdout=StringIO())

    found = []
    for url, block in documented:
        response = admin_api.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        found += [f"{url}: {problem}" for problem in differences(json.loads(block), response.json())]
    assert found == []


def test_the_comparison_finds_a_changed_value_and_a_list_cut_short_without_saying_so():
    live = {"rows": [{"amount": "1.00"}, {"amount": "2.00"}], "generated_at": "now"}
    assert differences({"rows": [{"amount": "1.00"}, "..."], "generated_at": "then"}, live) == []
    assert differences({"rows": [{"amount": "9.00"}, "..."]}, live) == [
        "$.rows[0].amount: the example shows '9.00', the answer '1.00'"
    ]
    assert differences({"rows": [{"amount": "1.00"}]}, live) == ["$.rows: 1 item(s) shown, 2 in the answer"]
