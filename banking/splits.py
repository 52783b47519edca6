"""How a transfer's amount is shared across its allocations, to the cent.

The posting of a receiving leg and the receipt of a transfer (each allocation's
received amount) use the same split, so they always agree.
"""

import dataclasses
from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclasses.dataclass(frozen=True)
class Split:
    """A share of an amount with its own dimensions."""

    amount: Decimal
    cost_center_id: str | None
    project_id: str | None
    department_id: str | None


def _largest_remainder(amount, weights, total):
    """Split ``amount`` (positive) in proportion to ``weights`` (positive, adding up to ``total``)."""
    exact = [weight * amount / total for weight in weights]
    shares = [share.quantize(CENT, ROUND_DOWN) for share in exact]
    left = int((amount - sum(shares, ZERO)) / CENT)
    # Ties go to the earlier allocation: sorted() is stable.
    for index in sorted(range(len(shares)), key=lambda i: shares[i] - exact[i])[:left]:
        shares[index] += CENT
    return shares


def transfer_splits(amount, allocations):
    """Split a leg's ``amount`` across the transfer's allocations.

    The sending leg carries the allocated amounts as they are. A receiving leg
    for less (bank charges) or more takes the allocations' received amounts when
    they add up to it, else a proportional share by the largest remainder: each
    share rounded down to the cent, the cents left over going one each to the
    shares that lost most, so the split adds up to the cent and no share is
    negative. (Giving the whole remainder to the last allocation made it
    negative when every other share rounded up, and the leg then posted more
    than its amount.)
    """
    return [
        Split(share, a.cost_center_id, a.project_id, a.department_id)
        for share, a in zip(allocation_shares(amount, allocations), allocations, strict=True)
        if share > 0
    ]


def allocation_shares(amount, allocations):
    """Return each allocation's share of ``amount``, in order (zeros included); see ``transfer_splits``."""
    if not allocations:
        return []
    allocated = sum((a.amount for a in allocations), ZERO)
    if allocated == amount:
        return [a.amount for a in allocations]
    received = [a.received_amount for a in allocations]
    if all(r is not None for r in received) and sum(received, ZERO) == amount:
        return received
    return _largest_remainder(amount, [a.amount for a in allocations], allocated)
