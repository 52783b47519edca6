"""The matcher: pair bank statement lines with book transactions, and explain every pair.

A bank reconciliation asks, for each line the bank printed, which transaction in
our books it is. The matcher answers in stages, each one weaker than the last,
and each pair it proposes carries a score (0-100) and a reason a finance user
can check ("same end-to-end id E2E-123"):

a. **exact keys** (``exact_key``): the line's end-to-end id equals ours, its
   bank reference or FITID equals our reference, or our reference or id appears
   as a word of the line's references or narrative; amounts equal.
b. **amount and date** (``amount_date``): the same signed amount within
   ``BANKING_MATCH_DATE_WINDOW_DAYS`` (default 5) days, with the counterparty
   name as further evidence (or counter-evidence when it clearly differs).
c. **reference tokens and fuzzy names** (``reference_fuzzy``): our reference
   found in the line's text once separators are ignored (``INV 2025 0042`` for
   ``INV-2025-0042``), or a counterparty name that is close but not equal
   (``ACME Ltd`` and ``ACME LIMITED PLC``); this stage may reach up to three
   windows away when the reference or the name says so (a cheque cashed late).
d. **sums** (``many_to_one``, ``one_to_many``): one statement line equal to the
   sum of 2 to ``MAX_GROUP_SIZE`` book items (a deposit of three cash
   submissions), or one book item split over several lines (a transfer the bank
   paid in two parts). The items of a sum must share evidence with the other
   side (the same counterparty, or a reference-like word), which both keeps the
   search small and keeps chance sums (any 40,000 amounts contain pairs that add
   up to almost anything) from becoming matches.
e. **sums by date alone** (the same two stage names, suggestions only): a line
   or book item that nothing above explains, and whose few open counterparts
   within the window (``GROUP_POOL_SIZE`` at most) hold exactly one combination
   adding up to it, gets that combination as a suggestion of score
   ``DATE_ONLY_SUM_SCORE``, its reason saying that only the amounts and dates
   link them. It is never confirmed: a person accepts or rejects it.

**What is a candidate.** Book transactions of the statement's bank account that
are draft or posted (a clerk may record the transaction after the bank did; it
still explains the line), never reversed, and not yet matched
(``reconciliation_status`` unreconciled), dated from one window before the
period to three windows after it. Statement lines of the account booked in the
period and not yet matched. Pairs a user rejected are never proposed again.

**What is confirmed.** Only a certain pair: its score reaches
``BANKING_MATCH_AUTO_CONFIRM_SCORE`` (default 90), it beats every other
candidate of its line *and* every other line's claim on its transaction by
``MARGIN`` points. Anything less certain, such as two equal amounts from the
same payer in the same week, stays a suggestion for a person to accept or
reject: the matcher prefers leaving a line open to making a false match.

**Speed.** One run reads the candidates with two queries (``values_list``),
indexes them in dicts (by key, by amount, by counterparty, by day), decides in
memory, then writes the matches with multi-row INSERTs (escaped literals on
MySQL/MariaDB) and the statuses with one plain ``UPDATE ... WHERE id IN``
per table and 5,000 ids: no query per line. ``docs/benchmarks.md`` has the
figures.

**Locks**, in one global order for every service here: the accounting periods
(shared, as posting takes them), the bank account (exclusive: one
reconciliation change per account at a time), its reconciliation snapshots
(refusing a finalized period), then statement lines and bank transactions, each
in primary-key order.
"""

import bisect
import dataclasses
import datetime
import difflib
import functools
import re
import uuid
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from accounting import locks
from accounting.models import AccountingPeriod
from accounting.services import periods_open
from banking.choices import (
    TYPE_DIRECTION,
    Direction,
    LineMatchStatus,
    MatchStatus,
    PostingStatus,
    ReconciliationState,
    ReconciliationStatus,
    TransactionType,
)
from banking.models import (
    BankAccount,
    BankReconciliation,
    BankTransaction,
    ReconciliationMatch,
    StatementLine,
)
from banking.services import bank_transaction_create, finalized_months, finalized_refusal
from cnperp import audit
from cnperp.bulk_sql import rows_insert
from cnperp.exceptions import ConflictError, DomainError, NotFoundError

CENT = Decimal("0.01")

# Bounds that keep a run linear in the number of lines.
MAX_GROUP_SIZE = 5  # items in one many-to-one or one-to-many sum
GROUP_POOL_SIZE = 12  # nearest candidates searched for a sum
BUCKET_CAP = 50  # equal-amount candidates scored per line
KEY_CAP = 20  # a "reference" shared by more book items than this is a label, not a key
MARGIN = 10  # points by which a confirmed pair beats every rival
SUGGESTIONS_PER_LINE = 3
MIN_SUGGESTION_SCORE = 40
DATE_ONLY_SUM_SCORE = 45  # a sum with no shared name or reference: worth a look, never a match
WRITE_CHUNK = 5000

# ISO 20022 and SWIFT fill a missing end-to-end id with these; they identify nothing.
NO_KEY = frozenset({"", "NOTPROVIDED", "NONREF", "NONE", "N/A"})

STAGE_EXACT = "exact_key"
STAGE_AMOUNT_DATE = "amount_date"
STAGE_REFERENCE_FUZZY = "reference_fuzzy"
STAGE_MANY_TO_ONE = "many_to_one"
STAGE_ONE_TO_MANY = "one_to_many"
STAGE_MANUAL = "manual"
STAGE_NEW_TRANSACTION = "new_transaction"


def match_date_window():
    """Return the date window in days (setting ``BANKING_MATCH_DATE_WINDOW_DAYS``, default 5)."""
    window = getattr(settings, "BANKING_MATCH_DATE_WINDOW_DAYS", 5)
    if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window <= 90:
        raise ImproperlyConfigured(
            f"BANKING_MATCH_DATE_WINDOW_DAYS is {window!r}; give a whole number of days from 0 to 90."
        )
    return window


def auto_confirm_score():
    """Return the score from which a unique pair is confirmed (``BANKING_MATCH_AUTO_CONFIRM_SCORE``, 90)."""
    raw = getattr(settings, "BANKING_MATCH_AUTO_CONFIRM_SCORE", 90)
    try:
        score = Decimal(str(raw))
    except ArithmeticError:
        score = None
    # Below 50 a bare amount-and-date pair (55 points and up) would be confirmed without any evidence.
    if isinstance(raw, bool) or score is None or not score.is_finite() or not 50 <= score <= 100:
        raise ImproperlyConfigured(
            f"BANKING_MATCH_AUTO_CONFIRM_SCORE is {raw!r}; give a score from 50 to 100 (90 by default)."
        )
    return score


# --- Inputs, periods and locks -------------------------------------------------------


def period_bounds(period):
    """Return the first and last day of ``period`` (``YYYY-MM``), or raise ``DomainError`` on ``period``."""
    if not isinstance(period, str):
        raise DomainError("Give the period as YYYY-MM, for example 2025-10.", field="period")
    try:
        return AccountingPeriod.bounds(period)
    except ValidationError:
        raise DomainError(
            f'"{period}" is not a period; use YYYY-MM, for example 2025-10.', field="period"
        ) from None


def _missing_account(bank_account_id):
    return NotFoundError(f'No bank account has the id "{bank_account_id}".', field="bank_account_id")


def bank_account_get(bank_account_id):
    """Return the bank account, or raise ``NotFoundError`` naming ``bank_account_id``."""
    account = None
    if isinstance(bank_account_id, str) and bank_account_id:
        account = BankAccount.objects.select_related("gl_account").filter(pk=bank_account_id).first()
    if account is None:
        raise _missing_account(bank_account_id)
    return account


