"""Standard Webhooks signing and verification (https://www.standardwebhooks.com/), standard library only.

Switchboard signs every webhook delivery (JSON and XML-RPC push alike) with three headers:

    webhook-id:        the envelope id (``evt_...``), the same on every retry of one event
    webhook-timestamp: unix seconds at the time of this attempt
    webhook-signature: ``v1,<base64 HMAC-SHA256>``, possibly several separated by spaces
                       (for instance while a secret is being rotated)

The signed content is ``f"{id}.{timestamp}.{raw_body}"`` and the HMAC key is the base64 decoding
of the secret after its ``whsec_`` prefix.

The official test vector:

>>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
>>> sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
>>> verify(secret, {"Webhook-Id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
...                 "Webhook-Timestamp": "1614265330",
...                 "Webhook-Signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
...        b'{"test": 2432232314}', now=1614265330)
>>> verify(secret, {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
...                 "webhook-timestamp": "1614265330",
...                 "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
...        b'{"test": 2432232315}', now=1614265330)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
  ...
WebhookVerificationError: no matching signature

Run ``python3 standard_webhooks.py`` to check the vectors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
import time
from typing import Any, Mapping, Optional, Union

__all__ = [
    "WebhookVerificationError",
    "SECRET_PREFIX",
    "DEFAULT_TOLERANCE",
    "decode_secret",
    "generate_secret",
    "sign",
    "sign_headers",
    "verify",
]

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300  # seconds either way

Secret = Union[str, bytes]


class WebhookVerificationError(Exception):
    """A delivery whose signature headers are missing, malformed, stale or do not match."""


def decode_secret(secret: Secret) -> bytes:
    """The HMAC key of a secret: base64 after the ``whsec_`` prefix (``bytes`` are taken as the raw key)."""
    if isinstance(secret, (bytes, bytearray)):
        return bytes(secret)
    if not isinstance(secret, str) or not secret:
        raise ValueError("webhook secret must be a non-empty string")
    text = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"webhook secret is not base64 after the {SECRET_PREFIX!r} prefix: {error}") from None
    if not key:
        raise ValueError("webhook secret decodes to an empty key")
    return key


def generate_secret(size: int = 24) -> str:
    """A fresh ``whsec_`` secret (for tests and demos)."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(size)).decode("ascii")


def _as_bytes(body: Union[bytes, bytearray, memoryview, str]) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


def _digest(key: bytes, msg_id: str, timestamp: Union[int, str], body: bytes) -> bytes:
    content = msg_id.encode("utf-8") + b"." + str(timestamp).encode("ascii") + b"." + body
    return hmac.new(key, content, hashlib.sha256).digest()


def sign(secret: Secret, msg_id: str, timestamp: int, body: Union[bytes, str]) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for one delivery."""
    digest = _digest(decode_secret(secret), msg_id, int(timestamp), _as_bytes(body))
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_headers(secret: Secret, body: Union[bytes, str], msg_id: Optional[str] = None,
                 timestamp: Optional[int] = None) -> dict:
    """The three signature headers for ``body``, as a sender would set them."""
    if msg_id is None:
        msg_id = "msg_" + _secrets.token_hex(12)
    if timestamp is None:
        timestamp = int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(secret, msg_id, int(timestamp), body),
    }


def _header(headers: Any, name: str) -> Optional[str]:
    """Case-insensitive header lookup in a dict, an ``http.client.HTTPMessage`` or any mapping."""
    items = headers.items() if hasattr(headers, "items") else headers
    for key, value in items:
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if key.lower() == name:
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            return value
    return None


def verify(secret: Secret, headers: Mapping[str, str], body: Union[bytes, str], *,
           tolerance: int = DEFAULT_TOLERANCE, now: Optional[float] = None) -> None:
    """Check a delivery's Standard Webhooks signature; raise ``WebhookVerificationError`` if it fails.

    ``headers`` is looked up case-insensitively. The timestamp may be at most ``tolerance`` seconds
    away from ``now`` (default: the current time) either way. Any one of the space-separated
    ``v1,`` signatures may match; other versions are ignored. Comparison is in constant time.
    """
    key = decode_secret(secret)
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signature = _header(headers, "webhook-signature")
    missing = [name for name, value in (("webhook-id", msg_id), ("webhook-timestamp", timestamp),
                                        ("webhook-signature", signature)) if not value]
    if missing:
        raise WebhookVerificationError("missing header" + ("s " if len(missing) > 1 else " ") + ", ".join(missing))

    timestamp = timestamp.strip()
    if not timestamp.isdigit():
        raise WebhookVerificationError(f"bad webhook-timestamp {timestamp[:40]!r}: not unix seconds")
    sent = int(timestamp)
    current = time.time() if now is None else now
    if sent < current - tolerance:
        raise WebhookVerificationError(f"webhook-timestamp too old ({int(current - sent)} s ago, tolerance {tolerance} s)")
    if sent > current + tolerance:
        raise WebhookVerificationError(f"webhook-timestamp too new ({int(sent - current)} s ahead, tolerance {tolerance} s)")

    expected = _digest(key, msg_id, timestamp, _as_bytes(body))
    matched = False
    seen_v1 = False
    for candidate in signature.split():
        version, _, value = candidate.partition(",")
        if version != "v1" or not value:
            continue
        seen_v1 = True
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        # No early exit: every candidate costs the same whichever one matches.
        matched |= hmac.compare_digest(expected, given)
    if not seen_v1:
        raise WebhookVerificationError("no v1 signature in webhook-signature")
    if not matched:
        raise WebhookVerificationError("no matching signature")


def _self_test() -> None:
    import doctest
    import sys

    failures, tests = doctest.testmod(sys.modules[__name__])
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, ts, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, msg_id, ts, body) == expected, sign(secret, msg_id, ts, body)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts),
               "webhook-signature": "v1,AAAA v1a,ignored " + expected}
    verify(secret, headers, body, now=ts + 299)
    for now in (ts + 301, ts - 301):
        try:
            verify(secret, headers, body, now=now)
        except WebhookVerificationError:
            pass
        else:
            raise AssertionError("stale timestamp accepted")
    print(f"standard_webhooks: {tests} doctests, {failures} failures; test vector {expected} OK")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    _self_test()
