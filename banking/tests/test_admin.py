"""The banking admin screens: documents written through their services, posted records final,
transfers with validated allocations and a sending leg, and every registered screen walked.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.authtoken.models import Token

from accounting.models import JournalPosting
from accounting.tests.factories import (
    AccountingPeriodFactory,
    DimensionAssignmentFactory,
    JournalEntryFactory,
    JournalPostingFactory,
    UserFactory,
)
from banking.choices import Direction, PostingStatus, TransactionType, TransferStatus
from banking.models import (
    BankReconciliation,
    BankStatement,
    BankTransaction,
    BankTransfer,
    BankTransferAllocation,
    CashSubmission,
    FloatAllocation,
    StatementLine,
)
from banking.services import bank_transfer_create
from banking.tests.factories import (
    BankAccountFactory,
    BankReconciliationFactory,
    BankStatementFactory,
    BankTransactionFactory,
    CashSubmissionFactory,
    FloatAllocationFactory,
    PostingRuleFactory,
    ReconciliationMatchFactory,
    StatementCsvProfileFactory,
    StatementLineFactory,
)
from cnperp.tests.admin_pages import (
    add_url,
    change_url,
    changelist_url,
    delete_url,
    form_data,
    inputs_named,
    management_form,
)
from dimensions.tests.factories import BranchFactory, CostCenterFactory, DepartmentFactory, ProjectFactory

pytestmark = pytest.mark.django_db

OCT_20 = datetime.date(2025, 10, 20)


@pytest.fixture
def staff(superuser):
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def company():
    """Two bank accounts, a branch, and one value of each dimension (plus an inactive cost centre)."""
    return {
        "operating": BankAccountFactory(id="ba-op", name="Operating"),
        "payroll": BankAccountFactory(id="ba-pay", name="Payroll"),
        "branch": BranchFactory(id="test-branch", code="TB", name="Test branch"),
        "head_office": CostCenterFactory(id="cc-hq", code="HQ", name="Head office"),
        "operations": CostCenterFactory(id="cc-ops", code="OPS", name="Operations"),
        "closed": CostCenterFactory(id="cc-closed", code="CLOSED", name="Closed site", is_active=False),
        "project": ProjectFactory(id="prj-erp", code="ERP", name="ERP roll-out"),
        "department": DepartmentFactory(id="dep-fin", code="FIN", name="Finance"),
    }


def transaction_form(**changes):
    data = {
        "id": "bt-admin-1",
        "bank_account": "ba-op",
        "transaction_type": TransactionType.DEPOSIT,
        "direction": "",
        "amount": "1500.00",
        "transaction_date": "2025-10-20",
        "reference": "DEP-20251020",
        "counterparty_name": "Walk-in customer",
        "branch": "test-branch",
        "cost_center": "cc-hq",
        "project": "prj-erp",
        "department": "dep-fin",
    }
    data.update(changes)
    return data


def transfer_form(*allocations, **changes):
    data = {
        "id": "tr-admin-1",
        "from_bank_account": "ba-op",
        "to_bank_account": "ba-pay",
        "amount": "1000.00",
        "initiated_date": "2025-10-10",
        "reference": "PAYROLL-OCT",
        "description": "Payroll funding",
        "cost_center": "cc-hq",
        **management_form("allocations", total=len(allocations)),
    }
    for index, allocation in enumerate(allocations):
        for name, value in allocation.items():
            data[f"allocations-{index}-{name}"] = value
    data.update(changes)
    return data


# --- Bank transactions ------------------------------------------------------------


def test_adding_a_bank_transaction_through_the_admin_stores_who_created_it(staff, superuser, company):
    # when a clerk adds a deposit without saying its direction
    response = staff.post(add_url(BankTransaction), transaction_form())

    # then the draft is saved with its dimensions, its direction from its type, and who made it
    assert response.status_code == 302
    txn = BankTransaction.objects.get(pk="bt-admin-1")
    assert (txn.amount, txn.direction, txn.posting_status) == (Decimal("1500.00"), Direction.IN, "draft")
    assert (txn.cost_center_id, txn.project_id, txn.department_id) == ("cc-hq", "prj-erp", "dep-fin")
    assert (txn.created_by, txn.updated_by) == (superuser, superuser)
    assert LogEntry.objects.filter(object_id="bt-admin-1").count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cost_center": "cc-closed"}, "cost_center"),
        ({"transaction_type": TransactionType.WITHDRAWAL, "direction": Direction.IN}, "direction"),
        ({"transaction_type": TransactionType.TRANSFER, "direction": ""}, "direction"),
        ({"amount": "-5.00"}, None),
    ],
)
def test_a_refused_bank_transaction_keeps_the_input_says_why_and_saves_nothing(
    staff, company, changes, field
):
    # when the clerk submits a transaction a rule refuses
    response = staff.post(add_url(BankTransaction), transaction_form(**changes))

    # then the form comes back with the input and the reason, and nothing is written
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors
    if field:
        assert field in form.errors
    assert form["reference"].value() == "DEP-20251020"
    assert not BankTransaction.objects.exists()
    assert not LogEntry.objects.exists()


def test_an_inactive_bank_account_is_refused_by_the_service_on_the_form(staff, company):
    company["payroll"].is_active = False
    company["payroll"].save()

    response = staff.post(add_url(BankTransaction), transaction_form(bank_account="ba-pay"))

    assert response.status_code == 200
    assert "inactive" in str(response.context["adminform"].form.errors["bank_account"])
    assert not BankTransaction.objects.exists()


def test_changing_a_draft_goes_through_the_service_and_records_who_changed_it(staff, superuser, company):
    # given a draft created by someone else
    author = UserFactory(username="clerk-a")
    draft = BankTransactionFactory(id="bt-draft", bank_account=company["operating"], created_by=author)
    page = staff.get(change_url(draft))
    data = form_data(page)

    # when its amount is changed through the form
    data["amount"] = "175.50"
    response = staff.post(change_url(draft), data)

    # then the change is saved, stamped with the editor, and the author kept
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.amount == Decimal("175.50")
    assert draft.created_by == author
    assert draft.updated_by == superuser


def test_a_posted_transaction_is_shown_read_only_and_a_post_changes_nothing(staff, company):
    # given a posted transaction
    posted = BankTransactionFactory(
        id="bt-posted", bank_account=company["operating"], posting_status=PostingStatus.POSTED
    )

    # when its page is opened and a change is posted to it
    viewing = staff.get(change_url(posted))
    changing = staff.post(change_url(posted), transaction_form(id="bt-posted", amount="999.00"))

    # then every field is read-only and the change is refused
    assert viewing.status_code == 200
    assert viewing.context["has_change_permission"] is False
    for name in ("amount", "bank_account", "transaction_date", "cost_center", "reference"):
        assert inputs_named(viewing, name) == 0
    assert changing.status_code == 403
    posted.refresh_from_db()
    assert posted.amount == Decimal("100.00")


@pytest.mark.parametrize("status", [PostingStatus.POSTED, PostingStatus.REVERSED])
def test_deleting_a_posted_or_reversed_transaction_is_refused(staff, company, status):
    final = BankTransactionFactory(id="bt-final", bank_account=company["operating"], posting_status=status)

    confirming = staff.get(delete_url(final))
    deleting = staff.post(delete_url(final), {"post": "yes"})

    assert (confirming.status_code, deleting.status_code) == (403, 403)
    assert BankTransaction.objects.filter(pk="bt-final").exists()


def test_a_bulk_delete_that_includes_a_posted_transaction_deletes_nothing(staff, company):
    BankTransactionFactory(id="bt-draft", bank_account=company["operating"])
    BankTransactionFactory(
        id="bt-posted", bank_account=company["operating"], posting_status=PostingStatus.POSTED
    )

    response = staff.post(
        changelist_url(BankTransaction),
        {"action": "delete_selected", "_selected_action": ["bt-draft", "bt-posted"], "post": "yes"},
    )

    assert response.status_code == 403
    assert BankTransaction.objects.count() == 2


def test_deleting_a_draft_goes_through_the_service(staff, company):
    draft = BankTransactionFactory(id="bt-draft", bank_account=company["operating"])

    response = staff.post(delete_url(draft), {"post": "yes"})

    assert response.status_code == 302
    assert not BankTransaction.objects.exists()


def test_deleting_a_transfer_leg_is_refused_with_a_message_not_an_error_page(staff, superuser, company):
    # given a transfer whose sending leg is a draft
    transfer = bank_transfer_create(
        user=superuser,
        id="tr-1",
        from_bank_account=company["operating"],
        to_bank_account=company["payroll"],
        amount=Decimal("300.00"),
        initiated_date=OCT_20,
    )
    leg = transfer.legs.get()

    # when the leg is deleted on its own
    response = staff.post(delete_url(leg), {"post": "yes"}, follow=True)

    # then the service's reason is shown and the leg stays
    assert response.status_code == 200
    assert "is not deleted on its own; if the transfer was recorded wrongly" in response.content.decode()
    assert BankTransaction.objects.filter(pk=leg.pk).exists()
    assert not LogEntry.objects.filter(object_id=leg.pk).exists()


def test_a_bulk_delete_refused_for_one_row_keeps_every_row(staff, superuser, company):
    BankTransactionFactory(id="bt-draft", bank_account=company["operating"])
    transfer = bank_transfer_create(
        user=superuser,
        id="tr-1",
        from_bank_account=company["operating"],
        to_bank_account=company["payroll"],
        amount=Decimal("300.00"),
        initiated_date=OCT_20,
    )
    leg = transfer.legs.get()

    response = staff.post(
        changelist_url(BankTransaction),
        {"action": "delete_selected", "_selected_action": ["bt-draft", leg.pk], "post": "yes"},
        follow=True,
    )

    assert response.status_code == 200
    assert "is not deleted on its own; if the transfer was recorded wrongly" in response.content.decode()
    assert BankTransaction.objects.count() == 2


def test_transactions_are_filtered_by_dimension_and_status_and_searched_by_reference(staff, company):
    BankTransactionFactory(
        id="bt-hq", bank_account=company["operating"], cost_center=company["head_office"], reference="INV-001"
    )
    BankTransactionFactory(
        id="bt-ops",
        bank_account=company["operating"],
        cost_center=company["operations"],
        reference="INV-002",
        posting_status=PostingStatus.POSTED,
    )
    BankTransactionFactory(id="bt-none", bank_account=company["payroll"], reference="FEE-77")

    def rows(**query):
        response = staff.get(changelist_url(BankTransaction), query)
        assert response.status_code == 200
        return sorted(row.pk for row in response.context["cl"].result_list)

    assert rows(cost_center__id__exact="cc-ops") == ["bt-ops"]
    assert rows(cost_center__isnull="True") == ["bt-none"]
    assert rows(posting_status__exact="posted") == ["bt-ops"]
    assert rows(bank_account__id__exact="ba-pay") == ["bt-none"]
    assert rows(q="INV-") == ["bt-hq", "bt-ops"]
    assert rows(q="bt-none") == ["bt-none"]


def test_documents_are_filtered_by_accounting_period(staff, company):
    # given October and November, and a transaction in each
    AccountingPeriodFactory(id="2025-10")
    AccountingPeriodFactory(id="2025-11")
    BankTransactionFactory(id="bt-oct", bank_account=company["operating"], transaction_date=OCT_20)
    BankTransactionFactory(
        id="bt-nov", bank_account=company["operating"], transaction_date=datetime.date(2025, 11, 1)
    )

    # when the list is filtered by period
    october = staff.get(changelist_url(BankTransaction), {"period": "2025-10"})
    november = staff.get(changelist_url(BankTransaction), {"period": "2025-11"})

    # then each period holds its own month's transaction
    assert [row.pk for row in october.context["cl"].result_list] == ["bt-oct"]
    assert [row.pk for row in november.context["cl"].result_list] == ["bt-nov"]


def test_a_posted_transaction_links_to_its_gl_posting(staff, company):
    BankTransactionFactory(
        id="bt-posted",
        bank_account=company["operating"],
        posting_status=PostingStatus.POSTED,
        gl_reference="BT-bt-posted",
    )
    JournalPostingFactory(id="jp-1", reference="BT-bt-posted", source_id="bt-posted")

    page = staff.get(change_url(BankTransaction.objects.get(pk="bt-posted")))
    link = page.content.decode().split('href="/admin/accounting/journalposting/?', 1)[1].split('"', 1)[0]
    postings = staff.get(changelist_url(JournalPosting) + "?" + link.replace("&amp;", "&"))

    assert postings.status_code == 200
    assert [row.pk for row in postings.context["cl"].result_list] == ["jp-1"]


def test_the_transaction_list_shows_signed_readable_amounts(staff, company):
    BankTransactionFactory(
        id="bt-out",
        bank_account=company["operating"],
        transaction_type=TransactionType.WITHDRAWAL,
        direction=Direction.OUT,
        amount=Decimal("1234567.5"),
    )

    response = staff.get(changelist_url(BankTransaction))

    assert "-1,234,567.50" in response.content.decode()


def test_the_transaction_list_costs_the_same_queries_for_many_rows(
    staff, company, django_assert_max_num_queries
):
    for number in range(40):
        BankTransactionFactory(
            id=f"bt-{number:03d}",
            bank_account=company["operating"],
            branch=company["branch"],
            cost_center=company["head_office"],
            project=company["project"],
            department=company["department"],
        )

    with django_assert_max_num_queries(25):
        response = staff.get(changelist_url(BankTransaction))

    assert len(response.context["cl"].result_list) == 40


# --- Branch cash -------------------------------------------------------------------


def test_adding_a_cash_submission_goes_through_the_service(staff, superuser, company):
    response = staff.post(
        add_url(CashSubmission),
        {
            "id": "cs-admin-1",
            "branch": "test-branch",
            "bank_account": "ba-op",
            "submission_date": "2025-10-14",
            "expected_amount": "2500.00",
            "status": "submitted",
            "cost_center": "cc-hq",
        },
    )

    assert response.status_code == 302
    submission = CashSubmission.objects.get(pk="cs-admin-1")
    assert submission.expected_amount == Decimal("2500.00")
    assert submission.created_by == superuser


def test_a_cash_submission_with_an_inactive_cost_centre_is_refused_on_the_form(staff, company):
    response = staff.post(
        add_url(CashSubmission),
        {
            "id": "cs-admin-1",
            "branch": "test-branch",
            "bank_account": "ba-op",
            "submission_date": "2025-10-14",
            "expected_amount": "2500.00",
            "status": "submitted",
            "cost_center": "cc-closed",
        },
    )

    assert response.status_code == 200
    assert "cost_center" in response.context["adminform"].form.errors
    assert not CashSubmission.objects.exists()


def test_a_cash_submission_counted_on_the_form_is_deposited_unless_its_status_is_changed(staff, company):
    # The form always sends its status: left at "submitted" beside a deposited amount, it was
    # a contradiction refused on the form; it follows the amount, as in the API.
    form = {
        "branch": "test-branch",
        "bank_account": "ba-op",
        "submission_date": "2025-10-14",
        "expected_amount": "2500.00",
        "deposited_amount": "2490.00",
        "deposit_date": "2025-10-15",
        "status": "submitted",
    }

    counted = staff.post(add_url(CashSubmission), {**form, "id": "cs-admin-2"})
    said = staff.post(add_url(CashSubmission), {**form, "id": "cs-admin-3", "status": "cancelled"})

    assert counted.status_code == 302, counted.content.decode()[:2000]
    assert CashSubmission.objects.get(pk="cs-admin-2").status == "deposited"
    assert said.status_code == 302, said.content.decode()[:2000]
    assert CashSubmission.objects.get(pk="cs-admin-3").status == "cancelled"


def test_adding_a_float_allocation_goes_through_the_service(staff, superuser, company):
    response = staff.post(
        add_url(FloatAllocation),
        {
            "id": "fa-admin-1",
            "branch": "test-branch",
            "bank_account": "ba-op",
            "allocation_date": "2025-10-01",
            "amount": "500.00",
            "status": "allocated",
            "returned_amount": "0",
        },
    )

    assert response.status_code == 302
    assert FloatAllocation.objects.get(pk="fa-admin-1").created_by == superuser


def test_a_float_return_without_its_date_is_refused_on_the_form(staff, company):
    response = staff.post(
        add_url(FloatAllocation),
        {
            "id": "fa-admin-1",
            "branch": "test-branch",
            "bank_account": "ba-op",
            "allocation_date": "2025-10-01",
            "amount": "500.00",
            "status": "partially_returned",
            "returned_amount": "100.00",
        },
    )

    assert response.status_code == 200
    assert "return_date" in response.context["adminform"].form.errors
    assert not FloatAllocation.objects.exists()


@pytest.mark.parametrize(
    "make",
    [
        lambda company: CashSubmissionFactory(
            id="cs-posted",
            branch=company["branch"],
            bank_account=company["operating"],
            posting_status="posted",
        ),
        lambda company: FloatAllocationFactory(
            id="fa-posted",
            branch=company["branch"],
            bank_account=company["operating"],
            posting_status="posted",
        ),
    ],
    ids=["cash submission", "float allocation"],
)
def test_posted_branch_cash_is_read_only_and_cannot_be_deleted(staff, company, make):
    document = make(company)

    viewing = staff.get(change_url(document))
    changing = staff.post(change_url(document), {"notes": "edited", "purpose": "edited"})
    deleting = staff.post(delete_url(document), {"post": "yes"})

    assert viewing.status_code == 200
    assert viewing.context["has_change_permission"] is False
    assert (changing.status_code, deleting.status_code) == (403, 403)
    assert type(document).objects.filter(pk=document.pk).exists()


# --- Transfers ----------------------------------------------------------------------


def test_a_transfer_added_with_allocations_is_saved_with_its_sending_leg(staff, superuser, company):
    # when a transfer of 1000.00 is split 600.00 / 400.00 across two cost centres
    response = staff.post(
        add_url(BankTransfer),
        transfer_form(
            {"amount": "600.00", "cost_center": "cc-hq", "project": "prj-erp"},
            {"amount": "400.00", "cost_center": "cc-ops"},
        ),
    )

    # then the transfer, both allocations and the sending leg exist, each stamped
    assert response.status_code == 302
    transfer = BankTransfer.objects.get(pk="tr-admin-1")
    assert (transfer.status, transfer.created_by) == (TransferStatus.INITIATED, superuser)
    allocations = list(transfer.allocations.order_by("line_number"))
    assert [(a.line_number, a.amount, a.cost_center_id) for a in allocations] == [
        (1, Decimal("600.00"), "cc-hq"),
        (2, Decimal("400.00"), "cc-ops"),
    ]
    for allocation in allocations:
        assert (allocation.from_bank_account_id, allocation.to_bank_account_id) == ("ba-op", "ba-pay")
        assert allocation.created_by == superuser
    leg = transfer.legs.get()
    assert (leg.bank_account_id, leg.direction, leg.amount) == ("ba-op", Direction.OUT, Decimal("1000.00"))
    assert (leg.posting_status, leg.created_by) == (PostingStatus.DRAFT, superuser)
    assert LogEntry.objects.filter(object_id="tr-admin-1").count() == 1


def test_a_transfer_added_without_allocations_carries_its_own_dimensions(staff, company):
    response = staff.post(add_url(BankTransfer), transfer_form())

    assert response.status_code == 302
    (allocation,) = BankTransferAllocation.objects.filter(transfer_id="tr-admin-1")
    assert (allocation.amount, allocation.cost_center_id) == (Decimal("1000.00"), "cc-hq")
    assert BankTransaction.objects.filter(transfer_id="tr-admin-1").count() == 1


@pytest.mark.parametrize(
    ("allocations", "message"),
    [
        (
            [{"amount": "600.00", "cost_center": "cc-hq"}, {"amount": "300.00", "cost_center": "cc-ops"}],
            "add up to 900.00, not to the transfer amount 1000.00",
        ),
        (
            [{"amount": "500.00", "cost_center": "cc-hq"}, {"amount": "500.00", "cost_center": "cc-hq"}],
            "repeats a combination of dimensions",
        ),
    ],
    ids=["sum differs from the amount", "dimension combination twice"],
)
def test_transfer_allocations_that_do_not_split_the_amount_are_refused(staff, company, allocations, message):
    response = staff.post(add_url(BankTransfer), transfer_form(*allocations))

    assert response.status_code == 200
    (allocation_formset,) = response.context["inline_admin_formsets"]
    assert message in " ".join(allocation_formset.formset.non_form_errors())
    assert not BankTransfer.objects.exists()
    assert not BankTransaction.objects.exists()
    assert not BankTransferAllocation.objects.exists()


def test_an_allocation_on_an_inactive_cost_centre_is_refused_on_its_row(staff, company):
    response = staff.post(
        add_url(BankTransfer), transfer_form({"amount": "1000.00", "cost_center": "cc-closed"})
    )

    assert response.status_code == 200
    (allocation_formset,) = response.context["inline_admin_formsets"]
    assert "cost_center" in allocation_formset.formset.forms[0].errors
    assert not BankTransfer.objects.exists()


def test_a_transfer_between_an_account_and_itself_is_refused_on_the_form(staff, company):
    response = staff.post(add_url(BankTransfer), transfer_form(to_bank_account="ba-op"))

    assert response.status_code == 200
    assert "to_bank_account" in response.context["adminform"].form.errors
    assert not BankTransfer.objects.exists()


def test_a_transfer_the_service_refuses_keeps_the_input_says_why_and_saves_nothing(staff, company):
    # when the transfer itself is tagged with an inactive cost centre (its allocation is fine)
    response = staff.post(
        add_url(BankTransfer),
        transfer_form({"amount": "1000.00", "cost_center": "cc-hq"}, cost_center="cc-closed"),
    )

    # then the service's reason sits on the field, the rows are kept, and nothing is written
    assert response.status_code == 200
    assert "inactive" in str(response.context["adminform"].form.errors["cost_center"])
    (allocation_formset,) = response.context["inline_admin_formsets"]
    assert allocation_formset.formset.forms[0]["amount"].value() == "1000.00"
    assert not BankTransfer.objects.exists()
    assert not BankTransferAllocation.objects.exists()
    assert not BankTransaction.objects.exists()
    assert not LogEntry.objects.exists()


def test_the_allocations_of_a_transfer_still_in_draft_are_re_split_on_its_page(staff, superuser, company):
    # given a transfer of 1000.00 allocated to head office alone
    transfer = bank_transfer_create(
        user=superuser,
        id="tr-1",
        from_bank_account=company["operating"],
        to_bank_account=company["payroll"],
        amount=Decimal("1000.00"),
        initiated_date=OCT_20,
        cost_center=company["head_office"],
    )
    data = form_data(staff.get(change_url(transfer)))

    # when head office keeps 700.00 and operations takes 300.00
    data["allocations-0-amount"] = "700.00"
    data["allocations-1-amount"] = "300.00"
    data["allocations-1-cost_center"] = "cc-ops"
    response = staff.post(change_url(transfer), data)

    # then both allocations are saved, copying the transfer's accounts
    assert response.status_code == 302
    allocations = list(transfer.allocations.order_by("line_number"))
    assert [(a.line_number, a.amount, a.cost_center_id) for a in allocations] == [
        (1, Decimal("700.00"), "cc-hq"),
        (2, Decimal("300.00"), "cc-ops"),
    ]
    assert all(a.from_bank_account_id == "ba-op" and a.to_bank_account_id == "ba-pay" for a in allocations)


def test_a_re_split_that_does_not_add_up_changes_nothing(staff, superuser, company):
    transfer = bank_transfer_create(
        user=superuser,
        id="tr-1",
        from_bank_account=company["operating"],
        to_bank_account=company["payroll"],
        amount=Decimal("1000.00"),
        initiated_date=OCT_20,
    )
    data = form_data(staff.get(change_url(transfer)))
    data["allocations-0-amount"] = "900.00"

    response = staff.post(change_url(transfer), data)

    assert response.status_code == 200
    assert transfer.allocations.get().amount == Decimal("1000.00")


def test_once_a_leg_is_posted_the_transfer_and_its_allocations_are_read_only(staff, superuser, company):
    transfer = bank_transfer_create(
        user=superuser,
        id="tr-1",
        from_bank_account=company["operating"],
        to_bank_account=company["payroll"],
        amount=Decimal("1000.00"),
        initiated_date=OCT_20,
    )
    transfer.legs.update(posting_status=PostingStatus.POSTED)

    response = staff.get(change_url(transfer))

    assert response.status_code == 200
    allocations, legs = response.context["inline_admin_formsets"]
    assert allocations.has_change_permission is False
    assert inputs_named(response, "allocations-0-amount") == 0
    assert inputs_named(response, "amount") == 0
    assert [form.instance.pk for form in legs.formset.forms] == [transfer.legs.get().pk]


def test_a_transfer_is_never_deleted(staff, superuser, company):
    transfer = bank_transfer_create(
        user=superuser,
        id="tr-1",
        from_bank_account=company["operating"],
        to_bank_account=company["payroll"],
        amount=Decimal("1000.00"),
        initiated_date=OCT_20,
    )

    response = staff.post(delete_url(transfer), {"post": "yes"})

    assert response.status_code == 403
    assert BankTransfer.objects.filter(pk="tr-1").exists()


def test_marking_a_transfer_received_records_the_full_amount_and_the_receiving_leg(staff, superuser, company):
    bank_transfer_create(
        user=superuser,
        id="tr-1",
        from_bank_account=company["operating"],
        to_bank_account=company["payroll"],
        amount=Decimal("1000.00"),
        initiated_date=OCT_20,
    )

    response = staff.post(
        changelist_url(BankTransfer),
        {"action": "mark_received", "_selected_action": ["tr-1"], "on_date": "2025-10-22", "reason": ""},
    )

    assert response.status_code == 302
    transfer = BankTransfer.objects.get(pk="tr-1")
    assert (transfer.status, transfer.received_amount) == (TransferStatus.RECEIVED, Decimal("1000.00"))
    assert transfer.received_date == datetime.date(2025, 10, 22)
    incoming = transfer.legs.get(direction=Direction.IN)
    assert (incoming.bank_account_id, incoming.amount) == ("ba-pay", Decimal("1000.00"))


def test_marking_a_transfer_failed_needs_a_reason(staff, superuser, company):
    bank_transfer_create(
        user=superuser,
        id="tr-1",
        from_bank_account=company["operating"],
        to_bank_account=company["payroll"],
        amount=Decimal("1000.00"),
        initiated_date=OCT_20,
    )
    url = changelist_url(BankTransfer)

    without_reason = staff.post(url, {"action": "mark_failed", "_selected_action": ["tr-1"]}, follow=True)
    status_after_refusal = BankTransfer.objects.get(pk="tr-1").status
    staff.post(
        url, {"action": "mark_failed", "_selected_action": ["tr-1"], "reason": "Beneficiary bank rejected"}
    )

    assert "Say why the transfer failed" in without_reason.content.decode()
    assert status_after_refusal == TransferStatus.INITIATED
    transfer = BankTransfer.objects.get(pk="tr-1")
    assert (transfer.status, transfer.failure_reason) == (TransferStatus.FAILED, "Beneficiary bank rejected")


# --- Statements and reconciliations ----------------------------------------------------


def test_statements_and_their_lines_are_read_only(staff, company):
    statement = BankStatementFactory(id="st-1", bank_account=company["operating"], line_count=1)
    line = StatementLineFactory(id="sl-1", statement=statement)

    for url in (add_url(BankStatement), add_url(StatementLine)):
        assert staff.get(url).status_code == 403
    for record in (statement, line):
        assert staff.get(change_url(record)).status_code == 200
        assert staff.post(delete_url(record), {"post": "yes"}).status_code == 403
    lines = staff.get(changelist_url(StatementLine), {"statement__id__exact": "st-1"})
    assert [row.pk for row in lines.context["cl"].result_list] == ["sl-1"]


def test_a_finalized_reconciliation_is_locked(staff, company):
    finalized = BankReconciliationFactory(
        id="rec-1", bank_account=company["operating"], status="finalized", notes="Signed off"
    )

    viewing = staff.get(change_url(finalized))
    changing = staff.post(change_url(finalized), {"notes": "changed"})
    deleting = staff.post(delete_url(finalized), {"post": "yes"})

    assert viewing.status_code == 200
    assert inputs_named(viewing, "notes") == 0
    assert (changing.status_code, deleting.status_code) == (403, 403)
    finalized.refresh_from_db()
    assert finalized.notes == "Signed off"


def test_a_draft_reconciliation_takes_notes_but_not_figures(staff, superuser, company):
    draft = BankReconciliationFactory(
        id="rec-1", bank_account=company["operating"], variance=Decimal("12.00")
    )

    page = staff.get(change_url(draft))
    response = staff.post(change_url(draft), {"notes": "Fee booked in November", "variance": "0.00"})

    assert inputs_named(page, "variance") == 0
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.notes, draft.variance, draft.updated_by) == (
        "Fee booked in November",
        Decimal("12.00"),
        superuser,
    )
    assert staff.get(add_url(BankReconciliation)).status_code == 403


# --- Every registered screen ----------------------------------------------------------


@pytest.fixture
def everything(superuser, company):
    """At least one row of every model the admin shows."""
    CostCenterFactory(id="cc-hq-fin", code="HQ-FIN", name="Finance", parent=company["head_office"])
    period = AccountingPeriodFactory(id="2025-10")
    posting = JournalPostingFactory(id="jp-1", reference="BT-bt-posted", source_id="bt-posted", period=period)
    line = JournalEntryFactory(
        id="je-1", posting=posting, line_number=1, debit=Decimal("100.00"), cost_center=company["head_office"]
    )
    DimensionAssignmentFactory(id="da-1", journal_entry=line, cost_center=company["head_office"])
    BankTransactionFactory(
        id="bt-posted",
        bank_account=company["operating"],
        posting_status=PostingStatus.POSTED,
        gl_reference="BT-bt-posted",
        cost_center=company["head_office"],
    )
    bank_transfer_create(
        user=superuser,
        id="tr-1",
        from_bank_account=company["operating"],
        to_bank_account=company["payroll"],
        amount=Decimal("1000.00"),
        initiated_date=OCT_20,
        allocations=[
            {"amount": Decimal("600.00"), "cost_center": company["head_office"]},
            {"amount": Decimal("400.00"), "cost_center": company["operations"]},
        ],
    )
    CashSubmissionFactory(id="cs-1", branch=company["branch"], bank_account=company["operating"])
    FloatAllocationFactory(id="fa-1", branch=company["branch"], bank_account=company["operating"])
    PostingRuleFactory(id="pr-1")
    StatementCsvProfileFactory(id="csv-1")
    match = ReconciliationMatchFactory(
        statement_line__statement__bank_account=company["operating"], statement_line__id="sl-1"
    )
    BankReconciliationFactory(id="rec-1", bank_account=company["operating"], period=period)
    Group.objects.create(name="Clerks")
    Token.objects.create(user=superuser)
    return match


def _admin_request(rf, user, url):
    request = rf.get(url)
    request.user = user
    return request


def test_every_registered_model_lists_adds_and_shows_in_the_admin(staff, superuser, everything, rf):
    # given at least one row of every model the admin shows
    failures = []
    for model, model_admin in admin.site._registry.items():
        request = _admin_request(rf, superuser, changelist_url(model))
        # when its changelist, add form (where adding is allowed) and one row's page are opened
        pages = [changelist_url(model)]
        if model_admin.has_add_permission(request):
            pages.append(add_url(model))
        row = model_admin.get_queryset(request).first()
        if row is None:
            failures.append(f"{model.__name__}: no row to show")
        else:
            pages.append(change_url(row))
        # then each answers 200
        for url in pages:
            status = staff.get(url).status_code
            if status != 200:
                failures.append(f"{model.__name__} {url}: {status}")
    assert failures == []


def test_every_list_filter_choice_search_and_date_drilldown_answers(staff, everything):
    # given every registered changelist
    failures = []
    for model, model_admin in admin.site._registry.items():
        url = changelist_url(model)
        changelist = staff.get(url).context["cl"]
        # when each choice of each filter, a search and a year of the date hierarchy are requested
        queries = [
            choice["query_string"] for spec in changelist.filter_specs for choice in spec.choices(changelist)
        ]
        if model_admin.search_fields:
            queries.append("?q=bt-posted")
        if model_admin.date_hierarchy:
            queries.append(f"?{model_admin.date_hierarchy}__year=2025")
        # then each answers 200 (a bad lookup would redirect to ?e=1)
        for query in queries:
            status = staff.get(url + query).status_code
            if status != 200:
                failures.append(f"{model.__name__} {query}: {status}")
    assert failures == []


def test_marking_a_transfer_received_on_a_date_that_is_not_one_changes_nothing(staff, superuser, company):
    bank_transfer_create(
        user=superuser,
        id="tr-1",
        from_bank_account=company["operating"],
        to_bank_account=company["payroll"],
        amount=Decimal("1000.00"),
        initiated_date=OCT_20,
    )

    response = staff.post(
        changelist_url(BankTransfer),
        {"action": "mark_received", "_selected_action": ["tr-1"], "on_date": "22/13/2025"},
        follow=True,
    )

    assert "Give the date received as YYYY-MM-DD." in response.content.decode()
    assert BankTransfer.objects.get(pk="tr-1").status == TransferStatus.INITIATED
    assert BankTransaction.objects.filter(direction=Direction.IN).count() == 0