def scope_lock(*, bank_account_id, periods, refused=None):
    """Lock a reconciliation scope in the global order; return ``(account, {period: snapshot})``.

    Raises ``NotFoundError`` for an unknown account and ``ConflictError`` when
    the reconciliation of one of ``periods`` is finalized (saying that ``refused``
    can no longer happen: its matches by default). Must run inside
    ``transaction.atomic``.
    """
    codes = sorted(set(periods))
    periods_open([period_bounds(code)[0] for code in codes])
    account = (
        BankAccount.objects.select_for_update().filter(pk=bank_account_id).first()
        if isinstance(bank_account_id, str)
        else None
    )
    if account is None:
        raise _missing_account(bank_account_id)
    snapshots = list(
        BankReconciliation.objects.select_for_update()
        .select_related("approved_by")
        .filter(bank_account_id=account.pk, period_id__in=codes)
        .order_by("pk")
    )
    for snapshot in snapshots:
        if snapshot.status == ReconciliationState.FINALIZED:
            raise finalized_refusal(snapshot, refused)
    return account, {s.period_id: s for s in snapshots if not s.scope_key}


def _chunks(items, size=WRITE_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Text: names, keys and reference words ------------------------------------------

_WORD = re.compile(r"[A-Z0-9]+(?:[._/-][A-Z0-9]+)*")
_NAME_WORD = re.compile(r"[A-Z0-9&]+")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
# Legal forms are written several ways; the same company should compare equal.
_NAME_SYNONYMS = {
    "LIMITED": "LTD",
    "INCORPORATED": "INC",
    "COMPANY": "CO",
    "CORPORATION": "CORP",
    "AND": "&",
}


@functools.lru_cache(maxsize=65536)
def name_key(name):
    """Return ``name`` upper-cased, punctuation dropped, legal forms written one way."""
    if not name:
        return ""
    return " ".join(_NAME_SYNONYMS.get(word, word) for word in _NAME_WORD.findall(name.upper()))


@functools.lru_cache(maxsize=131072)
def name_similarity(a, b):
    """Return how alike two name keys are, 0 to 1 (difflib ratio, word order ignored)."""
    if a == b:
        return 1.0
    ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    sorted_a, sorted_b = " ".join(sorted(a.split())), " ".join(sorted(b.split()))
    if sorted_a != a or sorted_b != b:
        ratio = max(ratio, difflib.SequenceMatcher(None, sorted_a, sorted_b, autojunk=False).ratio())
    return ratio


_DIGITS = frozenset("0123456789")


def _is_reference_word(word):
    # A word that can identify a payment: long enough and with a digit ("INV-0042", not "PAYMENT").
    return len(word) >= 4 and not _DIGITS.isdisjoint(word)


def _key(value):
    value = (value or "").strip().upper()
    return "" if value in NO_KEY else value


def _days_text(days):
    if days == 0:
        return "same day"
    return f"date {days} day{'s' if days != 1 else ''} apart"


def _money(value):
    # As f"{value:.2f}" (both round half to even), at a fraction of its cost on a Decimal.
    return str(value.quantize(CENT))


# --- In-memory candidates -----------------------------------------------------------


@dataclasses.dataclass(slots=True, eq=False)
class LineItem:
    """A statement line as the matcher sees it."""

    id: str
    day: int
    amount: Decimal
    name: str
    name_key: str
    e2e: str
    keys: tuple  # bank reference and FITID, upper-cased
    words: frozenset  # reference-like words of the references and narrative
    text: str  # references and narrative, letters and digits only
    status: str


@dataclasses.dataclass(slots=True, eq=False)
class BookItem:
    """A book transaction as the matcher sees it; ``amount`` signed by its direction."""

    id: str
    day: int
    amount: Decimal
    name: str
    name_key: str
    e2e: str
    reference: str
    ref_key: str  # upper-cased reference
    ref_alnum: str  # reference, letters and digits only
    words: frozenset


LINE_FIELDS = (
    "id",
    "booking_date",
    "amount",
    "counterparty_name",
    "end_to_end_id",
    "bank_reference",
    "fitid",
    "narrative",
    "match_status",
)
BOOK_FIELDS = (
    "id",
    "transaction_date",
    "direction",
    "amount",
    "counterparty_name",
    "end_to_end_id",
    "reference",
    "description",
)


def _line_item(row):
    pk, day, amount, name, e2e, bank_ref, fitid, narrative, status = row
    e2e_key, ref_key, fitid_key = _key(e2e), _key(bank_ref), _key(fitid)
    text = " ".join(filter(None, (e2e_key, ref_key, fitid_key, (narrative or "").upper())))
    words = frozenset(w for w in _WORD.findall(text) if _is_reference_word(w))
    return LineItem(
        id=pk,
        day=day.toordinal(),
        amount=amount,
        name=name or "",
        name_key=name_key(name),
        e2e=e2e_key,
        keys=tuple(k for k in (ref_key, fitid_key) if k),
        words=words,
        text=_NOT_ALNUM.sub("", text),
        status=status,
    )


def _book_item(row):
    pk, day, direction, amount, name, e2e, reference, description = row
    ref_key = _key(reference)
    own = " ".join(filter(None, (ref_key, _key(e2e), (description or "").upper())))
    return BookItem(
        id=pk,
        day=day.toordinal(),
        amount=amount if direction == Direction.IN else -amount,
        name=name or "",
        name_key=name_key(name),
        e2e=_key(e2e),
        reference=reference or "",
        ref_key=ref_key,
        ref_alnum=_NOT_ALNUM.sub("", ref_key),
        words=frozenset(w for w in _WORD.findall(own) if _is_reference_word(w)),
    )


def book_candidates(*, bank_account_id, start, end, lock=False):
    """Return the book transactions that statement lines of ``start``..``end`` may match."""
    window = match_date_window()
    rows = BankTransaction.objects.filter(
        bank_account_id=bank_account_id,
        reconciliation_status=ReconciliationStatus.UNRECONCILED,
        posting_status__in=[PostingStatus.DRAFT, PostingStatus.POSTED],
        # The reference stage reaches three windows either way: a cheque booked on 20 September
        # and cashed on 3 October is found from October's side too.
        transaction_date__gte=start - datetime.timedelta(days=3 * window),
        transaction_date__lte=end + datetime.timedelta(days=3 * window),
    )
    if lock:
        rows = rows.select_for_update()
    return [_book_item(row) for row in rows.order_by("pk").values_list(*BOOK_FIELDS)]


def _in_currency(currency, prefix=""):
    """Statement lines in the account's ``currency``, or in none named."""
    if not currency:
        return Q()
    return Q(**{f"{prefix}currency": ""}) | Q(**{f"{prefix}currency__iexact": currency})


def line_candidates(*, bank_account_id, start, end, lock=False, currency=None):
    """Return the statement lines of ``start``..``end`` that are not matched yet.

    With ``currency`` (the account's), a line the bank booked in another one (an EUR
    entry on a CHF account) is left out: its amount is not the account's money, so
    an equal number is no match (nor may staff match it by hand).
    """
    rows = StatementLine.objects.filter(
        bank_account_id=bank_account_id, booking_date__gte=start, booking_date__lte=end
    ).exclude(match_status=LineMatchStatus.MATCHED)
    if currency:
        rows = rows.filter(_in_currency(currency))
    if lock:
        rows = rows.select_for_update()
    return [_line_item(row) for row in rows.order_by("pk").values_list(*LINE_FIELDS)]


# --- Decisions -------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Proposal:
    """A proposed match: one line and one book item, or a sum on one side."""

    lines: tuple
    books: tuple
    score: float
    stage: str
    reason: str

    def rounded_score(self):
        return Decimal(str(min(max(self.score, 0), 100))).quantize(CENT)


def _score_pair(line, book, window):
    """Return ``(score, stage, reason)`` for two items of equal amount, or ``None`` when too weak."""
    days = abs(line.day - book.day)
    score = 55.0
    stage = STAGE_AMOUNT_DATE
    if days <= window:
        score += 15 - days
        parts = [f"amount {_money(line.amount)} and {_days_text(days)}"]
    else:
        # Outside the window only the name or the reference can carry a pair; a name alone stays below 90.
        parts = [f"amount {_money(line.amount)}, {_days_text(days)} (outside the {window}-day window)"]
    evidence = False
    if line.name_key and book.name_key:
        similarity = name_similarity(line.name_key, book.name_key)
        if similarity >= 0.6:
            score += 30 * similarity
            evidence = similarity >= 0.8
            sign = "=" if similarity == 1.0 else "≈"
            parts.append(f"counterparty '{line.name}' {sign} '{book.name}' ({similarity:.2f})")
            if similarity < 1.0:
                stage = STAGE_REFERENCE_FUZZY
        else:
            score -= 10
            parts.append(f"counterparty '{line.name}' differs from '{book.name}' ({similarity:.2f})")
    if line.e2e and book.e2e and line.e2e != book.e2e:
        # Both sides carry the payment's own id, and they differ: another payment of the same amount.
        score -= 40
        parts.append(f"end-to-end ids differ ({line.e2e} on the statement, {book.e2e} in the books)")
    if len(book.ref_alnum) >= 6 and book.ref_alnum in line.text:
        score += 30
        evidence = True
        stage = STAGE_REFERENCE_FUZZY
        parts.append(f"our reference '{book.reference}' appears in the statement text")
    else:
        shared = line.words & book.words
        if shared:
            score += 20
            evidence = True
            stage = STAGE_REFERENCE_FUZZY
            parts.append(f"shared reference {', '.join(sorted(shared)[:3])}")
    if days > window and not evidence:
        return None
    return min(score, 99.0), stage, ", ".join(parts)


def _unique_best(scored, threshold):
    """Return the confirmable pairs of ``scored`` (``{line: [(score, book, proposal)]}``)."""
    best_for_book = {}
    for line, options in scored.items():
        for score, book, _proposal in options:
            best_for_book.setdefault(book, []).append((score, line))
    confirmed = []
    for line, options in scored.items():
        if not options:
            continue
        ranked = sorted(options, key=lambda option: -option[0])
        score, book, proposal = ranked[0]
        if score < threshold or (len(ranked) > 1 and score - ranked[1][0] < MARGIN):
            continue
        claims = sorted((s for s, other in best_for_book[book] if other is not line), reverse=True)
        if claims and score - claims[0] < MARGIN:
            continue
        confirmed.append(proposal)
    return confirmed


def _subset_sums(target, pool, limit=2):
    """Return up to ``limit`` index tuples of 2..MAX_GROUP_SIZE items of ``pool`` adding up to ``target``.

    ``pool`` holds positive amounts; sorted largest first, a branch stops as soon
    as what is left cannot reach the target, so twelve items stay instant.
    """
    order = sorted(range(len(pool)), key=lambda i: -pool[i])
    amounts = [pool[i] for i in order]
    found = []

    def walk(start, remaining, chosen):
        if len(found) >= limit:
            return
        if remaining == 0:
            if len(chosen) >= 2:
                found.append(tuple(sorted(order[i] for i in chosen)))
            return
        if len(chosen) == MAX_GROUP_SIZE:
            return
        room = MAX_GROUP_SIZE - len(chosen)
        for i in range(start, len(amounts)):
            if amounts[i] > remaining:
                continue
            if sum(amounts[i : i + room]) < remaining:
                return
            chosen.append(i)
            walk(i + 1, remaining - amounts[i], chosen)
            chosen.pop()
            if len(found) >= limit:
                return

    walk(0, target, [])
    return found


class Matcher:
    """Decide matches for one account and period, in memory; ``run()`` returns the proposals."""

    def __init__(self, lines, books, *, rejected=frozenset(), window=None, threshold=None):
        self.lines = lines
        self.books = books
        self.rejected = rejected
        self.window = match_date_window() if window is None else window
        # The setting's Decimal, compared exactly with the candidates' scores (floats from
        # difflib's name ratios): about 0.3 microseconds a comparison, a few per line.
        self.threshold = auto_confirm_score() if threshold is None else Decimal(str(threshold))
        self.confirmed = []
        self.suggested = []
        self.used_lines = set()
        self.used_books = set()
        self._candidates = {}  # line -> [(score, book, proposal)] from stages b and c
        # Lines whose own key (end-to-end id, reference) names transactions of another amount: an
        # equal amount elsewhere is no proof, so such a line is confirmed only with one of those.
        self.keyed_to = {}
        self._claims_on_book = None  # book -> [(score, line)], built when a sum first asks

    def run(self):
        self._exact_keys()
        self._amount_date()
        self._sums()
        self._suggestions()
        self._date_only_sums()
        return self.confirmed, self.suggested

    def _allowed(self, line, book):
        return (line.id, book.id) not in self.rejected

    def _confirm(self, proposal):
        self.confirmed.append(proposal)
        self.used_lines.update(proposal.lines)
        self.used_books.update(proposal.books)

    # (a) exact keys
    def _exact_keys(self):
        by_e2e, by_ref = defaultdict(list), defaultdict(list)
        for book in self.books:
            if book.e2e:
                by_e2e[book.e2e].append(book)
            if book.ref_key:
                by_ref[book.ref_key].append(book)
            by_ref[book.id.upper()].append(book)
        by_ref = {key: items for key, items in by_ref.items() if len(items) <= KEY_CAP}
        proposals = {}
        for line in self.lines:
            hits = {}
            if line.e2e:
                for book in by_e2e.get(line.e2e, ()):
                    hits[book] = (100.0, f"same end-to-end id {line.e2e}")
            for key in line.keys:
                for book in (*by_ref.get(key, ()), *by_e2e.get(key, ())):
                    if book not in hits:
                        hits[book] = (98.0, f"bank reference {key} is our reference")
            for word in line.words:
                found = by_ref.get(word)
                if found:
                    for book in found:
                        if book not in hits:
                            hits[book] = (96.0, f"our reference {word} appears on the statement line")
            if not hits:
                continue
            equal = [(book, hit) for book, hit in hits.items() if book.amount == line.amount]
            equal = [(book, hit) for book, hit in equal if self._allowed(line, book)]
            if len(equal) == 1:
                book, (score, reason) = equal[0]
                proposals[line] = Proposal((line,), (book,), score, STAGE_EXACT, reason)
            elif not equal:
                self.keyed_to[line] = frozenset(hits)
                for book, (_score, reason) in hits.items():
                    if self._allowed(line, book) and (book.amount > 0) == (line.amount > 0):
                        self.suggested.append(
                            Proposal(
                                (line,),
                                (book,),
                                60.0,
                                STAGE_EXACT,
                                f"{reason}, but the amounts differ: {_money(line.amount)} on the "
                                f"statement, {_money(book.amount)} in the books",
                            )
                        )
        claims = defaultdict(int)
        for proposal in proposals.values():
            claims[proposal.books[0]] += 1
        for proposal in proposals.values():
            if claims[proposal.books[0]] == 1 and proposal.score >= self.threshold:
                self._confirm(proposal)

    # (b) and (c): amount with date window, counterparty, reference words
    def _amount_date(self):
        buckets = defaultdict(list)
        for book in self.books:
            if book not in self.used_books:
                buckets[book.amount].append(book)
        days = {}
        for amount, items in buckets.items():
            items.sort(key=lambda book: book.day)
            days[amount] = [book.day for book in items]
        reach = 3 * self.window
        for line in self.lines:
            if line in self.used_lines:
                continue
            items = buckets.get(line.amount)
            if not items:
                continue
            ordinals = days[line.amount]
            low = bisect.bisect_left(ordinals, line.day - reach)
            high = bisect.bisect_right(ordinals, line.day + reach)
            if high - low > BUCKET_CAP:
                nearest = sorted(items[low:high], key=lambda book: abs(book.day - line.day))[:BUCKET_CAP]
            else:
                nearest = items[low:high]
            options = []
            for book in nearest:
                if not self._allowed(line, book):
                    continue
                scored = _score_pair(line, book, self.window)
                if scored is None:
                    continue
                score, stage, reason = scored
                options.append((score, book, Proposal((line,), (book,), score, stage, reason)))
            if options:
                self._candidates[line] = options
        # Each confirmation removes rivals of other lines, so decide again until nothing changes.
        while True:
            open_candidates = {
                line: [option for option in options if option[1] not in self.used_books]
                for line, options in self._candidates.items()
                if line not in self.used_lines
            }
            confirmed = [
                proposal
                for proposal in _unique_best(open_candidates, self.threshold)
                if not self._keyed_elsewhere(proposal)
            ]
            if not confirmed:
                break
            for proposal in confirmed:
                self._confirm(proposal)

    # (d) sums: many-to-one, then one-to-many
    def _sums(self):
        open_books = [book for book in self.books if book not in self.used_books]
        open_lines = [line for line in self.lines if line not in self.used_lines]
        self._sum_side(targets=open_lines, items=open_books, stage=STAGE_MANY_TO_ONE, many_label="book items")
        open_books = [book for book in open_books if book not in self.used_books]
        open_lines = [line for line in open_lines if line not in self.used_lines]
        self._sum_side(
            targets=open_books, items=open_lines, stage=STAGE_ONE_TO_MANY, many_label="statement lines"
        )

    def _sum_side(self, *, targets, items, stage, many_label):
        by_name, by_word = defaultdict(list), defaultdict(list)
        for item in items:
            if item.name_key:
                by_name[item.name_key].append(item)
            for word in item.words:
                by_word[word].append(item)
        by_word = {word: found for word, found in by_word.items() if len(found) <= 4 * KEY_CAP}
        # A frequent payer has thousands of items a month; only those within the window can join a sum.
        by_name = {key: sorted(found, key=lambda item: item.day) for key, found in by_name.items()}
        by_name = {key: (found, [item.day for item in found]) for key, found in by_name.items()}
        window = self.window
        proposals = []
        for target in targets:
            if abs(target.amount) < 2 * CENT:
                continue
            positive = target.amount > 0
            evidence = {}
            named = by_name.get(target.name_key) if target.name_key else None
            if named:
                found, days = named
                label = f"counterparty '{target.name}'"
                low = bisect.bisect_left(days, target.day - window)
                for item in found[low : bisect.bisect_right(days, target.day + window)]:
                    evidence[item] = label
            for word in target.words:
                label = f"reference {word}"
                for item in by_word.get(word, ()):
                    evidence.setdefault(item, label)
            pool = [
                item
                for item in evidence
                if (item.amount > 0) == positive
                and abs(item.amount) < abs(target.amount)
                and abs(item.day - target.day) <= self.window
                and self._pair_allowed(target, item, stage)
            ]
            if len(pool) < 2:
                continue
            pool.sort(key=lambda item: (abs(item.day - target.day), item.id))
            pool = pool[:GROUP_POOL_SIZE]
            found = _subset_sums(abs(target.amount), [abs(item.amount) for item in pool])
            if not found:
                continue
            members = tuple(pool[i] for i in found[0])
            spread = max(abs(item.day - target.day) for item in members)
            ids = ", ".join(item.id for item in members)
            basis = sorted({evidence[item] for item in members})
            reason = (
                f"{len(members)} {many_label} ({ids}) add up to {_money(target.amount)} within "
                f"{spread} day{'s' if spread != 1 else ''}, sharing {'; '.join(basis)}"
            )
            score = 97.0 - 2 * max(spread - 2, 0)
            # Two combinations that both add up: choosing one would be a guess, at any threshold.
            ambiguous = len(found) > 1
            if ambiguous:
                score = 50.0
                reason = f"one of several combinations: {reason}"
            if stage == STAGE_MANY_TO_ONE:
                proposal = Proposal((target,), members, score, stage, reason)
            else:
                proposal = Proposal(members, (target,), score, stage, reason)
            proposals.append((proposal, ambiguous))
        claims = defaultdict(int)
        for proposal, _ambiguous in proposals:
            for item in (*proposal.lines, *proposal.books):
                claims[item] += 1
        for proposal, ambiguous in proposals:
            items = (*proposal.lines, *proposal.books)
            unique = all(claims[item] == 1 for item in items)
            # A single candidate of the whole amount within MARGIN is a rival too.
            rivalled = any(self._best_single(item) > proposal.score - MARGIN for item in items)
            certain = unique and not ambiguous and not rivalled
            certain = certain and not self._keyed_elsewhere(proposal)
            if certain and proposal.score >= self.threshold:
                self._confirm(proposal)
            else:
                self.suggested.append(proposal)

    # (e) sums with nothing but amounts and dates to go on
    def _date_only_sums(self):
        proposed = {item for proposal in self.suggested for item in (*proposal.lines, *proposal.books)}
        open_lines = [line for line in self.lines if line not in self.used_lines]
        open_books = [book for book in self.books if book not in self.used_books]
        for targets, items, stage, many_label in (
            (open_lines, open_books, STAGE_MANY_TO_ONE, "book items"),
            (open_books, open_lines, STAGE_ONE_TO_MANY, "statement lines"),
        ):
            by_sign = {True: [], False: []}
            for item in sorted(items, key=lambda item: (item.day, item.id)):
                by_sign[item.amount > 0].append(item)
            days = {sign: [item.day for item in found] for sign, found in by_sign.items()}
            for target in targets:
                if target in proposed or abs(target.amount) < 2 * CENT:
                    continue
                positive = target.amount > 0
                low = bisect.bisect_left(days[positive], target.day - self.window)
                high = bisect.bisect_right(days[positive], target.day + self.window)
                # A busy account has hundreds of items a week: a sum among them is chance.
                if high - low > 4 * GROUP_POOL_SIZE:
                    continue
                # Only items nothing else explains: one with a suggestion of its own is spoken for.
                pool = [
                    item
                    for item in by_sign[positive][low:high]
                    if abs(item.amount) < abs(target.amount)
                    and item not in proposed
                    and self._pair_allowed(target, item, stage)
                ]
                if len(pool) < 2 or len(pool) > GROUP_POOL_SIZE:
                    continue
                found = _subset_sums(abs(target.amount), [abs(item.amount) for item in pool])
                if len(found) != 1:
                    continue
                members = tuple(pool[i] for i in found[0])
                spread = max(abs(item.day - target.day) for item in members)
                ids = ", ".join(item.id for item in members)
                reason = (
                    f"{len(members)} {many_label} ({ids}) add up to {_money(target.amount)} within "
                    f"{spread} day{'s' if spread != 1 else ''}; no counterparty or reference links "
                    "them: check before accepting"
                )
                if stage == STAGE_MANY_TO_ONE:
                    proposal = Proposal((target,), members, DATE_ONLY_SUM_SCORE, stage, reason)
                else:
                    proposal = Proposal(members, (target,), DATE_ONLY_SUM_SCORE, stage, reason)
                self.suggested.append(proposal)
                proposed.update((target, *members))

    def _keyed_elsewhere(self, proposal):
        """Whether a line of ``proposal`` has a key naming only transactions outside it."""
        books = set(proposal.books)
        return any(line in self.keyed_to and not self.keyed_to[line] & books for line in proposal.lines)

    def _best_single(self, item):
        """Return the best score of ``item``'s open one-to-one candidates (stages b and c), or -1."""
        if isinstance(item, LineItem):
            options = () if item in self.used_lines else self._candidates.get(item, ())
            return max((score for score, book, _p in options if book not in self.used_books), default=-1.0)
        if self._claims_on_book is None:
            self._claims_on_book = defaultdict(list)
            for line, options in self._candidates.items():
                for score, book, _proposal in options:
                    self._claims_on_book[book].append((score, line))
        if item in self.used_books:
            return -1.0
        claims = self._claims_on_book.get(item, ())
        return max((score for score, line in claims if line not in self.used_lines), default=-1.0)

    def _pair_allowed(self, target, item, stage):
        if stage == STAGE_MANY_TO_ONE:
            return self._allowed(target, item)
        return self._allowed(item, target)

    def _suggestions(self):
        for line, options in self._candidates.items():
            if line in self.used_lines:
                continue
            ranked = sorted(
                (option for option in options if option[1] not in self.used_books),
                key=lambda option: (-option[0], option[1].id),
            )
            for score, _book, proposal in ranked[:SUGGESTIONS_PER_LINE]:
                if score >= MIN_SUGGESTION_SCORE:
                    self.suggested.append(proposal)
        self.suggested = [
            proposal
            for proposal in self.suggested
            if not any(line in self.used_lines for line in proposal.lines)
            and not any(book in self.used_books for book in proposal.books)
        ]


# --- Writing ----------------------------------------------------------------------


MATCH_COLUMNS = (
    "id",
    "bank_account",
    "statement_line",
    "bank_transaction",
    "group_key",
    "amount",
    "score",
    "stage",
    "reason",
    "status",
    "decided_at",
    "decided_by",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
)
# Account, stage, status, times and users repeat on every row of a run: escaped once each.
MATCH_REPEATED = tuple(
    MATCH_COLUMNS.index(name)
    for name in ("bank_account", "stage", "status", "decided_at", "decided_by", "created_at", "updated_at",
                 "created_by", "updated_by")
)  # fmt: skip


class MatchWriter:
    """Build match rows as plain tuples and write them with multi-row INSERTs.

    Django's ``bulk_create`` prepares every field of every instance in Python,
    which for a month of 50,000 matches costs several seconds; tuples sent
    through ``executemany`` cost a fraction of that. Keys share one random
    prefix per writer and then count up, so a run's rows land side by side in
    the primary-key index instead of at random places.
    """

    def __init__(self, *, bank_account_id, user, now):
        self.bank_account_id = bank_account_id
        self.user_id = user.pk if user is not None else None
        self.now = connection.ops.adapt_datetimefield_value(now)
        self.prefix = uuid.uuid4().hex[:10]
        self.count = 0
        self.groups = 0
        self.rows = []

    def add(self, proposal, status):
        """Queue the rows of ``proposal`` (one group key) and return the group key."""
        self.groups += 1
        group = f"g-{self.prefix}-{self.groups:07d}"
        decided = status != MatchStatus.SUGGESTED
        score = proposal.rounded_score()
        reason = proposal.reason[:500]
        many_books = len(proposal.books) > 1
        for line in proposal.lines:
            for book in proposal.books:
                self.count += 1
                # A row's amount is the part of the line this book item explains.
                amount = book.amount if many_books else line.amount
                self.rows.append(
                    (
                        f"m-{self.prefix}-{self.count:07d}",
                        self.bank_account_id,
                        line.id,
                        book.id,
                        group,
                        amount,
                        score,
                        proposal.stage,
                        reason,
                        status,
                        self.now if decided else None,
                        self.user_id if decided else None,
                        self.now,
                        self.now,
                        self.user_id,
                        self.user_id,
                    )
                )
        return group

    def write(self):
        """Write the queued rows; return the first and last id written (``None`` when none were).

        The ids count up, so ``first``..``last`` names every row of the write.
        """
        rows, self.rows = self.rows, []
        if not rows:
            return None
        meta = ReconciliationMatch._meta
        columns = [meta.get_field(name).column for name in MATCH_COLUMNS]
        rows_insert(meta.db_table, columns, rows, repeated=MATCH_REPEATED, chunk_rows=WRITE_CHUNK)
        return rows[0][0], rows[-1][0]


def _write_one(proposal, *, bank_account_id, user, now, status=MatchStatus.CONFIRMED):
    """Write one proposal as a group and return its rows as model instances."""
    writer = MatchWriter(bank_account_id=bank_account_id, user=user, now=now)
    group = writer.add(proposal, status)
    writer.write()
    return list(ReconciliationMatch.objects.filter(group_key=group).order_by("pk"))


def _mark_matched(line_ids, book_ids, *, user, now):
    """Mark these statement lines and transactions matched: one UPDATE per table and chunk of ids.

    Plain SQL by primary key with the ids as parameters: the ORM's ``pk__in``
    sends each of 50,000 ids through its lookup machinery first. (Joining the
    UPDATE on the match rows just written makes MariaDB stage the rows in a
    temporary table: slower, and it fails when the server's temporary directory
    is swept.)
    """
    quote = connection.ops.quote_name
    chunk_size = min(WRITE_CHUNK, (connection.features.max_query_params or WRITE_CHUNK) - 10)
    targets = (
        (StatementLine, sorted(line_ids), (("match_status", LineMatchStatus.MATCHED),)),
        (
            BankTransaction,
            sorted(book_ids),
            (
                ("reconciliation_status", ReconciliationStatus.MATCHED),
                ("reconciled_at", None),
                ("updated_at", connection.ops.adapt_datetimefield_value(now)),
                ("updated_by", user.pk if user is not None else None),
            ),
        ),
    )
    with connection.cursor() as cursor:
        for model, ids, assignments in targets:
            meta = model._meta
            sets = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name, _value in assignments)
            values = [value for _name, value in assignments]
            for chunk in _chunks(ids, chunk_size):
                marks = ", ".join(["%s"] * len(chunk))
                # Only quoted table and column names are interpolated; the values are parameters.
                sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(meta.pk.column)} IN ({marks})"  # noqa: S608
                cursor.execute(sql, [*values, *chunk])


