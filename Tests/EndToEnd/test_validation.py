"""Bad input everywhere: malformed JSON, wrong types, unknown fields, invalid SIP URIs and
origins, oversized bodies, wrong content types."""

from __future__ import annotations

import json

import pytest

from support import (
    ALLOWED_ORIGIN,
    DESTINATION,
    ONE_MIB,
    Client,
    ServerProcess,
    assert_json,
    assert_problem,
    assert_raw_problem,
    error_pointers,
    raw_exchange,
)


@pytest.fixture(scope="module")
def widget(admin: Client) -> dict:
    return admin.create_widget(name="validation target", allowedOrigins=[ALLOWED_ORIGIN])


def _targets(widget: dict) -> list[tuple[str, str]]:
    return [
        ("POST", "/v1/widgets"),
        ("PATCH", f"/v1/widgets/{widget['id']}"),
        ("POST", "/v1/api-keys"),
        ("POST", f"/v1/widgets/{widget['id']}/sessions"),
    ]


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"name": "x",}', b"not json", b'{"name": "x"} trailing', b'{"name": "\xff\xfe", "destination": "sip:a@b.example"}', b'{"name": "\\ud800"'],
    ids=["truncated", "trailing-comma", "text", "trailing-garbage", "bad-utf8", "unterminated"],
)
def test_malformed_json_is_400(admin: Client, widget: dict, raw: bytes) -> None:
    for method, path in _targets(widget):
        response = admin.request(method, path, data=raw, headers={"Content-Type": "application/json"})
        assert_problem(response, 400)


@pytest.mark.parametrize("content_type", [None, "application/json"], ids=["no-content-type", "json"])
def test_empty_body_where_one_is_required(admin: Client, widget: dict, content_type) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for method, path in _targets(widget)[:3]:  # sessions take an optional body (see test_sessions)
        assert_problem(admin.request(method, path, data=b"", headers=headers), {400, 415})
        assert_problem(admin.request(method, path, headers=headers), {400, 415})


@pytest.mark.parametrize("raw", [b"[]", b'"widget"', b"42", b"null", b"true"])
def test_body_that_is_not_an_object_is_400(admin: Client, widget: dict, raw: bytes) -> None:
    for method, path in _targets(widget):
        response = admin.request(method, path, data=raw, headers={"Content-Type": "application/json"})
        assert_problem(response, 400)


WRONG_TYPES = [
    {"name": 5},
    {"name": ["a"]},
    {"video": "yes"},
    {"video": 1},
    {"enabled": "true"},
    {"allowedOrigins": ALLOWED_ORIGIN},
    {"allowedOrigins": [5]},
    {"appearance": "blue"},
    {"appearance": {"shape": 3}},
    {"recording": {"auto": "yes"}},
    {"recording": True},
    {"destination": 5060},
    {"label": 7},
]


@pytest.mark.parametrize("change", WRONG_TYPES, ids=[json.dumps(c) for c in WRONG_TYPES])
def test_wrong_types_are_400(admin: Client, widget: dict, change: dict) -> None:
    body = {"name": "typed", "destination": DESTINATION, **change}
    assert_problem(admin.post("/v1/widgets", body), 400)
    assert_problem(admin.patch(f"/v1/widgets/{widget['id']}", change), 400)


UNKNOWN_FIELDS = [
    {"colour": "red"},
    {"id": "wid_00000000000000000000000000"},
    {"createdAt": "2024-01-01T00:00:00Z"},
    {"appearance": {"font": "Comic Sans"}},
    {"recording": {"auto": False, "format": "mp3"}},
]


@pytest.mark.parametrize("change", UNKNOWN_FIELDS, ids=[json.dumps(c) for c in UNKNOWN_FIELDS])
def test_unknown_fields_are_400(admin: Client, widget: dict, change: dict) -> None:
    body = {"name": "strict", "destination": DESTINATION, **change}
    assert_problem(admin.post("/v1/widgets", body), 400)
    assert_problem(admin.patch(f"/v1/widgets/{widget['id']}", change), 400)


def test_missing_required_fields_are_rejected(admin: Client) -> None:
    assert_problem(admin.post("/v1/widgets", {"name": "no destination"}), {400, 422})
    assert_problem(admin.post("/v1/widgets", {"destination": DESTINATION}), {400, 422})
    assert_problem(admin.post("/v1/widgets", {}), {400, 422})


@pytest.mark.parametrize(
    "destination",
    ["sip:", "sip:alice@", "sip:a@b:99999", "sips:a b@c", "sip:@host.example", "sip:alice@host:0", "sip:alice@-bad-.example"],
)
def test_invalid_sip_destination_is_422_pointing_at_destination(admin: Client, widget: dict, destination: str) -> None:
    problem = assert_problem(admin.post("/v1/widgets", {"name": "bad uri", "destination": destination}), 422)
    assert "/destination" in error_pointers(problem), f"no errors entry with pointer /destination: {problem}"
    problem = assert_problem(admin.patch(f"/v1/widgets/{widget['id']}", {"destination": destination}), 422)
    assert "/destination" in error_pointers(problem), f"no errors entry with pointer /destination: {problem}"


