"""Widget sessions: tokens for the backend (verified) and for pages (unverified), and refusals."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from support import (
    ALLOWED_ORIGIN,
    FOREIGN_ORIGIN,
    Client,
    ServerProcess,
    assert_json,
    assert_problem,
    data_dir_listing,
    describe,
    files_containing,
    now_utc,
    parse_time,
)

TTL = 120
SERVER_ARGS = ["--session-ttl", str(TTL), "--session-rate-limit", "10000"]
REQUIRED = {"id", "token", "expiresAt", "websocketUrl", "sipUri", "iceServers", "verified"}


@pytest.fixture(scope="module")
def widget(admin: Client) -> dict:
    return admin.create_widget(name="sessions", allowedOrigins=[ALLOWED_ORIGIN])


def sessions_path(widget: dict) -> str:
    return f"/v1/widgets/{widget['id']}/sessions"


def check_session(session: dict, *, verified: bool, ttl: int) -> None:
    assert REQUIRED <= set(session), f"missing {sorted(REQUIRED - set(session))}: {session}"
    assert session["verified"] is verified, f"verified should be {verified}: {session}"
    assert session["id"].startswith("wss_"), f"id is not `wss_…`: {session['id']!r}"
    token = session["token"]
    body = re.sub(r"^[a-z]{2,5}_", "", token)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", body), f"token {token!r} is not ≥ 43 base64url characters after its prefix"
    expires = parse_time(session["expiresAt"])
    expected = now_utc() + dt.timedelta(seconds=ttl)
    assert abs((expires - expected).total_seconds()) < 15, f"expiresAt {expires} is not ≈ now + {ttl}s ({expected})"
    url = session["websocketUrl"]
    assert re.match(r"^wss?://", url), f"websocketUrl {url!r} is not ws:// or wss://"
    assert url.endswith(f"/sip?token={token}"), f"websocketUrl {url!r} does not end with /sip?token=<token>"
    assert isinstance(session["sipUri"], str) and re.match(r"^sips?:", session["sipUri"]), session["sipUri"]
    assert isinstance(session["iceServers"], list), session["iceServers"]
    for server in session["iceServers"]:
        assert isinstance(server.get("urls"), list) and server["urls"], f"ice server without urls: {server}"


def test_backend_session_is_verified(admin: Client, widget: dict) -> None:
    context = {"customer": {"id": "C-1001", "name": "Ada"}, "page": "/checkout", "order": 4711}
    session = assert_json(admin.post(sessions_path(widget), {"context": context}), 201)
    check_session(session, verified=True, ttl=TTL)


def test_page_session_is_unverified(anon: Client, widget: dict) -> None:
    response = anon.post(sessions_path(widget), {"context": {"page": "/product/42"}}, headers={"Origin": ALLOWED_ORIGIN})
    session = assert_json(response, 201)
    check_session(session, verified=False, ttl=TTL)


def test_context_is_optional(admin: Client, anon: Client, widget: dict) -> None:
    check_session(assert_json(admin.post(sessions_path(widget), {}), 201), verified=True, ttl=TTL)
    check_session(assert_json(admin.request("POST", sessions_path(widget)), 201), verified=True, ttl=TTL)
    response = anon.request("POST", sessions_path(widget), headers={"Origin": ALLOWED_ORIGIN})
    check_session(assert_json(response, 201), verified=False, ttl=TTL)


def test_tokens_are_unique(admin: Client, widget: dict) -> None:
    sessions = [assert_json(admin.post(sessions_path(widget), {"context": {}}), 201) for _ in range(5)]
    assert len({s["token"] for s in sessions}) == 5, "two sessions got the same token"
    assert len({s["id"] for s in sessions}) == 5, "two sessions got the same id"


def test_tokens_are_not_stored_in_plain_text(server: ServerProcess, admin: Client, anon: Client, widget: dict) -> None:
    tokens = [
        assert_json(admin.post(sessions_path(widget), {"context": {"n": 1}}), 201)["token"],
        assert_json(anon.post(sessions_path(widget), {"context": {"n": 2}}, headers={"Origin": ALLOWED_ORIGIN}), 201)["token"],
    ]
    admin.create_widget(name="write after sessions")
    for token in tokens:
        hits = files_containing(server.data_dir, token)
        assert not hits, f"session token stored in plain text in {hits}; data dir: {data_dir_listing(server.data_dir)}"


def test_foreign_origin_without_key_is_403(anon: Client, widget: dict) -> None:
    response = anon.post(sessions_path(widget), {"context": {}}, headers={"Origin": FOREIGN_ORIGIN})
    assert_problem(response, 403)
    assert response.headers.get("Access-Control-Allow-Origin") not in (FOREIGN_ORIGIN, "*"), describe(response)


def test_no_origin_and_no_key_is_401(anon: Client, widget: dict) -> None:
    assert_problem(anon.post(sessions_path(widget), {"context": {}}), 401)


def test_invalid_key_is_401_even_from_an_allowed_origin(server: ServerProcess, widget: dict) -> None:
    client = Client(server.url, "sbk_unknownunknownunknownunknownunknownunknown123")
    assert_problem(client.post(sessions_path(widget), {"context": {}}), 401)
    assert_problem(client.post(sessions_path(widget), {"context": {}}, headers={"Origin": ALLOWED_ORIGIN}), 401)


def test_unknown_widget_is_404(admin: Client, anon: Client) -> None:
    path = "/v1/widgets/wid_00000000000000000000000000/sessions"
    assert_problem(admin.post(path, {"context": {}}), 404)
    assert_problem(anon.post(path, {"context": {}}, headers={"Origin": ALLOWED_ORIGIN}), 404)


def test_disabled_widget_is_409(admin: Client, anon: Client) -> None:
    disabled = admin.create_widget(allowedOrigins=[ALLOWED_ORIGIN], enabled=False)
    assert_problem(admin.post(sessions_path(disabled), {"context": {}}), 409)
    assert_problem(anon.post(sessions_path(disabled), {"context": {}}, headers={"Origin": ALLOWED_ORIGIN}), 409)
    assert_json(admin.patch(f"/v1/widgets/{disabled['id']}", {"enabled": True}), 200)
    assert_json(admin.post(sessions_path(disabled), {"context": {}}), 201)


def _context_of_size(size: int) -> dict:
    """A context object whose compact JSON is exactly `size` bytes."""
    base = {"blob": ""}
    overhead = len(json.dumps(base, separators=(",", ":")))
    return {"blob": "x" * (size - overhead)}


def test_context_over_8_kib_is_413(admin: Client, anon: Client, widget: dict) -> None:
    big = _context_of_size(8 * 1024 + 200)
    assert_problem(admin.post(sessions_path(widget), {"context": big}), 413)
    assert_problem(anon.post(sessions_path(widget), {"context": big}, headers={"Origin": ALLOWED_ORIGIN}), 413)
    many = {f"k{i}": i for i in range(2000)}
    assert_problem(admin.post(sessions_path(widget), {"context": many}), 413)


def test_context_under_8_kib_is_accepted(admin: Client, widget: dict) -> None:
    assert_json(admin.post(sessions_path(widget), {"context": _context_of_size(7 * 1024)}), 201)


@pytest.mark.parametrize("context", [[1, 2], "customer 42", 42, True], ids=["list", "string", "number", "bool"])
def test_context_must_be_an_object(admin: Client, widget: dict, context) -> None:
    assert_problem(admin.post(sessions_path(widget), {"context": context}), 400)


def test_unknown_top_level_field_is_400(admin: Client, anon: Client, widget: dict) -> None:
    assert_problem(admin.post(sessions_path(widget), {"context": {}, "destination": "sip:evil@attacker.example"}), 400)
    assert_problem(
        anon.post(sessions_path(widget), {"ttl": 999999}, headers={"Origin": ALLOWED_ORIGIN}), 400
    )


def test_any_json_is_accepted_inside_context(admin: Client, widget: dict) -> None:
    context = {"nested": {"deep": [1, {"x": None}, "ü", 1.5e10]}, "unicode": "☎ 電話", "empty": {}}
    assert_json(admin.post(sessions_path(widget), {"context": context}), 201)