def _set_line_status(ids, status):
    for chunk in _chunks(sorted(ids)):
        StatementLine.objects.filter(pk__in=chunk).update(match_status=status)


def _set_book_status(ids, status, *, user, now, reconciled_at=None):
    for chunk in _chunks(sorted(ids)):
        BankTransaction.objects.filter(pk__in=chunk).update(
            reconciliation_status=status, reconciled_at=reconciled_at, updated_at=now, updated_by=user
        )


@dataclasses.dataclass
class MatchRun:
    """What one run of the matcher did."""

    bank_account_id: str
    period: str
    lines_considered: int
    transactions_considered: int
    lines_matched: int
    transactions_matched: int
    lines_suggested: int
    by_stage: dict

    def as_dict(self):
        return dataclasses.asdict(self)


@locks.atomic_with_retry
def match_run(*, bank_account_id, period, user=None):
    """Match the open statement lines of ``period`` against the books; return a :class:`MatchRun`.

    Earlier suggestions for these lines are replaced; confirmed and rejected
    matches stay as they are. Refused (409) when the period is finalized.
    """
    start, end = period_bounds(period)
    account, _snapshots = scope_lock(bank_account_id=bank_account_id, periods=[period])
    lines = line_candidates(
        bank_account_id=account.pk, start=start, end=end, lock=True, currency=account.currency
    )
    books = book_candidates(bank_account_id=account.pk, start=start, end=end, lock=True)
    rejected = set()
    if lines:
        period_matches = ReconciliationMatch.objects.filter(
            bank_account_id=account.pk,
            statement_line__booking_date__gte=start,
            statement_line__booking_date__lte=end,
        )
        rejected = set(
            period_matches.filter(status=MatchStatus.REJECTED).values_list(
                "statement_line_id", "bank_transaction_id"
            )
        )
        # Only the candidates' old suggestions make way for new ones: a line left out (booked in
        # another currency) keeps its own, and so the status that says it has one.
        period_matches.filter(status=MatchStatus.SUGGESTED).filter(
            _in_currency(account.currency, "statement_line__")
        ).delete()
    confirmed, suggested = Matcher(lines, books, rejected=frozenset(rejected)).run()

    now = timezone.now()
    writer = MatchWriter(bank_account_id=account.pk, user=user, now=now)
    by_stage = defaultdict(int)
    for proposal in confirmed:
        writer.add(proposal, MatchStatus.CONFIRMED)
        by_stage[proposal.stage] += len(proposal.lines)
    confirmed_rows = writer.write()
    seen_pairs = {
        (line.id, book.id) for proposal in confirmed for line in proposal.lines for book in proposal.books
    }
    suggested_lines = set()
    for proposal in suggested:
        pairs = {(line.id, book.id) for line in proposal.lines for book in proposal.books}
        if pairs & seen_pairs:
            continue
        seen_pairs |= pairs
        writer.add(proposal, MatchStatus.SUGGESTED)
        suggested_lines.update(line.id for line in proposal.lines)
    writer.write()

    matched_lines = {line.id for proposal in confirmed for line in proposal.lines}
    matched_books = {book.id for proposal in confirmed for book in proposal.books}
    suggested_lines -= matched_lines
    _mark_matched(matched_lines, matched_books, user=user, now=now)
    # A transaction matched now may still be offered to lines the run did not read (another
    # month's, or in another currency): those suggestions go, and their lines' statuses follow.
    run_lines = {line.id for line in lines}
    _refresh_line_status(_drop_suggestions_of_account(account.pk, matched_books) - run_lines)
    # One entry per run: each match row keeps its own who, when, score and reason.
    audit.record(
        "auto-match",
        BankAccount,
        [account.pk],
        user=user,
        new={"matched_lines": len(matched_lines), "matched_transactions": len(matched_books)},
        details={"period": period, "matches": "..".join(confirmed_rows or ())},
    )
    _set_line_status(
        {
            line.id
            for line in lines
            if line.status != LineMatchStatus.SUGGESTED and line.id in suggested_lines
        },
        LineMatchStatus.SUGGESTED,
    )
    _set_line_status(
        {
            line.id
            for line in lines
            if line.status != LineMatchStatus.UNMATCHED
            and line.id not in suggested_lines
            and line.id not in matched_lines
        },
        LineMatchStatus.UNMATCHED,
    )
    return MatchRun(
        bank_account_id=account.pk,
        period=period,
        lines_considered=len(lines),
        transactions_considered=len(books),
        lines_matched=len(matched_lines),
        transactions_matched=len(matched_books),
        lines_suggested=len(suggested_lines),
        by_stage=dict(sorted(by_stage.items())),
    )


