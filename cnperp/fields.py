"""Field types shared by every app: string keys and money.

Keys are strings a client may choose (``ba-op``, ``smoke-test-1``) or that are
generated when it doesn't. On MySQL/MariaDB they use a binary collation so that
``BA-OP`` and ``ba-op`` are two keys, never a silent collision.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.deconstruct import deconstructible

KEY_MAX_LENGTH = 64
KEY_PATTERN = r"^[A-Za-z0-9._-]{1,64}\Z"

key_validator = RegexValidator(
    KEY_PATTERN,
    message="Use 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'.",
    code="invalid_key",
)


@deconstructible
class PrefixedKey:
    """Generate a key such as ``bt-5f0c1e9a2b7d4c21a9e3``: readable prefix, random tail."""

    def __init__(self, prefix):
        self.prefix = prefix

    def __call__(self):
        return f"{self.prefix}-{uuid.uuid4().hex[:20]}"

    def __eq__(self, other):
        return isinstance(other, PrefixedKey) and other.prefix == self.prefix


class CaseSensitiveCharField(models.CharField):
    """Text compared case by case on every database: a binary collation on MySQL/MariaDB.

    A posting's reference carries its document's key (``BT-bt-case-a``): under
    MariaDB's default case-insensitive collation ``BT-bt-case-a`` and
    ``BT-BT-CASE-A`` collided on the unique index, so the second document could
    never be posted.
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "mysql" and not self.db_collation:
            # Foreign keys copy the target's collation, so references match too.
            params["collation"] = "utf8mb4_bin"
        return params


class KeyField(CaseSensitiveCharField):
    """A string primary key (or reference to one), case-sensitive on every database."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", KEY_MAX_LENGTH)
        super().__init__(*args, **kwargs)
        if key_validator not in self.validators:
            self.validators.append(key_validator)


def key_field(prefix):
    """Return a primary-key field that a client may set, generated when it doesn't."""
    return KeyField(primary_key=True, default=PrefixedKey(prefix), editable=True)


def money_limit():
    """Return the first amount the money columns cannot hold (10 ** 16 with 18 digits, 2 places)."""
    return Decimal(10) ** (settings.MONEY_MAX_DIGITS - settings.MONEY_DECIMAL_PLACES)


# The database's check constraints hold these too; as field validators they answer on the field,
# in words ("Constraint ... is violated." named no field), and the constraint is then not asked.
def positive_amount(value):
    if value is not None and value <= 0:
        raise ValidationError("The amount must be more than zero.", code="min_value")


def not_negative_amount(value):
    if value is not None and value < 0:
        raise ValidationError("The amount cannot be negative.", code="min_value")


class MoneyField(models.DecimalField):
    """An amount with the project's precision (``MONEY_MAX_DIGITS``, ``MONEY_DECIMAL_PLACES``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", settings.MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", settings.MONEY_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)


class TrackedModel(models.Model):
    """Who created and last changed a record, and when (rule 8 of the brief)."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        abstract = True
