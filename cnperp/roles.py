"""Who may do what: the five finance roles and the one matrix they come from.

The matrix below is the only place the roles are defined. The data migration
``cnperp/migrations/0001_roles.py`` turns it into Django groups, the role-matrix
test (``cnperp/tests/test_roles_matrix.py``) checks every role against every
action through the API, the commands and the admin, and ``docs/security.md`` shows it as a
table (a test keeps the two equal). Views, admin actions and commands never
name a role: they check the *permission* of the action with ``user.has_perm``,
so a user outside the groups (or a superuser) is judged the same way.

Each action lists the permissions it needs; a role's group holds exactly the
union of the permissions of the actions it may do.
"""

import dataclasses

CLERK = "clerk"
ACCOUNTANT = "accountant"
CONTROLLER = "controller"
AUDITOR = "auditor"
ADMIN = "admin"
ROLES = (CLERK, ACCOUNTANT, CONTROLLER, AUDITOR, ADMIN)

# Permissions that are not one of Django's add/change/delete/view, with their
# names as the admin shows them. Created by the data migration on the models'
# content types.
CUSTOM_PERMISSIONS = {
    "banking.post_banktransaction": "Can post bank transactions to the GL",
    "banking.reverse_banktransaction": "Can reverse and correct posted bank transactions",
    "banking.post_cashsubmission": "Can post cash submissions to the GL",
    "banking.reverse_cashsubmission": "Can reverse posted cash submissions",
    "banking.post_floatallocation": "Can post float allocations and float returns to the GL",
    "banking.reverse_floatallocation": "Can reverse posted float allocations",
    "banking.import_bankstatement": "Can import bank statements",
    "banking.match_statementline": "Can match statement lines and run reconciliations",
    "banking.finalize_bankreconciliation": "Can sign off (finalize) bank reconciliations",
    "accounting.close_accountingperiod": "Can close and reopen accounting periods",
}

# Models by app, in the words of their permission codenames.
MASTER_DATA = {
    "dimensions": ("costcenter", "project", "department", "branch"),
    "accounting": ("glaccount",),
    "banking": ("bankaccount", "postingrule", "statementcsvprofile"),
}
DOCUMENTS = ("banktransaction", "cashsubmission", "floatallocation")
LEDGER = ("journalposting", "journalentry", "dimensionassignment")
STATEMENTS = ("bankstatement", "statementline", "reconciliationmatch")
USERS = ("user", "group")


def _perms(verbs, app_label, models):
    return frozenset(f"{app_label}.{verb}_{model}" for verb in verbs for model in models)


def _master(verbs):
    return frozenset().union(*(_perms(verbs, app, models) for app, models in MASTER_DATA.items()))


# What each report reads; the report endpoints need the view permission on each.
REPORT_PERMISSIONS = {
    "cash-position": (
        "accounting.view_journalentry",
        "banking.view_bankaccount",
        "banking.view_bankstatement",
    ),
    "dimensional-analysis": ("accounting.view_journalentry", "banking.view_bankaccount"),
    "variance-report": (
        "accounting.view_journalentry",
        "banking.view_bankaccount",
        "banking.view_bankreconciliation",
        "banking.view_cashsubmission",
        # Its unreconciled items are bank transactions; its statement balance, statements'.
        "banking.view_banktransaction",
        "banking.view_bankstatement",
    ),
    "transfer-tracking": ("banking.view_banktransfer", "banking.view_banktransaction"),
}
# Reading a reconciliation (the API's and the workbench's) shows book balances from the GL lines,
# the statements and their lines, the unmatched transactions and the matches: the view
# permission on each, as for a report.
RECONCILIATION_READ_PERMISSIONS = (
    "banking.view_bankreconciliation",
    "accounting.view_journalentry",
    "banking.view_bankaccount",
    "banking.view_bankstatement",
    "banking.view_statementline",
    "banking.view_banktransaction",
    "banking.view_reconciliationmatch",
)


