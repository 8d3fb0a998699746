"""Signing outbound webhooks (pure): an HMAC-SHA256 over the timestamp and the raw body,
sent in one header the way Stripe does it::

    X-ControlTower-Signature: t=1700000000,v1=<hex hmac_sha256(secret, "1700000000." + body)>

The key is the subscription's secret as UTF-8 bytes, ``whsec_`` prefix included. The
timestamp is signed with the body, so a captured request cannot be replayed later with
a fresh timestamp; receivers refuse timestamps outside a tolerance (5 minutes) and
dedupe on the body's ``id`` within it. docs/WEBHOOKS.md documents this for receivers;
its sample verifier is tested against :func:`sign`.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-ControlTower-Signature"
EVENT_HEADER = "X-ControlTower-Event"
DELIVERY_HEADER = "X-ControlTower-Delivery"
TIMESTAMP_HEADER = "X-ControlTower-Timestamp"

#: How far a signed timestamp may be from the receiver's clock, either way.
DEFAULT_TOLERANCE_SECONDS = 300
SCHEME = "v1"


class SignatureInvalid(ValueError):
    """The request is not a genuine, fresh delivery; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _key(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def signature(secret: bytes | str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def sign(secret: bytes | str, body: bytes, timestamp: int) -> str:
    """The ``X-ControlTower-Signature`` header value for ``body`` sent at ``timestamp``."""
    return f"t={int(timestamp)},{SCHEME}={signature(secret, body, timestamp)}"


def delivery_headers(
    *, secret: bytes | str, body: bytes, timestamp: int, event: str, delivery_id: int
) -> dict[str, str]:
    """Every header a delivery carries besides the HTTP basics."""
    return {
        SIGNATURE_HEADER: sign(secret, body, timestamp),
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: str(int(timestamp)),
    }


def parse(header: str | None) -> tuple[int, list[str]]:
    """The timestamp and the ``v1`` signatures of a header (several ``v1`` may appear,
    e.g. while a secret is rotated); raises :class:`SignatureInvalid` if malformed."""
    if not header or not header.strip():
        raise SignatureInvalid("missing signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureInvalid("malformed signature header")
        if name == "t":
            if timestamp is not None or not value.isdigit():
                raise SignatureInvalid("malformed timestamp")
            timestamp = int(value)
        elif name == SCHEME:
            signatures.append(value)
        # Other schemes are ignored: a future v2 must not break v1 receivers.
    if timestamp is None:
        raise SignatureInvalid("no timestamp in signature header")
    if not signatures:
        raise SignatureInvalid("no v1 signature in signature header")
    return timestamp, signatures


def verify(
    secret: bytes | str,
    body: bytes,
    header: str | None,
    *,
    now: int,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Accept a genuine, fresh delivery or raise :class:`SignatureInvalid`: a missing or
    malformed header, a timestamp more than ``tolerance_seconds`` from ``now`` (too old,
    i.e. a replay, or too far in the future), or no matching signature."""
    timestamp, signatures = parse(header)
    if timestamp < now - tolerance_seconds:
        raise SignatureInvalid("timestamp too old")
    if timestamp > now + tolerance_seconds:
        raise SignatureInvalid("timestamp in the future")
    expected = signature(secret, body, timestamp)
    # Constant-time comparisons (no early exit), every candidate checked.
    matched = False
    for candidate in signatures:
        # compare_digest refuses non-ASCII text; such a value cannot match anyway.
        if candidate.isascii():
            matched |= hmac.compare_digest(expected, candidate.lower())
    if not matched:
        raise SignatureInvalid("signature mismatch")