# --- Decisions by a person ----------------------------------------------------------


def _id_list(values, field):
    if not isinstance(values, (list, tuple)) or not values:
        raise DomainError("Give a non-empty list of ids.", field=field)
    if not all(isinstance(value, str) and value for value in values):
        raise DomainError("Every id must be a non-empty string.", field=field)
    if len(set(values)) != len(values):
        raise DomainError("An id appears twice.", field=field)
    return sorted(values)


def _periods_of_lines(line_ids):
    days = StatementLine.objects.filter(pk__in=line_ids).values_list("booking_date", flat=True).distinct()
    return sorted({AccountingPeriod.code_for(day) for day in days})


def _account_of(line_ids, transaction_ids):
    """Return the single bank account the lines (or, without lines, the transactions) belong to."""
    if line_ids:
        accounts = set(
            StatementLine.objects.filter(pk__in=line_ids).values_list("bank_account_id", flat=True)
        )
    else:
        accounts = set(
            BankTransaction.objects.filter(pk__in=transaction_ids).values_list("bank_account_id", flat=True)
        )
    if len(accounts) > 1:
        field = "statement_line_ids" if line_ids else "transaction_ids"
        raise DomainError("These belong to different bank accounts; match within one account.", field=field)
    return accounts.pop() if accounts else None


