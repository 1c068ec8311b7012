"""How many wrong passwords a sign-in may follow: per account and per client address."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class SignInLimits:
    """At most ``per_account`` (``per_address``) failures within ``window`` seconds."""

    per_account: int
    per_address: int
    window: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SignInLimits:
        """The limits from the ``SIGN_IN_*`` settings."""
        return cls(
            per_account=config["SIGN_IN_MAX_FAILURES"],
            per_address=config["SIGN_IN_MAX_FAILURES_PER_ADDRESS"],
            window=config["SIGN_IN_FAILURE_WINDOW"],
        )


def account_key(username: str) -> str:
    """The key failures against one account are counted under."""
    return f"account:{username}"


def address_key(address: str | None) -> str:
    """The key failures from one client address are counted under."""
    return f"address:{address or 'unknown'}"


def seconds_to_wait(failures: Sequence[float], *, limit: int, window: float, now: float) -> float:
    """How long until one more attempt is allowed (0: now), given failure times oldest first.

    An attempt is allowed while fewer than ``limit`` failures lie within the window; the
    wait lasts until enough of the oldest ones have left it.
    """
    recent = [at for at in failures if at > now - window]
    if len(recent) < limit:
        return 0.0
    return recent[len(recent) - limit] + window - now