@dataclasses.dataclass(frozen=True)
class Action:
    """Something a user does, the permissions it needs and the roles that may do it."""

    name: str
    description: str
    permissions: frozenset
    roles: frozenset


ALL = frozenset(ROLES)


def _action(name, description, permissions, roles):
    return Action(name, description, frozenset(permissions), frozenset(roles))


ACTIONS = (
    _action(
        "read_master_data",
        "Read bank accounts, GL accounts, periods, dimensions, branches, posting rules, CSV profiles",
        _master(["view"]) | {"accounting.view_accountingperiod"},
        ALL,
    ),
    _action(
        "maintain_master_data",
        "Add and change bank accounts, GL accounts, dimensions, branches, posting rules, CSV profiles",
        _master(["add", "change"]),
        {ACCOUNTANT, ADMIN},
    ),
    _action("delete_master_data", "Delete master data nothing refers to", _master(["delete"]), {ADMIN}),
    _action(
        "read_documents",
        "Read bank transactions, cash submissions, float allocations and transfers",
        _perms(["view"], "banking", (*DOCUMENTS, "banktransfer", "banktransferallocation")),
        ALL,
    ),
    _action(
        "record_drafts",
        "Record, change and delete draft transactions, cash submissions and float allocations; "
        "start, receive and fail transfers (a posted document answers 409)",
        _perms(["add", "change", "delete"], "banking", DOCUMENTS)
        | _perms(["add", "change"], "banking", ("banktransfer",)),
        {CLERK, ACCOUNTANT, ADMIN},
    ),
    _action(
        "post",
        "Post transactions, cash submissions, float allocations and float returns to the GL",
        {f"banking.post_{model}" for model in DOCUMENTS},
        {ACCOUNTANT, ADMIN},
    ),
    _action(
        "reverse",
        "Reverse (and correct) posted transactions, cash submissions, float allocations and float returns",
        {f"banking.reverse_{model}" for model in DOCUMENTS},
        {ACCOUNTANT, ADMIN},
    ),
    _action(
        "read_ledger",
        "Read GL postings, GL lines and their dimension assignments",
        _perms(["view"], "accounting", LEDGER),
        {ACCOUNTANT, CONTROLLER, AUDITOR, ADMIN},
    ),
    _action(
        "import_statements",
        "Import bank statement files (API, admin, import_statement --user)",
        {"banking.import_bankstatement", "banking.add_bankstatement"},
        {ACCOUNTANT, ADMIN},
    ),
    _action(
        "read_statements",
        "Read imported statements, their lines and the matches",
        _perms(["view"], "banking", STATEMENTS),
        {ACCOUNTANT, CONTROLLER, AUDITOR, ADMIN},
    ),
    _action(
        "match",
        "Run the matcher and the reconciliation, accept or reject suggestions, match and unmatch by hand, "
        "record a statement line as a transaction",
        {"banking.match_statementline"},
        {ACCOUNTANT, ADMIN},
    ),
    _action(
        "read_reconciliations",
        "Read reconciliations and their snapshots (the live reconciliation also shows GL lines, "
        "statements and transactions: read_ledger, read_statements, read_documents)",
        {"banking.view_bankreconciliation"},
        {ACCOUNTANT, CONTROLLER, AUDITOR, ADMIN},
    ),
    _action(
        "finalize_reconciliations",
        "Sign off (finalize) a reconciliation, which locks the month",
        {"banking.finalize_bankreconciliation"},
        {CONTROLLER, ADMIN},
    ),
    _action(
        "read_reports",
        "Read the cash position, dimensional analysis and variance report (JSON, CSV, XLSX)",
        set().union(
            *(
                REPORT_PERMISSIONS[name]
                for name in ("cash-position", "dimensional-analysis", "variance-report")
            )
        ),
        {ACCOUNTANT, CONTROLLER, AUDITOR, ADMIN},
    ),
    _action(
        "read_transfer_tracking",
        "Read transfer tracking (transfers in transit, late or short)",
        REPORT_PERMISSIONS["transfer-tracking"],
        ALL,
    ),
    _action(
        "close_periods",
        "Add, close, reopen and delete unused accounting periods (close_period, reopen_period --user)",
        {
            "accounting.close_accountingperiod",
            "accounting.add_accountingperiod",
            "accounting.delete_accountingperiod",
        },
        {CONTROLLER, ADMIN},
    ),
    _action(
        "read_audit_trail",
        "Read the history of changes to financial records",
        _perms(["view"], "auditlog", ("logentry",)),
        {CONTROLLER, AUDITOR, ADMIN},
    ),
    _action(
        "read_users",
        "Read users and groups",
        _perms(["view"], "auth", USERS),
        {AUDITOR, ADMIN},
    ),
    _action(
        "manage_users",
        "Add, change and delete users, their groups and API tokens",
        _perms(["add", "change", "delete"], "auth", USERS)
        # The admin's token screen is DRF's proxy model, with permissions of its own.
        | _perms(["view", "add", "change", "delete"], "authtoken", ("token", "tokenproxy")),
        {ADMIN},
    ),
)