@pytest.mark.parametrize(
    "destination",
    [
        "sip:alice@example.com",
        "sips:support@callcentre.example:5061;transport=tls",
        "sip:+4930123456@10.0.0.1:5060",
        "sip:queue@[2001:db8::1]",
        "sip:callcentre.example",
    ],
)
def test_valid_sip_destinations_are_accepted(admin: Client, destination: str) -> None:
    widget = assert_json(admin.post("/v1/widgets", {"name": "good uri", "destination": destination}), 201)
    assert widget["destination"] == destination


@pytest.mark.parametrize(
    "origin",
    ["https://shop.example/path", "ftp://x", "shop.example", "https://shop.example?q=1", "https://", "https://shop.example:99999"],
)
def test_invalid_origin_is_rejected(admin: Client, widget: dict, origin: str) -> None:
    for response in (
        admin.post("/v1/widgets", {"name": "bad origin", "destination": DESTINATION, "allowedOrigins": [origin]}),
        admin.patch(f"/v1/widgets/{widget['id']}", {"allowedOrigins": [ALLOWED_ORIGIN, origin]}),
    ):
        problem = assert_problem(response, {400, 422})
        if response.status_code == 422:
            pointers = error_pointers(problem)
            assert any(p.startswith("/allowedOrigins") for p in pointers), f"422 without an /allowedOrigins pointer: {problem}"


@pytest.mark.parametrize(
    "appearance",
    [{"primaryColor": "red"}, {"primaryColor": "#12345"}, {"position": "middle"}, {"shape": "hexagon"}, {"language": "english!"}],
)
def test_invalid_appearance_is_rejected(admin: Client, appearance: dict) -> None:
    response = admin.post("/v1/widgets", {"name": "ugly", "destination": DESTINATION, "appearance": appearance})
    problem = assert_problem(response, {400, 422})
    if response.status_code == 422:
        field = next(iter(appearance))
        assert f"/appearance/{field}" in error_pointers(problem), problem


def test_body_over_one_mib_is_413(server: ServerProcess) -> None:
    filler = "a" * (ONE_MIB + 1024)
    body = json.dumps({"name": "big", "destination": DESTINATION, "label": filler}).encode()
    head = (
        f"POST /v1/widgets HTTP/1.1\r\nHost: 127.0.0.1:{server.http_port}\r\n"
        f"Authorization: Bearer {server.bootstrap_key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    status, headers, payload = raw_exchange(server.http_port, head, body)
    assert_raw_problem(status, headers, payload, 413, "POST /v1/widgets with a 1 MiB + 1 KiB body")

    # Chunked bodies are limited too.
    chunk = b"x" * 65536
    chunked = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(17)) + b"0\r\n\r\n"
    head = (
        f"POST /v1/api-keys HTTP/1.1\r\nHost: 127.0.0.1:{server.http_port}\r\n"
        f"Authorization: Bearer {server.bootstrap_key}\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    status, headers, payload = raw_exchange(server.http_port, head, chunked)
    assert_raw_problem(status, headers, payload, 413, "chunked POST /v1/api-keys of 1.06 MiB")

    # The server still answers afterwards.
    assert server.client().get("/v1/widgets").status_code == 200


def test_body_just_under_the_limit_is_not_413(admin: Client) -> None:
    """A large but allowed body is read and validated (here: label too long → 400/422, not 413)."""
    body = {"name": "big", "destination": DESTINATION, "label": "a" * (ONE_MIB - 1024)}
    response = admin.post("/v1/widgets", body)
    assert_problem(response, {400, 422})


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_wrong_content_type_is_415(admin: Client, widget: dict, content_type: str) -> None:
    valid = {
        "/v1/widgets": {"name": "typed", "destination": DESTINATION},
        f"/v1/widgets/{widget['id']}": {"name": "typed"},
        "/v1/api-keys": {"name": "typed"},
        f"/v1/widgets/{widget['id']}/sessions": {"context": {}},
    }
    for method, path in _targets(widget):
        response = admin.request(method, path, data=json.dumps(valid[path]).encode(), headers={"Content-Type": content_type})
        assert_problem(response, 415)


def test_json_with_charset_is_accepted(admin: Client) -> None:
    response = admin.request(
        "POST", "/v1/widgets", data=json.dumps({"name": "charset", "destination": DESTINATION}).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert_json(response, 201)


def test_non_ascii_text_round_trips(admin: Client) -> None:
    widget = admin.create_widget(name="Rückruf – 電話 ☎", label="Rufen Sie uns an ☎")
    fetched = assert_json(admin.get(f"/v1/widgets/{widget['id']}"), 200)
    assert (fetched["name"], fetched["label"]) == ("Rückruf – 電話 ☎", "Rufen Sie uns an ☎")