def _lock_lines(line_ids, field="statement_line_ids"):
    lines = list(StatementLine.objects.select_for_update().filter(pk__in=line_ids).order_by("pk"))
    missing = sorted(set(line_ids) - {line.pk for line in lines})
    if missing:
        raise NotFoundError(f'No statement line has the id "{missing[0]}".', field=field)
    return lines


def _lock_books(transaction_ids, field="transaction_ids"):
    books = list(BankTransaction.objects.select_for_update().filter(pk__in=transaction_ids).order_by("pk"))
    missing = sorted(set(transaction_ids) - {book.pk for book in books})
    if missing:
        raise NotFoundError(f'No bank transaction has the id "{missing[0]}".', field=field)
    return books


def _drop_suggestions(*, line_ids=(), transaction_ids=()):
    """Delete open suggestions that involve these lines or transactions; return the lines that lost them.

    A suggested sum is accepted or rejected whole, so it goes whole: every row of
    its group, not only the rows naming these lines or transactions (the rest
    could never be accepted and kept their lines "suggested").
    """
    suggested = ReconciliationMatch.objects.filter(status=MatchStatus.SUGGESTED)
    involved = Q(statement_line_id__in=list(line_ids)) | Q(bank_transaction_id__in=list(transaction_ids))
    return _delete_groups(suggested, set(suggested.filter(involved).values_list("group_key", flat=True)))


