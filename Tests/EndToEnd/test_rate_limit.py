"""Unauthenticated session creation is rate-limited per client address; the backend is not.
Also checks the default session lifetime (600 s), since this server runs without --session-ttl."""

from __future__ import annotations

import datetime as dt

from support import ALLOWED_ORIGIN, Client, assert_json, assert_problem, describe, now_utc, parse_time

SERVER_ARGS = ["--session-rate-limit", "5"]


def test_sixth_page_session_is_429_and_backend_is_not_limited(admin: Client, anon: Client) -> None:
    widget = admin.create_widget(name="rate limited", allowedOrigins=[ALLOWED_ORIGIN])
    path = f"/v1/widgets/{widget['id']}/sessions"

    for attempt in range(1, 6):
        response = anon.post(path, {"context": {"attempt": attempt}}, headers={"Origin": ALLOWED_ORIGIN})
        session = assert_json(response, 201)
        assert session["verified"] is False

    expires = parse_time(session["expiresAt"])
    expected = now_utc() + dt.timedelta(seconds=600)
    assert abs((expires - expected).total_seconds()) < 15, f"default TTL: expiresAt {expires}, expected ≈ {expected}"

    limited = anon.post(path, {"context": {"attempt": 6}}, headers={"Origin": ALLOWED_ORIGIN})
    assert_problem(limited, 429)
    retry_after = limited.headers.get("Retry-After")
    assert retry_after is not None and retry_after.isdigit(), f"Retry-After {retry_after!r} is not an integer" + describe(limited)
    assert 1 <= int(retry_after) <= 60, f"Retry-After {retry_after} outside 1..60 for 5/minute" + describe(limited)

    # The backend (API key) is not limited, from the same address.
    for attempt in range(15):
        assert_json(admin.post(path, {"context": {"backend": attempt}}), 201)

    # The page is still limited (the bucket refills at one token every 12 s).
    assert_problem(anon.post(path, {"context": {}}, headers={"Origin": ALLOWED_ORIGIN}), 429)
