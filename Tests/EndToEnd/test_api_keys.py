"""API keys: creation, listing without secrets, revocation, authentication failures, and secrets
at rest."""

from __future__ import annotations

import re

import pytest

from support import (
    Client,
    ServerProcess,
    assert_json,
    assert_problem,
    data_dir_listing,
    describe,
    files_containing,
    parse_time,
)

SECRET_RE = re.compile(r"sbk_[A-Za-z0-9_-]{20,}")


def test_create_returns_the_secret_once(admin: Client) -> None:
    response = admin.post("/v1/api-keys", {"name": "backend"})
    key = assert_json(response, 201)
    assert SECRET_RE.fullmatch(key.get("secret", "")), f"secret is not `sbk_…`: {key}"
    assert key["id"].startswith("key_"), f"id is not `key_…`: {key}"
    assert key["name"] == "backend"
    assert isinstance(key["prefix"], str) and key["prefix"], key
    assert key["secret"].startswith(key["prefix"]), f"prefix {key['prefix']!r} is not the start of the secret"
    assert len(key["prefix"]) < len(key["secret"]) // 2, f"prefix {key['prefix']!r} gives away most of the secret"
    parse_time(key["createdAt"])
    assert key.get("revokedAt") is None, key

    listed = admin.get("/v1/api-keys", params={"limit": 100})
    assert_json(listed, 200)
    assert key["secret"] not in listed.text, "GET /v1/api-keys shows a secret" + describe(listed)
    for entry in listed.json()["data"]:
        assert "secret" not in entry, f"list entry has a `secret` member: {entry}"
    assert key["id"] in [entry["id"] for entry in admin.list_all("/v1/api-keys")]

    single = admin.get(f"/v1/api-keys/{key['id']}")
    fetched = assert_json(single, 200)
    assert key["secret"] not in single.text and "secret" not in fetched, "GET /v1/api-keys/{id} shows the secret"
    assert {k: fetched[k] for k in ("id", "name", "prefix")} == {k: key[k] for k in ("id", "name", "prefix")}


def test_two_keys_have_different_secrets(admin: Client) -> None:
    first, second = admin.create_api_key(), admin.create_api_key()
    assert first["secret"] != second["secret"] and first["id"] != second["id"]


def test_new_key_works_and_revoked_key_gets_401(server: ServerProcess, admin: Client) -> None:
    key = admin.create_api_key("short-lived")
    client = server.client(key["secret"])
    assert_json(client.get("/v1/widgets"), 200)
    widget = client.create_widget(name="made with a second key")
    assert_json(admin.get(f"/v1/widgets/{widget['id']}"), 200)

    response = admin.delete(f"/v1/api-keys/{key['id']}")
    assert response.status_code == 204, describe(response)
    assert response.content == b"", "204 with a body" + describe(response)

    assert_problem(client.get("/v1/widgets"), 401)
    assert_problem(client.post("/v1/widgets", {"name": "x", "destination": "sip:a@b.example"}), 401)
    assert_problem(client.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {}}), 401)

    revoked = assert_json(admin.get(f"/v1/api-keys/{key['id']}"), 200)
    assert revoked.get("revokedAt") is not None, f"revoked key has no revokedAt: {revoked}"
    parse_time(revoked["revokedAt"])


def test_revoking_an_unknown_key_is_404(admin: Client) -> None:
    assert_problem(admin.delete("/v1/api-keys/key_00000000000000000000000000"), 404)
    assert_problem(admin.get("/v1/api-keys/key_00000000000000000000000000"), 404)


def test_a_key_cannot_revoke_itself(server: ServerProcess, admin: Client) -> None:
    key = admin.create_api_key("self-revoker")
    client = server.client(key["secret"])
    assert_problem(client.delete(f"/v1/api-keys/{key['id']}"), 409)
    assert_json(client.get("/v1/widgets"), 200)  # still works

    # The bootstrap admin key cannot lock itself out either.
    prefix_matches = [k for k in admin.list_all("/v1/api-keys") if server.bootstrap_key.startswith(k["prefix"])]
    assert len(prefix_matches) == 1, f"bootstrap key not identifiable by prefix in {prefix_matches}"
    assert_problem(admin.delete(f"/v1/api-keys/{prefix_matches[0]['id']}"), 409)
    assert_json(admin.get("/v1/widgets"), 200)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic YWRtaW46YWRtaW4=",
        "Token sbk_abc",
        "sbk_notascheme",
        "Bearer sbk_unknownunknownunknownunknownunknownunknown123",
        "Bearer not-a-key",
        "Bearer " + "x" * 4000,
    ],
    ids=["missing", "empty", "bearer-no-key", "bearer-space", "basic", "other-scheme", "no-scheme", "unknown", "garbage", "huge"],
)
def test_bad_credentials_get_401(server: ServerProcess, authorization: str | None) -> None:
    client = Client(server.url, None)
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path, body in [
        ("GET", "/v1/widgets", None),
        ("POST", "/v1/widgets", b'{"name":"n","destination":"sip:a@b.example"}'),
        ("GET", "/v1/api-keys", None),
        ("POST", "/v1/api-keys", b'{"name":"n"}'),
    ]:
        extra = dict(headers)
        if body is not None:
            extra["Content-Type"] = "application/json"
        assert_problem(client.request(method, path, data=body, headers=extra), 401)


def test_bootstrap_key_with_unknown_suffix_is_rejected(server: ServerProcess) -> None:
    assert_problem(server.client(server.bootstrap_key + "x").get("/v1/widgets"), 401)
    assert_problem(server.client(server.bootstrap_key[:-1]).get("/v1/widgets"), 401)


def test_secrets_are_not_stored_in_plain_text(server: ServerProcess, admin: Client) -> None:
    secrets = [admin.create_api_key("at-rest")["secret"] for _ in range(2)]
    # Make sure the key has been used (lastUsedAt) and the store has written something since.
    assert_json(server.client(secrets[0]).get("/v1/widgets"), 200)
    admin.create_widget(name="after key creation")
    for secret in [*secrets, server.bootstrap_key]:
        hits = files_containing(server.data_dir, secret)
        assert not hits, (
            f"a secret ({secret[:8]}…) is stored in plain text in {hits}; "
            f"data dir: {data_dir_listing(server.data_dir)}"
        )


@pytest.mark.parametrize(
    "body, statuses",
    [
        ({"name": 5}, {400}),
        ({"name": None}, {400}),
        ({"name": "ok", "admin": True}, {400}),
        ({}, {400, 422}),
        ({"name": ""}, {400, 422}),
        ({"name": "x" * 201}, {400, 422}),
        ([], {400}),
    ],
    ids=["int-name", "null-name", "unknown-field", "missing-name", "empty-name", "long-name", "array"],
)
def test_invalid_key_creation(admin: Client, body, statuses) -> None:
    assert_problem(admin.post("/v1/api-keys", body), statuses)


def test_api_key_list_paginates(admin: Client) -> None:
    for _ in range(3):
        admin.create_api_key()
    everything = admin.list_all("/v1/api-keys", limit=100)
    walked = admin.list_all("/v1/api-keys", limit=1)
    assert [k["id"] for k in walked] == [k["id"] for k in everything], "limit=1 walk differs from limit=100 walk"
    assert len({k["id"] for k in walked}) == len(walked), "duplicate keys across pages"