def _delete_groups(suggested, groups):
    """Delete the rows of ``groups`` among ``suggested``; return the lines they named.

    A group with a line booked in a signed-off month stays: the month's matches are what the
    controller approved, even where later work (a match in the next month) overtook them.
    """
    if not groups:
        return set()
    rows = suggested.filter(group_key__in=sorted(groups)).values_list(
        "group_key", "bank_account_id", "statement_line__booking_date"
    )
    rows = list(rows)
    signed_off = finalized_months({(account, day) for _group, account, day in rows})
    if signed_off:
        groups = set(groups) - {
            group for group, account, day in rows if (account, AccountingPeriod.code_for(day)) in signed_off
        }
    stale = suggested.filter(group_key__in=sorted(groups))
    touched = set(stale.values_list("statement_line_id", flat=True))
    stale.delete()
    return touched


def _drop_suggestions_of_account(account_id, transaction_ids):
    """``_drop_suggestions`` for the many transactions of a run: the account's few open suggestions
    are read and compared here, rather than sending tens of thousands of ids to the database."""
    if not transaction_ids:
        return set()
    rows = ReconciliationMatch.objects.filter(bank_account_id=account_id, status=MatchStatus.SUGGESTED)
    pairs = rows.values_list("group_key", "bank_transaction_id")
    return _delete_groups(rows, {group for group, book in pairs if book in transaction_ids})


def drop_suggestions_on(transaction_ids):
    """Drop the suggestions offering these transactions (reversed, or changed where a match looks).

    Their lines go back to unmatched, or stay suggested if they have another suggestion.
    """
    _refresh_line_status(_drop_suggestions(transaction_ids=transaction_ids))


def _refresh_line_status(line_ids):
    """Set each line's status from its remaining matches: matched, suggested or unmatched."""
    line_ids = sorted(set(line_ids))
    if not line_ids:
        return
    confirmed = set(
        ReconciliationMatch.objects.filter(
            statement_line_id__in=line_ids, status=MatchStatus.CONFIRMED
        ).values_list("statement_line_id", flat=True)
    )
    suggested = set(
        ReconciliationMatch.objects.filter(
            statement_line_id__in=line_ids, status=MatchStatus.SUGGESTED
        ).values_list("statement_line_id", flat=True)
    )
    _set_line_status(confirmed, LineMatchStatus.MATCHED)
    _set_line_status(suggested - confirmed, LineMatchStatus.SUGGESTED)
    _set_line_status(set(line_ids) - confirmed - suggested, LineMatchStatus.UNMATCHED)