ACTIONS_BY_NAME = {action.name: action for action in ACTIONS}


def role_permissions(role):
    """Return the permissions (``"app.codename"``) the group of ``role`` holds."""
    return frozenset().union(*(action.permissions for action in ACTIONS if role in action.roles))


def role_may(role, action_name):
    """Return whether ``role`` may do the action named ``action_name``."""
    return role in ACTIONS_BY_NAME[action_name].roles


def _permission_name(apps, app_label, codename):
    if f"{app_label}.{codename}" in CUSTOM_PERMISSIONS:
        return CUSTOM_PERMISSIONS[f"{app_label}.{codename}"]
    verb, model_name = codename.split("_", 1)
    try:
        verbose = apps.get_model(app_label, model_name)._meta.verbose_name
    except LookupError:
        verbose = model_name
    return f"Can {verb} {verbose}"


def _installed(apps, app_label):
    try:
        apps.get_app_config(app_label)
    except LookupError:
        return False
    return True


def roles_install(apps, *, using="default"):
    """Create the custom permissions and the five groups with their permissions; idempotent.

    ``apps`` is a migration's app registry (or ``django.apps.apps``). Permissions
    of apps not installed (the audit trail's, on a tree without it) are left out.
    Permissions are only ever added to a group here, never taken away, so running
    it again (every ``migrate`` does, through ``post_migrate``) changes nothing.
    """
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    group_model = apps.get_model("auth", "Group")
    wanted = set(CUSTOM_PERMISSIONS).union(*(role_permissions(role) for role in ROLES))
    found = {}
    for perm in sorted(wanted):
        app_label, codename = perm.split(".", 1)
        if not _installed(apps, app_label):
            continue
        model_name = codename.split("_", 1)[1]
        content_type, _ = content_type_model.objects.using(using).get_or_create(
            app_label=app_label, model=model_name
        )
        found[perm], _ = permission_model.objects.using(using).get_or_create(
            content_type=content_type,
            codename=codename,
            defaults={"name": _permission_name(apps, app_label, codename)[:255]},
        )
    for role in ROLES:
        group, _ = group_model.objects.using(using).get_or_create(name=role)
        group.permissions.add(*(found[perm] for perm in sorted(role_permissions(role)) if perm in found))


def roles_uninstall(apps, *, using="default"):
    """Remove the custom permissions and the five groups (the migration's reverse).

    A group someone still belongs to is kept (without the custom permissions), so
    stepping a migration back and forward never loses who holds which role.
    """
    groups = apps.get_model("auth", "Group").objects.using(using).filter(name__in=ROLES)
    groups.filter(user__isnull=True).delete()
    permission_model = apps.get_model("auth", "Permission")
    for perm in CUSTOM_PERMISSIONS:
        app_label, codename = perm.split(".", 1)
        permission_model.objects.using(using).filter(
            content_type__app_label=app_label, codename=codename
        ).delete()
