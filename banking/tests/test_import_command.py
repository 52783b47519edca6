"""manage.py import_statement: the same service, a summary, a non-zero exit on error.

Uses real samples copied into ``samples/`` (see samples/README.md and
samples/LICENSES): viafintech/camt_parser (MIT), wolph/mt940 (MIT).
"""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounting.tests.factories import UserFactory
from banking.models import BankStatement, StatementLine
from banking.tests.factories import BankAccountFactory, StatementCsvProfileFactory
from banking.tests.statement_files import SAMPLES

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_statement", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def counts():
    return BankStatement.objects.count(), StatementLine.objects.count()


def test_import_prints_the_summary_and_a_rerun_adds_nothing():
    BankAccountFactory(id="ba-six", iban="CH0309000000250090342", account_number="", currency="CHF")
    path = str(SAMPLES / "camt" / "camt053_six_v4.xml")

    out, _ = run(path, "--account", "ba-six")
    again, _ = run(path, "--account", "ba-six", "--format", "camt")

    assert "32 line(s) read, 32 new, 0 duplicate(s) skipped" in out
    assert "balances agree" in out
    assert "32 line(s) read, 0 new, 32 duplicate(s) skipped" in again
    assert counts() == (1, 32)


def test_inconsistent_statement_is_imported_with_a_warning():
    BankAccountFactory(id="ba-v8", iban="CH1111111111111111111", account_number="", currency="CHF")

    out, err = run(str(SAMPLES / "camt" / "camt053_v8.xml"), "--account", "ba-v8")

    assert "INCONSISTENT" in out
    assert "do not add up" in err
    assert counts() == (1, 3)


def test_csv_with_profile(tmp_path):
    BankAccountFactory(id="ba-csv", iban="", account_number="1234", currency="USD")
    StatementCsvProfileFactory(name="Plain")
    path = tmp_path / "oct.csv"
    path.write_bytes(b"Date,Amount,Description\n2025-10-01,100.00,Deposit\n")

    out, _ = run(str(path), "--account", "ba-csv", "--format", "csv", "--profile", "Plain")

    assert "1 new" in out


def test_the_same_csv_under_another_name_is_already_imported_and_says_from_which_file(tmp_path):
    # A CSV statement is numbered by its file name: a renamed copy was stored a second time.
    BankAccountFactory(id="ba-csv", iban="", account_number="1234", currency="USD")
    StatementCsvProfileFactory(name="Plain")
    content = b"Date,Amount,Description\n2025-10-01,100.00,Deposit\n"
    (tmp_path / "oct.csv").write_bytes(content)
    (tmp_path / "oct-copy.csv").write_bytes(content)

    run(str(tmp_path / "oct.csv"), "--account", "ba-csv", "--profile", "Plain")
    again, _ = run(str(tmp_path / "oct-copy.csv"), "--account", "ba-csv", "--profile", "Plain")

    assert "oct-copy.csv (csv) into ba-csv: 1 statement(s), 1 line(s) read, 0 new, 1 duplicate(s)" in again
    assert "  oct.csv 2025-10-01..2025-10-01" in again
    assert "(already imported from oct.csv, 1 duplicate)" in again
    assert counts() == (1, 1)


def test_a_profile_saved_before_the_separator_rules_is_refused(tmp_path):
    BankAccountFactory(id="ba-csv", iban="", account_number="1234", currency="USD")
    profile = StatementCsvProfileFactory(name="Old")
    type(profile).objects.filter(pk=profile.pk).update(delimiter="5")
    path = tmp_path / "oct.csv"
    path.write_bytes(b"Date5Amount5Description\n2025-10-0155.005Deposit\n")

    with pytest.raises(CommandError, match=r'CSV profile "Old" cannot read statements as saved.*delimiter'):
        run(str(path), "--account", "ba-csv", "--format", "csv", "--profile", "Old")

    assert counts() == (0, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["camt/camt053_six_v4.xml", "--account", "ba-nope"], "No bank account"),
        (["camt/missing.xml", "--account", "ba-x"], "no such file"),
        (["camt/camt053_six_v4.xml", "--account", "ba-x"], "is for account CH0309000000250090342"),
        (["mt940/cmxl_mt940.sta", "--account", "ba-x", "--format", "camt"], "not well-formed XML"),
        (["camt/camt053_six_v4.xml", "--account", "ba-x", "--profile", "Nope"], "No CSV profile"),
    ],
    ids=["unknown-account", "missing-file", "other-account", "wrong-format", "unknown-profile"],
)
def test_errors_raise_command_error_and_import_nothing(args, message):
    BankAccountFactory(id="ba-x", iban="GB29NWBK60161331926819", account_number="", currency="CHF")
    args = [str(SAMPLES / args[0]), *args[1:]]

    with pytest.raises(CommandError, match=message):
        run(*args)

    assert counts() == (0, 0)