def _check_book_open(book):
    if book.posting_status == PostingStatus.REVERSED:
        raise ConflictError(
            f'Bank transaction "{book.pk}" has been reversed; it cannot explain a statement line.',
            code="document_reversed",
        )
    if book.reconciliation_status != ReconciliationStatus.UNRECONCILED:
        raise ConflictError(
            f'Bank transaction "{book.pk}" is already {book.reconciliation_status}; unmatch it first.',
            code="already_matched",
        )


def _check_line_open(line):
    if line.match_status == LineMatchStatus.MATCHED:
        raise ConflictError(
            f'Statement line "{line.pk}" is already matched; unmatch it first.', code="already_matched"
        )


def _check_line_currency(line, currency, field):
    """Refuse a line the bank booked in another currency than the account's.

    Its amount is not the account's money (20.97 EUR on a CHF account moved the
    balance by some CHF amount the line does not give), so no transaction of the
    account equals it, and one recorded from it would be in the wrong currency.
    """
    if line.currency and currency and line.currency.upper() != currency.upper():
        raise DomainError(
            f'Statement line "{line.pk}" is in {line.currency.upper()}, the account in '
            f"{currency.upper()}: its amount is not the account's money, so it is not matched "
            "or recorded as a transaction. Leave it open and explain it in the sign-off note.",
            field=field,
        )


def _signed(book):
    return book.amount if book.direction == Direction.IN else -book.amount


@locks.atomic_with_retry
def match_manual(*, statement_line_ids, transaction_ids, user, note=""):
    """Match lines to transactions by hand; return the confirmed rows (one group).

    One line may be matched to several transactions, or several lines to one;
    the two sides must add up exactly (signed: money in positive).
    """
    line_ids = _id_list(statement_line_ids, "statement_line_ids")
    transaction_ids = _id_list(transaction_ids, "transaction_ids")
    if len(line_ids) > 1 and len(transaction_ids) > 1:
        raise DomainError(
            "Match one statement line to several transactions, or several lines to one transaction.",
            field="statement_line_ids",
        )
    account_id = _account_of(line_ids, transaction_ids)
    if account_id is None:
        raise NotFoundError(f'No statement line has the id "{line_ids[0]}".', field="statement_line_ids")
    account, _snapshots = scope_lock(bank_account_id=account_id, periods=_periods_of_lines(line_ids))
    lines = _lock_lines(line_ids)
    books = _lock_books(transaction_ids)
    for book in books:
        if book.bank_account_id != account_id:
            raise DomainError(
                f'Bank transaction "{book.pk}" is on account {book.bank_account_id}, '
                f"the statement lines on {account_id}.",
                field="transaction_ids",
            )
        _check_book_open(book)
    for line in lines:
        _check_line_open(line)
        _check_line_currency(line, account.currency, "statement_line_ids")
    _check_totals(lines, books)
    touched = _drop_suggestions(line_ids=line_ids, transaction_ids=transaction_ids)
    # A pair someone rejected earlier is now matched on purpose; the unique pair allows one row.
    ReconciliationMatch.objects.filter(
        statement_line_id__in=line_ids, bank_transaction_id__in=transaction_ids
    ).delete()
    now = timezone.now()
    items = Proposal(
        tuple(_line_item_from(line) for line in lines),
        tuple(_book_item_from(book) for book in books),
        100.0,
        STAGE_MANUAL,
        f"matched by {user.get_username()}" + (f": {note}" if note else ""),
    )
    rows = _write_one(items, bank_account_id=account_id, user=user, now=now)
    _set_line_status(line_ids, LineMatchStatus.MATCHED)
    _set_book_status(transaction_ids, ReconciliationStatus.MATCHED, user=user, now=now)
    audit.record(
        "manual match",
        BankTransaction,
        transaction_ids,
        user=user,
        old={"reconciliation_status": "unreconciled"},
        new={"reconciliation_status": "matched"},
        details={"lines": ", ".join(line_ids), "note": note},
    )
    _refresh_line_status(touched - set(line_ids))
    return rows


def _line_item_from(line):
    return LineItem(line.pk, line.booking_date.toordinal(), line.amount, "", "", "", (), frozenset(), "", "")


def _book_item_from(book):
    return BookItem(
        book.pk, book.transaction_date.toordinal(), _signed(book), "", "", "", "", "", "", frozenset()
    )


def _lock_group(match_id):
    """Lock a match's group in the global order; return ``(rows, lines, books)``."""
    if not isinstance(match_id, str):
        raise NotFoundError(f'No match has the id "{match_id}".')
    match = ReconciliationMatch.objects.filter(pk=match_id).first()
    if match is None:
        raise NotFoundError(f'No match has the id "{match_id}".')
    rows = list(ReconciliationMatch.objects.filter(group_key=match.group_key).order_by("pk"))
    pairs = {(row.pk, row.statement_line_id, row.bank_transaction_id) for row in rows}
    line_ids = sorted({row.statement_line_id for row in rows})
    scope_lock(bank_account_id=match.bank_account_id, periods=_periods_of_lines(line_ids))
    lines = _lock_lines(line_ids)
    books = _lock_books(sorted({row.bank_transaction_id for row in rows}))
    rows = list(
        ReconciliationMatch.objects.select_for_update().filter(group_key=match.group_key).order_by("pk")
    )
    # A matcher run that held the account's lock meanwhile may have replaced the suggestion (its
    # runs drop the old ones and write new rows): what was read before the lock is gone.
    if {(row.pk, row.statement_line_id, row.bank_transaction_id) for row in rows} != pairs:
        raise ConflictError(
            f'Match "{match_id}" was replaced by a newer matcher run; reload the suggestions.',
            code="match_replaced",
        )
    return rows, lines, books


def _check_totals(lines, books, *, hint=""):
    """A match explains the statement lines to the cent: their total equals the transactions' total."""
    line_total = sum((line.amount for line in lines), Decimal(0))
    book_total = sum((_signed(book) for book in books), Decimal(0))
    if line_total != book_total:
        raise DomainError(
            f"The transactions add up to {_money(book_total)} and the statement lines to "
            f"{_money(line_total)}; a match must add up exactly (money in positive, out negative).{hint}",
            field="transaction_ids",
        )


@locks.atomic_with_retry
def match_accept(*, match_id, user):
    """Confirm a suggestion (with the rest of its group); return the group's rows."""
    rows, lines, books = _lock_group(match_id)
    if any(row.status != MatchStatus.SUGGESTED for row in rows):
        state = next(row.status for row in rows if row.status != MatchStatus.SUGGESTED)
        raise ConflictError(f'Match "{match_id}" is {state}, not a suggestion.', code=f"match_{state}")
    for line in lines:
        _check_line_open(line)
    for book in books:
        _check_book_open(book)
        if book.bank_account_id != rows[0].bank_account_id:
            # Moved to another account since it was suggested: it no longer explains this bank's line.
            raise ConflictError(
                f'Bank transaction "{book.pk}" now belongs to bank account "{book.bank_account_id}", '
                f'not "{rows[0].bank_account_id}" of this suggestion.',
                code="another_account",
            )
    # A suggestion may pair amounts that differ (same end-to-end id, a fee taken on the way):
    # it points at the right transaction, but confirming it would hide the difference.
    try:
        _check_totals(
            lines,
            books,
            hint=" Record the difference in the books (a bank fee, say) and match the line with both "
            "transactions by hand, or correct the transaction.",
        )
    except DomainError as exc:
        raise ConflictError(exc.message, code="amounts_differ") from None
    line_ids = [line.pk for line in lines]
    book_ids = [book.pk for book in books]
    now = timezone.now()
    ReconciliationMatch.objects.filter(pk__in=[row.pk for row in rows]).update(
        status=MatchStatus.CONFIRMED, decided_at=now, decided_by=user, updated_at=now, updated_by=user
    )
    # The group's own rows are confirmed now, so only rival suggestions remain to drop.
    touched = _drop_suggestions(line_ids=line_ids, transaction_ids=book_ids)
    _set_line_status(line_ids, LineMatchStatus.MATCHED)
    _set_book_status(book_ids, ReconciliationStatus.MATCHED, user=user, now=now)
    audit.record(
        "accept suggestion",
        BankTransaction,
        book_ids,
        user=user,
        old={"reconciliation_status": "unreconciled"},
        new={"reconciliation_status": "matched"},
        details={"lines": ", ".join(line_ids)},
    )
    _refresh_line_status(touched - set(line_ids))
    return list(ReconciliationMatch.objects.filter(pk__in=[row.pk for row in rows]).order_by("pk"))


