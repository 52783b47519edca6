"""Alert on variances above the threshold: ``manage.py variance_alerts [--period YYYY-MM]``.

For cron, after month end. Lists every variance of the month above
``BANKING_VARIANCE_ALERT_THRESHOLD`` (book against statement per bank account,
branch cash deposited against expected), logs one JSON line per alert on the
``cnperp.alerts`` logger, mails them to ``ADMINS`` through Django's mail (the
console backend unless ``DJANGO_EMAIL_BACKEND`` says otherwise), and exits
non-zero when there is any, so that cron and monitoring notice. No alert: a
line saying so and exit 0. A book-against-statement variance of a month
signed off (its variance explained in the sign-off note) is listed as accepted,
naming the signer, and raises no alert.
"""

import datetime
import json
import logging

from django.conf import settings
from django.core.mail import mail_admins
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounting.models import AccountingPeriod
from banking.matching import period_bounds
from banking.reports import alert_threshold, variance_alerts_get
from cnperp.exceptions import DomainError

logger = logging.getLogger("cnperp.alerts")


def previous_month(today):
    return AccountingPeriod.code_for(today.replace(day=1) - datetime.timedelta(days=1))


def describe(alert):
    where = alert["bank_account_id"] + (f" branch {alert['branch_id']}" if alert["branch_id"] else "")
    what = "book vs statement" if alert["kind"] == "book_vs_statement" else "cash submitted vs deposited"
    return (
        f"{alert['period']} {where}: {what} variance {alert['variance']:.2f} {alert['currency']} "
        f"(threshold {alert['threshold']:.2f})"
    )


def report_link(alert):
    """Return the request that opens the variance report ``alert`` came from.

    Every alert is one bank account's (its book against its statement, or a
    branch's cash deposited into it): the link names that account. The month's
    report over every account answers 400 once the accounts are in more than
    one currency, since amounts in two currencies cannot be summed.
    """
    query = urlencode({"period": alert["period"], "bank_account_id": alert["bank_account_id"]})
    return f"{reverse('variance-report')}?{query}"


class Command(BaseCommand):
    help = "List variances above BANKING_VARIANCE_ALERT_THRESHOLD, mail the admins, exit 1 when there is any."

    def add_arguments(self, parser):
        parser.add_argument(
            "--period", metavar="YYYY-MM", help="The month to check (default: the previous month)."
        )

    def handle(self, *args, period=None, **options):
        if period is not None and not period.strip():
            raise CommandError("--period is empty; give YYYY-MM, or leave it out for the previous month.")
        period = period or previous_month(timezone.localdate())
        try:
            period_bounds(period)
            alerts = variance_alerts_get(period=period)
        except DomainError as exc:
            raise CommandError(f"--period: {exc.message}") from exc
        accepted = [alert for alert in alerts if alert["signed_off_by"]]
        for alert in accepted:
            # Explained in the sign-off note: said, so that the operator sees it, but no alarm.
            self.stdout.write(f"{describe(alert)}: accepted at sign-off by {alert['signed_off_by']}.")
        alerts = [alert for alert in alerts if not alert["signed_off_by"]]
        if not alerts:
            left = " left to explain" if accepted else ""
            self.stdout.write(f"No variance above {alert_threshold():.2f} in {period}{left}.")
            return
        lines = [describe(alert) for alert in alerts]
        for alert, line in zip(alerts, lines, strict=True):
            self.stdout.write(line)
            payload = {
                "event": "variance_alert",
                **{
                    key: (f"{value:.2f}" if key in ("variance", "threshold") else value)
                    for key, value in alert.items()
                },
            }
            logger.warning(json.dumps(payload, sort_keys=True))
        if settings.ADMINS:
            body = "".join(
                f"{line}\n  See GET {report_link(alert)}\n" for alert, line in zip(alerts, lines, strict=True)
            )
            mail_admins(f"{len(alerts)} banking variance(s) above {alert_threshold():.2f} in {period}", body)
            mailed = "the admins were mailed"
        else:
            # Django's mail_admins sends nothing without ADMINS: say so rather than claim a mail.
            mailed = "nobody was mailed: no admins are set (DJANGO_ADMINS)"
        raise CommandError(f"{len(alerts)} variance(s) above the threshold in {period}; {mailed}.")
