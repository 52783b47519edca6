"""A generated month of one bank account, with noise, and the truth of which line is which transaction.

Used by the matcher's tests (a few hundred lines, created through the
factories) and by ``bench/bench_matching.py`` (50,000 lines, bulk-created).
Seeded: the same seed gives the same month, so tests assert exact outcomes.

The noise is what a real month has: bank dates a few days after ours,
counterparty names written differently (``ACME Limited`` / ``ACME LTD``),
references with other separators, bank fees and interest nobody recorded,
one deposit of several branch cash submissions, a transfer the bank paid in
two parts, equal amounts that repeat (a subscription paid twice in a week),
and cheques the bank has not cashed yet.
"""

import dataclasses
import datetime
import random
from decimal import Decimal

FIRST = [
    "Apex",
    "Acme",
    "Birch",
    "Cobalt",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Harbor",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Nimbus",
    "Onyx",
    "Pioneer",
    "Quartz",
    "Raven",
    "Summit",
    "Tundra",
    "Umber",
    "Vertex",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
    "Atlas",
    "Beacon",
    "Cedar",
    "Dune",
    "Echo",
    "Fjord",
    "Glacier",
    "Horizon",
    "Iris",
    "Jasper",
    "Kite",
    "Lotus",
    "Maple",
]
SECOND = [
    "Trading",
    "Logistics",
    "Foods",
    "Textiles",
    "Motors",
    "Pharma",
    "Energy",
    "Systems",
    "Holdings",
    "Builders",
    "Farms",
    "Media",
    "Clinics",
    "Metals",
    "Plastics",
    "Travel",
    "Software",
    "Supplies",
    "Partners",
    "Consulting",
]
FORMS = (("Limited", "LTD"), ("Ltd", "LIMITED"), ("Inc", "INCORPORATED"), ("Corporation", "CORP"), ("", ""))


@dataclasses.dataclass
class Month:
    """Book transactions and statement lines as plain dicts, and the true pairs."""

    books: list
    lines: list
    truth: set  # (statement line id, transaction id) pairs that are right
    kinds: dict  # statement line id -> what kind of noise made it
    ambiguous: set  # line ids the matcher must leave as suggestions

    @property
    def matchable_lines(self):
        return {line_id for line_id, _book in self.truth}


def _names(rng, count):
    pool = [(f, s) for f in FIRST for s in SECOND]
    rng.shuffle(pool)
    names = []
    for first, second in pool[:count]:
        book_form, bank_form = rng.choice(FORMS)
        ours = f"{first} {second} {book_form}".strip()
        theirs = f"{first} {second} {bank_form}".strip().upper()
        names.append((ours, theirs))
    return names


def _misspell(rng, name):
    # Drop or swap one letter of the longest word: what a bank's truncation or a typo does.
    words = name.split()
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    at = rng.randrange(1, len(word) - 1)
    words[longest] = (
        word[:at] + word[at + 1 :]
        if rng.random() < 0.5
        else word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    )
    return " ".join(words)