@locks.atomic_with_retry
def match_reject(*, match_id, user):
    """Reject a suggestion (with the rest of its group) so that it is never proposed again."""
    rows, lines, _books = _lock_group(match_id)
    if any(row.status != MatchStatus.SUGGESTED for row in rows):
        state = next(row.status for row in rows if row.status != MatchStatus.SUGGESTED)
        hint = " Use unmatch to undo a confirmed match." if state == MatchStatus.CONFIRMED else ""
        raise ConflictError(f'Match "{match_id}" is {state}, not a suggestion.{hint}', code=f"match_{state}")
    now = timezone.now()
    ReconciliationMatch.objects.filter(pk__in=[row.pk for row in rows]).update(
        status=MatchStatus.REJECTED, decided_at=now, decided_by=user, updated_at=now, updated_by=user
    )
    audit.record(
        "reject suggestion",
        ReconciliationMatch,
        rows,
        user=user,
        old={"status": "suggested"},
        new={"status": "rejected"},
    )
    _refresh_line_status([line.pk for line in lines])
    return list(ReconciliationMatch.objects.filter(pk__in=[row.pk for row in rows]).order_by("pk"))


@locks.atomic_with_retry
def match_undo(*, user, statement_line_ids=(), transaction_ids=()):
    """Unmatch: undo every confirmed group that involves these lines or transactions; return the lines freed.

    The undone rows become *rejected*, so the matcher does not confirm the same
    pair again; a manual match may still pair them on purpose.
    """
    if not statement_line_ids and not transaction_ids:
        raise DomainError("Give the statement lines or transactions to unmatch.", field="statement_line_ids")
    line_ids = _id_list(statement_line_ids, "statement_line_ids") if statement_line_ids else []
    transaction_ids = _id_list(transaction_ids, "transaction_ids") if transaction_ids else []
    confirmed = ReconciliationMatch.objects.filter(status=MatchStatus.CONFIRMED)
    groups = set(
        confirmed.filter(
            Q(statement_line_id__in=line_ids) | Q(bank_transaction_id__in=transaction_ids)
        ).values_list("group_key", flat=True)
    )
    if not groups:
        field = "statement_line_ids" if line_ids else "transaction_ids"
        raise DomainError("Nothing to unmatch: none of these has a confirmed match.", field=field)
    rows = list(
        confirmed.filter(group_key__in=groups).values_list(
            "bank_account_id", "statement_line_id", "bank_transaction_id"
        )
    )
    accounts = {row[0] for row in rows}
    if len(accounts) > 1:
        raise DomainError(
            "These belong to different bank accounts; unmatch one account at a time.",
            field="statement_line_ids",
        )
    all_lines = sorted({row[1] for row in rows})
    all_books = sorted({row[2] for row in rows})
    scope_lock(bank_account_id=accounts.pop(), periods=_periods_of_lines(all_lines))
    _lock_lines(all_lines)
    _lock_books(all_books)
    now = timezone.now()
    ReconciliationMatch.objects.filter(group_key__in=groups, status=MatchStatus.CONFIRMED).update(
        status=MatchStatus.REJECTED, decided_at=now, decided_by=user, updated_at=now, updated_by=user
    )
    still = set(
        ReconciliationMatch.objects.filter(
            bank_transaction_id__in=all_books, status=MatchStatus.CONFIRMED
        ).values_list("bank_transaction_id", flat=True)
    )
    _set_book_status(set(all_books) - still, ReconciliationStatus.UNRECONCILED, user=user, now=now)
    audit.record(
        "unmatch",
        BankTransaction,
        sorted(set(all_books) - still),
        user=user,
        old={"reconciliation_status": "matched"},
        new={"reconciliation_status": "unreconciled"},
        details={"lines": ", ".join(all_lines)},
    )
    _refresh_line_status(all_lines)
    return all_lines


@locks.atomic_with_retry
def statement_line_create_transaction(*, statement_line_id, user, transaction_type, **data):
    """Record an unmatched statement line (a bank fee, interest) as a new bank transaction and match it.

    The new transaction is a draft dated on the line's booking date, with the
    line's amount, references and counterparty, and the dimensions given in
    ``data`` (``cost_center``, ``project``, ``department``, ``branch``,
    ``description``). It posts like any other draft. Returns ``(transaction, match)``.
    """
    if not isinstance(statement_line_id, str):
        raise NotFoundError(f'No statement line has the id "{statement_line_id}".')
    line = StatementLine.objects.filter(pk=statement_line_id).first()
    if line is None:
        raise NotFoundError(f'No statement line has the id "{statement_line_id}".')
    if transaction_type not in TransactionType.values:
        raise DomainError(f'"{transaction_type}" is not a transaction type.', field="transaction_type")
    direction = Direction.IN if line.amount > 0 else Direction.OUT
    implied = TYPE_DIRECTION.get(transaction_type)
    if implied is not None and implied != direction:
        label = TransactionType(transaction_type).label.lower()
        flow = "brings" if direction == Direction.IN else "takes"
        raise DomainError(
            f"A {label} moves money {implied}, but this line {flow} {_money(abs(line.amount))} "
            f"{'in' if direction == Direction.IN else 'out'}; choose another type.",
            field="transaction_type",
        )
    if line.amount == 0:
        raise DomainError("A line of zero needs no transaction.", field="statement_line_id")
    account, _snapshots = scope_lock(
        bank_account_id=line.bank_account_id, periods=[AccountingPeriod.code_for(line.booking_date)]
    )
    line = _lock_lines([statement_line_id], field="statement_line_id")[0]
    _check_line_open(line)
    _check_line_currency(line, account.currency, "statement_line_id")
    # Trimmed as a form or the API would trim it, so that the draft sent back as read is unchanged.
    description = data.pop("description", "") or (line.narrative or "")[:255].strip()
    txn = bank_transaction_create(
        user=user,
        bank_account_id=line.bank_account_id,
        transaction_type=transaction_type,
        direction=direction,
        amount=abs(line.amount),
        transaction_date=line.booking_date,
        value_date=line.value_date,
        reference=(line.bank_reference or line.fitid)[:100],
        end_to_end_id=line.end_to_end_id if _key(line.end_to_end_id) else "",
        counterparty_name=line.counterparty_name,
        counterparty_account=line.counterparty_iban,
        description=description,
        **data,
    )
    touched = _drop_suggestions(line_ids=[line.pk])
    now = timezone.now()
    proposal = Proposal(
        (_line_item_from(line),),
        (_book_item_from(txn),),
        100.0,
        STAGE_NEW_TRANSACTION,
        f"recorded from the statement line by {user.get_username()} as a "
        f"{TransactionType(transaction_type).label.lower()}",
    )
    rows = _write_one(proposal, bank_account_id=line.bank_account_id, user=user, now=now)
    _set_line_status([line.pk], LineMatchStatus.MATCHED)
    _set_book_status([txn.pk], ReconciliationStatus.MATCHED, user=user, now=now)
    audit.record(
        "match from statement line",
        BankTransaction,
        [txn.pk],
        user=user,
        old={"reconciliation_status": "unreconciled"},
        new={"reconciliation_status": "matched"},
        details={"lines": line.pk},
    )
    _refresh_line_status(touched - {line.pk})
    txn.refresh_from_db()
    return txn, rows[0]
