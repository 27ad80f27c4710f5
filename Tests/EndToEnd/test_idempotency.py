"""Idempotency-Key on POST: replay of the first response, conflict on a different body."""

from __future__ import annotations

import uuid

from support import (
    ALLOWED_ORIGIN,
    DESTINATION,
    Client,
    ServerProcess,
    assert_json,
    assert_problem,
    data_dir_listing,
    describe,
    files_containing,
)


def _widgets_named(admin: Client, name: str) -> list[dict]:
    return [w for w in admin.list_all("/v1/widgets") if w["name"] == name]


def test_same_key_same_body_replays(admin: Client) -> None:
    name = f"idempotent {uuid.uuid4().hex[:8]}"
    body = {"name": name, "destination": DESTINATION, "allowedOrigins": [ALLOWED_ORIGIN]}
    key = {"Idempotency-Key": uuid.uuid4().hex}

    first = admin.post("/v1/widgets", body, headers=key)
    created = assert_json(first, 201)
    assert first.headers.get("Idempotent-Replayed", "false").lower() != "true", "first response marked as replayed" + describe(first)

    second = admin.post("/v1/widgets", body, headers=key)
    assert second.status_code == first.status_code, describe(second)
    assert second.json() == created, f"replayed body differs: {created} vs {second.json()}"
    assert second.headers.get("Idempotent-Replayed", "").lower() == "true", "replay lacks Idempotent-Replayed: true" + describe(second)
    assert second.headers.get("Location") == first.headers.get("Location")

    third = admin.post("/v1/widgets", body, headers=key)
    assert third.status_code == 201 and third.json() == created, describe(third)

    matching = _widgets_named(admin, name)
    assert [w["id"] for w in matching] == [created["id"]], f"expected one widget named {name!r}, found {matching}"


def test_same_key_different_body_is_422(admin: Client) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    name = f"conflict {uuid.uuid4().hex[:8]}"
    assert_json(admin.post("/v1/widgets", {"name": name, "destination": DESTINATION}, headers=key), 201)
    assert_problem(admin.post("/v1/widgets", {"name": name + " changed", "destination": DESTINATION}, headers=key), 422)
    assert len(_widgets_named(admin, name)) == 1
    assert not _widgets_named(admin, name + " changed")


def test_different_keys_create_different_widgets(admin: Client) -> None:
    name = f"twice {uuid.uuid4().hex[:8]}"
    body = {"name": name, "destination": DESTINATION}
    first = assert_json(admin.post("/v1/widgets", body, headers={"Idempotency-Key": uuid.uuid4().hex}), 201)
    second = assert_json(admin.post("/v1/widgets", body, headers={"Idempotency-Key": uuid.uuid4().hex}), 201)
    assert first["id"] != second["id"]
    assert len(_widgets_named(admin, name)) == 2


def test_without_key_posts_are_not_deduplicated(admin: Client) -> None:
    name = f"plain {uuid.uuid4().hex[:8]}"
    body = {"name": name, "destination": DESTINATION}
    ids = {assert_json(admin.post("/v1/widgets", body), 201)["id"] for _ in range(2)}
    assert len(ids) == 2


def test_invalid_idempotency_key_is_400(admin: Client) -> None:
    body = {"name": "long key", "destination": DESTINATION}
    assert_problem(admin.post("/v1/widgets", body, headers={"Idempotency-Key": "k" * 256}), 400)


def test_replayed_secrets_are_not_stored_in_plain_text(server: ServerProcess, admin: Client) -> None:
    """Replays of responses that carry secrets (API key, session token) must not put those secrets
    on disk in plain text."""
    key_header = {"Idempotency-Key": uuid.uuid4().hex}
    created = assert_json(admin.post("/v1/api-keys", {"name": "idempotent key"}, headers=key_header), 201)
    replay = admin.post("/v1/api-keys", {"name": "idempotent key"}, headers=key_header)
    assert replay.status_code == 201, describe(replay)
    keys_named = [k for k in admin.list_all("/v1/api-keys") if k["name"] == "idempotent key"]
    assert len(keys_named) == 1, f"idempotent replay created another key: {keys_named}"

    widget = admin.create_widget(name="idempotent sessions", allowedOrigins=[ALLOWED_ORIGIN])
    session_header = {"Idempotency-Key": uuid.uuid4().hex}
    session = assert_json(admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {"a": 1}}, headers=session_header), 201)
    again = admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {"a": 1}}, headers=session_header)
    assert again.status_code == 201, describe(again)

    for secret in (created["secret"], session["token"]):
        hits = files_containing(server.data_dir, secret)
        assert not hits, f"secret {secret[:8]}… stored in plain text in {hits}; data dir: {data_dir_listing(server.data_dir)}"