def generate_month(
    *,
    seed=20251031,
    size=200,
    account_id="ba-op",
    period_start=datetime.date(2025, 10, 1),
    days=31,
    prefix="",
    cost_centers=(None,),
):
    """Return a :class:`Month` of about ``size`` statement lines for ``account_id``."""
    rng = random.Random(seed)
    names = _names(rng, min(max(size // 20, 20), len(FIRST) * len(SECOND)))
    books, lines, truth, kinds, ambiguous = [], [], set(), {}, set()
    counter = {"b": 0, "l": 0}
    used_amounts = set()

    def amount():
        while True:
            value = Decimal(rng.randrange(500, 900_000)) / 100
            if value not in used_amounts:
                used_amounts.add(value)
                return value

    def book(*, day, value, direction="in", **extra):
        counter["b"] += 1
        row = {
            "id": f"{prefix}bt-{counter['b']:06d}",
            "bank_account_id": account_id,
            "transaction_type": "deposit" if direction == "in" else "withdrawal",
            "direction": direction,
            "amount": value,
            "transaction_date": period_start + datetime.timedelta(days=day),
            "reference": "",
            "end_to_end_id": "",
            "counterparty_name": "",
            "description": "",
            "posting_status": rng.choice(("posted", "posted", "posted", "draft")),
            "cost_center_id": rng.choice(cost_centers),
        }
        row.update(extra)
        books.append(row)
        return row

    def line(*, day, value, kind, **extra):
        counter["l"] += 1
        day = min(max(day, 0), days - 1)
        row = {
            "id": f"{prefix}sl-{counter['l']:06d}",
            "line_number": counter["l"],
            "booking_date": period_start + datetime.timedelta(days=day),
            "amount": value,
            "end_to_end_id": "",
            "bank_reference": "",
            "fitid": "",
            "counterparty_name": "",
            "narrative": "",
            "dedupe_key": f"{prefix}dk-{counter['l']:06d}",
        }
        row.update(extra)
        lines.append(row)
        kinds[row["id"]] = kind
        return row

    weights = (
        ("e2e", 60),
        ("bank_ref", 20),
        ("narrative_ref", 24),
        ("amount_name", 48),
        ("fuzzy_ref", 24),
        ("fee", 6),
        ("outstanding", 6),
        ("deposit_group", 4),
        ("split_transfer", 2),
        ("repeat", 1),
    )
    kinds_list = [kind for kind, weight in weights for _ in range(weight)]
    while len(lines) < size:
        kind = rng.choice(kinds_list)
        day = rng.randrange(0, days - 5)
        shift = rng.randrange(0, 4)
        ours, theirs = rng.choice(names)
        direction = rng.choice(("in", "out"))
        sign = 1 if direction == "in" else -1
        value = amount()
        n = counter["b"] + 1
        if kind == "e2e":
            b = book(
                day=day,
                value=value,
                direction=direction,
                end_to_end_id=f"E2E-{prefix}{n:06d}",
                counterparty_name=ours,
            )
            s = line(
                day=day + shift,
                value=sign * value,
                kind=kind,
                end_to_end_id=b["end_to_end_id"],
                counterparty_name=theirs,
            )
            truth.add((s["id"], b["id"]))
        elif kind == "bank_ref":
            b = book(
                day=day,
                value=value,
                direction=direction,
                reference=f"PAY-{prefix}{n:06d}",
                counterparty_name=ours,
            )
            s = line(
                day=day + shift, value=sign * value, kind=kind, bank_reference=b["reference"], fitid=f"F{n}"
            )
            truth.add((s["id"], b["id"]))
        elif kind == "narrative_ref":
            ref = f"INV-{prefix}{n:06d}"
            b = book(day=day, value=value, direction=direction, reference=ref, counterparty_name=ours)
            s = line(
                day=day + shift,
                value=sign * value,
                kind=kind,
                narrative=f"PAYMENT {ref} THANK YOU",
                counterparty_name=theirs,
            )
            truth.add((s["id"], b["id"]))
        elif kind == "amount_name":
            b = book(day=day, value=value, direction=direction, counterparty_name=ours)
            s = line(day=day + shift, value=sign * value, kind=kind, counterparty_name=theirs)
            truth.add((s["id"], b["id"]))
        elif kind == "fuzzy_ref":
            ref = f"ORD-{prefix}{n:06d}"
            b = book(day=day, value=value, direction=direction, reference=ref, counterparty_name=ours)
            spaced = ref.replace("-", " ")
            s = line(
                day=day + shift + 3,
                value=sign * value,
                kind=kind,
                narrative=f"ORDER {spaced}",
                counterparty_name=_misspell(rng, theirs),
            )
            truth.add((s["id"], b["id"]))
        elif kind == "fee":
            fee = Decimal(rng.choice(("12.50", "7.35", "3.10", "25.00")))
            line(
                day=day, value=-fee, kind=kind, narrative="ACCOUNT SERVICE FEE", bank_reference=f"FEE{n:06d}"
            )
        elif kind == "outstanding":
            book(
                day=days - 2,
                value=value,
                direction="out",
                reference=f"CHQ-{prefix}{n:06d}",
                transaction_type="cheque",
            )
        elif kind == "deposit_group":
            branch = rng.choice(("North", "South", "East", "West"))
            parts = [amount() for _ in range(rng.randrange(2, 5))]
            members = [
                book(
                    day=day,
                    value=part,
                    reference=f"CS-{prefix}{n:06d}-{k}",
                    counterparty_name=f"Branch {branch} {n} till",
                )
                for k, part in enumerate(parts, start=1)
            ]
            s = line(
                day=day + min(shift, 2),
                value=sum(parts),
                kind=kind,
                counterparty_name=f"BRANCH {branch} {n} TILL",
                narrative="CASH DEPOSIT",
            )
            truth.update((s["id"], member["id"]) for member in members)
        elif kind == "split_transfer":
            ref = f"TRF-{prefix}{n:06d}"
            total = value + 1000
            first = (total * Decimal("0.6")).quantize(Decimal("0.01"))
            b = book(
                day=day,
                value=total,
                direction="out",
                reference=ref,
                counterparty_name="Savings account",
                transaction_type="transfer",
            )
            for part_no, part in enumerate((first, total - first), start=1):
                s = line(day=day + shift, value=-part, kind=kind, narrative=f"{ref} PART {part_no} OF 2")
                truth.add((s["id"], b["id"]))
        elif kind == "repeat":
            price = amount()
            for offset in (0, 2):
                b = book(day=day + offset, value=price, direction="out", counterparty_name="Streamly Media")
                s = line(day=day + offset, value=-price, kind=kind, counterparty_name="STREAMLY MEDIA")
                truth.add((s["id"], b["id"]))
                ambiguous.add(s["id"])
    return Month(books=books, lines=lines, truth=truth, kinds=kinds, ambiguous=ambiguous)