def test_command_exits_non_zero_with_the_reason(tmp_path):
    # given a file that is not there, run as cron would, through manage.py
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cnperp.settings_test"}

    process = subprocess.run(
        [sys.executable, "manage.py", "import_statement", str(tmp_path / "gone.xml"), "--account", "ba-x"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert process.returncode == 1
    assert "no such file" in process.stderr


# --- Who imported it: --user, else the system account ----------------------------------


SIX = ("camt", "camt053_six_v4.xml")


def six_account():
    return BankAccountFactory(id="ba-six", iban="CH0309000000250090342", account_number="", currency="CHF")


def test_without_user_the_statement_records_the_system_account():
    six_account()

    run(str(SAMPLES.joinpath(*SIX)), "--account", "ba-six")

    statement = BankStatement.objects.get()
    assert statement.created_by.get_username() == "system-posting"
    assert not statement.created_by.is_active  # a service account nobody signs in with


def test_user_with_the_import_permission_is_recorded():
    six_account()
    accountant = UserFactory(username="anna")
    accountant.groups.add(Group.objects.get(name="accountant"))

    out, _ = run(str(SAMPLES.joinpath(*SIX)), "--account", "ba-six", "--user", "anna")

    assert "32 new" in out
    assert BankStatement.objects.get().created_by == accountant


def test_user_without_the_import_permission_is_refused_and_nothing_imported():
    six_account()
    auditor = UserFactory(username="otto")
    auditor.groups.add(Group.objects.get(name="auditor"))

    with pytest.raises(CommandError, match=r"otto.*banking\.import_bankstatement"):
        run(str(SAMPLES.joinpath(*SIX)), "--account", "ba-six", "--user", "otto")

    assert counts() == (0, 0)


def test_unknown_user_is_refused_naming_the_option_and_nothing_imported():
    six_account()

    with pytest.raises(CommandError, match='--user: No user is called "nobody"'):
        run(str(SAMPLES.joinpath(*SIX)), "--account", "ba-six", "--user", "nobody")

    assert counts() == (0, 0)


def test_a_notification_without_balances_says_they_are_not_given():
    # A camt.054 states no balances: the summary printed "opening None closing None".
    BankAccountFactory(id="ba-54", iban="CH0309000000250090342", account_number="", currency="CHF")

    out, _ = run(str(SAMPLES / "camt" / "camt054_example.xml"), "--account", "ba-54")

    assert "opening not given closing not given" in out
    assert "None" not in out
    assert "balances not given: not checked" in out


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_import_while_another_session_holds_the_account_fails_in_one_line_after_retrying():
    # Given another session that holds the bank account's row (an import under way elsewhere).
    import MySQLdb
    from django.db import connection

    BankAccountFactory(id="ba-six", iban="CH0309000000250090342", account_number="", currency="CHF")
    holder = MySQLdb.connect(**connection.get_connection_params())
    holder.autocommit(False)
    holder.cursor().execute("SELECT id FROM bank_accounts WHERE id = 'ba-six' FOR UPDATE")
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")  # a second a wait, not 50

    # When the command imports into that account.
    try:
        with pytest.raises(CommandError) as failed:
            run(str(SAMPLES / "camt" / "camt053_six_v4.xml"), "--account", "ba-six")
    finally:
        holder.rollback()
        holder.close()
        connection.close()  # back to the server's lock wait for the tests after

    # Then it retried as the posting commands do, and says so in one line; nothing imported.
    assert failed.value.returncode == 1
    message = str(failed.value)
    assert "busy" in message and "try again" in message and "Nothing imported." in message
    assert "\n" not in message
    assert counts() == (0, 0)


def test_a_csv_profile_with_another_format_is_refused():
    # Given a CSV profile and a camt file
    BankAccountFactory(id="ba-six", iban="CH0309000000250090342", account_number="", currency="CHF")
    StatementCsvProfileFactory(name="Hausbank")

    # When both are given, with --format camt
    with pytest.raises(CommandError) as refused:
        run(
            str(SAMPLES / "camt" / "camt053_six_v4.xml"),
            "--account",
            "ba-six",
            "--format",
            "camt",
            "--profile",
            "Hausbank",
        )

    # Then it names the flags, and nothing is imported
    assert refused.value.returncode == 1
    assert "--profile" in str(refused.value) and "--format camt" in str(refused.value)
    assert counts() == (0, 0)
