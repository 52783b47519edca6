"""A small chart of accounts and a default posting rule per document type, for the posting tests."""

from accounting.choices import AccountType
from accounting.tests.factories import GLAccountFactory, UserFactory
from banking.choices import PostingDocument
from banking.tests.factories import BankAccountFactory, PostingRuleFactory
from dimensions.tests.factories import BranchFactory, CostCenterFactory, DepartmentFactory, ProjectFactory

# document type -> (account id, code, name, type)
CONTRA_ACCOUNTS = {
    PostingDocument.DEPOSIT: ("gl-4000", "4000", "Sales receipts", AccountType.INCOME),
    PostingDocument.WITHDRAWAL: ("gl-2000", "2000", "Payables", AccountType.LIABILITY),
    PostingDocument.FEE: ("gl-6100", "6100", "Bank charges", AccountType.EXPENSE),
    PostingDocument.INTEREST: ("gl-4200", "4200", "Interest income", AccountType.INCOME),
    PostingDocument.CHEQUE: ("gl-2010", "2010", "Cheques payable", AccountType.LIABILITY),
    PostingDocument.DIRECT_DEBIT: ("gl-2020", "2020", "Direct debits", AccountType.LIABILITY),
    PostingDocument.CARD_PAYMENT: ("gl-2030", "2030", "Card payments", AccountType.LIABILITY),
    PostingDocument.STANDING_ORDER: ("gl-2040", "2040", "Standing orders", AccountType.LIABILITY),
    PostingDocument.ADJUSTMENT: ("gl-3900", "3900", "Bank adjustments", AccountType.EQUITY),
    PostingDocument.TRANSFER: ("gl-1190", "1190", "Transfers in transit", AccountType.ASSET),
    PostingDocument.CASH_SUBMISSION: ("gl-1150", "1150", "Branch cash", AccountType.ASSET),
    PostingDocument.CASH_IN_TRANSIT: ("gl-1160", "1160", "Cash in transit", AccountType.ASSET),
    PostingDocument.CASH_SHORTAGE: ("gl-6900", "6900", "Cash over and short", AccountType.EXPENSE),
    PostingDocument.FLOAT_ALLOCATION: ("gl-1170", "1170", "Branch floats", AccountType.ASSET),
}


def contra(document_type):
    return CONTRA_ACCOUNTS[document_type][0]


def ledger_setup(*, rules=True):
    """Create ``ba-op`` (GL ``gl-bank-ba-op``), ``ba-sav``, the guide's dimensions and the default rules."""
    accounts = {}
    for document_type, (account_id, code, name, account_type) in CONTRA_ACCOUNTS.items():
        accounts[document_type] = GLAccountFactory(
            id=account_id, code=code, name=name, account_type=account_type
        )
        if rules:
            PostingRuleFactory(document_type=document_type, contra_account=accounts[document_type])
    return {
        "op": BankAccountFactory(id="ba-op", name="Operating account"),
        "sav": BankAccountFactory(id="ba-sav", name="Savings account"),
        "branch": BranchFactory(id="test-branch", code="TB", name="Test branch"),
        "cc": CostCenterFactory(id="cc-hq", code="HQ", name="Head office"),
        "cc2": CostCenterFactory(id="cc-ops", code="OPS", name="Operations"),
        "project": ProjectFactory(id="prj-roll", code="ROLL", name="Roll-out"),
        "department": DepartmentFactory(id="dep-fin", code="FIN", name="Finance"),
        "accounts": accounts,
        "user": UserFactory(username="accountant"),
    }
