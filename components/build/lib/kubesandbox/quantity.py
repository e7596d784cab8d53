"""Kubernetes resource quantities, parsed just far enough to compare requests with limits."""

from __future__ import annotations

import re
from decimal import Decimal

_QUANTITY = re.compile(r"^(?P<number>[0-9]+(\.[0-9]+)?)(?P<suffix>m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_FACTORS = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
}


def parse(quantity: str) -> Decimal | None:
    """The quantity's value in base units, or None when Kubernetes would not accept it."""
    match = _QUANTITY.match(quantity)
    if match is None:
        return None
    return Decimal(match["number"]) * _FACTORS[match["suffix"]]
