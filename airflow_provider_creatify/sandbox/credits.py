"""The account's credits: a starting balance, what each generation costs, refunds of failed ones.

The real service's behaviour around credits is mostly undocumented; what the sandbox does is its guess:
a create is charged at once (price per output times outputs), a generation that ends ``failed`` is refunded,
and a create the balance cannot pay is refused (the app answers 400 and creates nothing).
"""

from __future__ import annotations

import threading
from typing import Protocol


class Refundable(Protocol):
    """What the ledger reads of a generation it watches (``SandboxGeneration``)."""

    id: str
    charge: float

    def status(self, now_mono: float) -> tuple[str, float]: ...


def credits_used_string(value: float) -> str:
    """A number of credits as the API's ``credits_used`` string: ``"12"`` for 12.0, ``"0.5"`` for 0.5.

    :param value: the number of credits.
    """
    value = round(value, 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    return str(int(value)) if value.is_integer() else repr(value)


class CreditLedger:
    """What the generations have cost, thread-safe.

    The balance is a starting balance (passed in on every call, so the settings stay live) minus the
    charges, plus the charges of the generations that ended ``failed``. Only generations that may end
    ``failed`` are watched for a refund (those created to fail, those forced to fail), so a create stays
    cheap with many generations.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._charged = 0.0
        self._refundable: dict[str, Refundable] = {}

    def remaining(self, *, starting: float, now_mono: float) -> float:
        """The balance now.

        :param starting: the starting balance (``SandboxSettings.credits``).
        :param now_mono: ``time.monotonic()`` now (decides which watched generations have failed).
        """
        with self._lock:
            return self._remaining(starting, now_mono)

    def try_charge(self, price: float, *, starting: float, now_mono: float) -> tuple[bool, float]:
        """Take ``price`` from the balance if it pays it, atomically: ``(charged, balance before)``.

        :param price: what the generation costs.
        :param starting: the starting balance (``SandboxSettings.credits``).
        :param now_mono: ``time.monotonic()`` now.
        """
        with self._lock:
            balance = self._remaining(starting, now_mono)
            if price > balance + 1e-9:
                return False, balance
            self._charged += price
            return True, balance

    def watch(self, generation: Refundable) -> None:
        """Refund ``generation``'s charge once it reports ``failed``.

        :param generation: a charged generation that may end ``failed``.
        """
        with self._lock:
            self._refundable[generation.id] = generation

    def reset(self) -> None:
        """Forget every charge."""
        with self._lock:
            self._charged = 0.0
            self._refundable.clear()

    def _remaining(self, starting: float, now_mono: float) -> float:
        refunds = sum(g.charge for g in self._refundable.values() if g.status(now_mono)[0] == "failed")
        return starting - self._charged + refunds
