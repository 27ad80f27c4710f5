"""Widgets: create with defaults, get, list with cursor pagination, partial update, delete."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urljoin

import pytest

from support import (
    ALLOWED_ORIGIN,
    DESTINATION,
    Client,
    ServerProcess,
    assert_json,
    assert_problem,
    describe,
    parse_time,
)

UNKNOWN_WIDGET = "wid_00000000000000000000000000"
REQUIRED = {"id", "name", "label", "appearance", "destination", "allowedOrigins", "video", "recording", "enabled", "createdAt", "updatedAt"}


def test_create_fills_defaults(server: ServerProcess, admin: Client) -> None:
    response = admin.post("/v1/widgets", {"name": "Shop front", "destination": DESTINATION})
    widget = assert_json(response, 201)
    assert REQUIRED <= set(widget), f"missing members {sorted(REQUIRED - set(widget))}: {widget}"
    assert re.fullmatch(r"wid_[A-Za-z0-9]+", widget["id"]), f"id is not `wid_…`: {widget['id']!r}"
    assert widget["name"] == "Shop front"
    assert widget["destination"] == DESTINATION
    assert isinstance(widget["label"], str) and widget["label"].strip(), f"default label is empty: {widget['label']!r}"
    assert isinstance(widget["appearance"], dict), f"appearance is not an object: {widget['appearance']!r}"
    assert widget["allowedOrigins"] == []
    assert widget["video"] is False
    assert widget["recording"] == {"auto": False, "announce": False}
    assert widget["enabled"] is True
    created, updated = parse_time(widget["createdAt"]), parse_time(widget["updatedAt"])
    assert updated >= created

    location = response.headers.get("Location")
    assert location, "201 without Location" + describe(response)
    assert location.rstrip("/").endswith(f"/v1/widgets/{widget['id']}"), f"Location {location!r} does not name the widget"
    assert assert_json(admin.session.get(urljoin(server.url + "/", location), headers={"Authorization": f"Bearer {admin.key}"}, timeout=10), 200) == widget


def test_create_keeps_given_fields(admin: Client) -> None:
    body = {
        "name": "Support",
        "label": "Talk to us",
        "appearance": {"primaryColor": "#112233", "textColor": "#FFFFFF", "position": "inline", "shape": "square", "language": "de-CH"},
        "destination": "sips:support@callcentre.example:5061;transport=tls",
        "allowedOrigins": [ALLOWED_ORIGIN, "http://localhost:3000"],
        "video": True,
        "recording": {"auto": True, "announce": True},
        "enabled": False,
    }
    widget = assert_json(admin.post("/v1/widgets", body), 201)
    for field in ("name", "label", "destination", "allowedOrigins", "video", "recording", "enabled"):
        assert widget[field] == body[field], f"{field}: sent {body[field]!r}, got {widget[field]!r}"
    for field, value in body["appearance"].items():
        assert widget["appearance"].get(field, "").lower() == value.lower(), f"appearance.{field}: {widget['appearance']}"
    assert assert_json(admin.get(f"/v1/widgets/{widget['id']}"), 200) == widget


def test_get_unknown_widget_is_404(admin: Client) -> None:
    assert_problem(admin.get(f"/v1/widgets/{UNKNOWN_WIDGET}"), 404)
    assert_problem(admin.get("/v1/widgets/not-an-id"), 404)


def test_widgets_need_a_key(anon: Client) -> None:
    widget_id = UNKNOWN_WIDGET
    assert_problem(anon.get("/v1/widgets"), 401)
    assert_problem(anon.get(f"/v1/widgets/{widget_id}"), 401)
    assert_problem(anon.post("/v1/widgets", {"name": "x", "destination": DESTINATION}), 401)
    assert_problem(anon.patch(f"/v1/widgets/{widget_id}", {"name": "x"}), 401)
    assert_problem(anon.delete(f"/v1/widgets/{widget_id}"), 401)


def test_pagination_walks_every_widget_once_in_creation_order(admin: Client) -> None:
    tag = uuid.uuid4().hex[:6]
    created = [admin.create_widget(name=f"page {tag} {i}")["id"] for i in range(23)]

    default_page = assert_json(admin.get("/v1/widgets"), 200)
    assert len(default_page["data"]) == 20, f"default page size is {len(default_page['data'])}, expected 20"
    assert default_page["nextCursor"] is not None

    reference = [w["id"] for w in admin.list_all("/v1/widgets", limit=100)]
    assert len(reference) == len(set(reference)), "duplicates in the limit=100 walk"
    for limit in (1, 3, 7):
        walked = [w["id"] for w in admin.list_all("/v1/widgets", limit=limit)]
        assert walked == reference, f"limit={limit} walk differs from the limit=100 walk (duplicates or gaps)"
    positions = [reference.index(i) for i in created]
    assert positions == sorted(positions), "widgets are not listed oldest first"

    # Pages before the last are full; the last page has a null nextCursor.
    page = assert_json(admin.get("/v1/widgets", params={"limit": 5}), 200)
    while page["nextCursor"] is not None:
        assert len(page["data"]) == 5, f"a non-final page has {len(page['data'])} of 5 items"
        page = assert_json(admin.get("/v1/widgets", params={"limit": 5, "after": page["nextCursor"]}), 200)
    assert len(page["data"]) <= 5


def test_last_page_exactly_full(admin: Client) -> None:
    total = len(admin.list_all("/v1/widgets"))
    page = assert_json(admin.get("/v1/widgets", params={"limit": total}), 200)
    assert len(page["data"]) == total
    if page["nextCursor"] is not None:  # allowed to point past the end, but then the next page is empty and final
        tail = assert_json(admin.get("/v1/widgets", params={"limit": total, "after": page["nextCursor"]}), 200)
        assert tail["data"] == [] and tail["nextCursor"] is None, f"page after the last item: {tail}"


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "99999999999999999999"])
def test_limit_out_of_range_is_400(admin: Client, limit: str) -> None:
    assert_problem(admin.get("/v1/widgets", params={"limit": limit}), 400)


@pytest.mark.parametrize("cursor", ["not a cursor!", "key_00000000000000000000000000", "x" * 129, "%00"])
def test_bad_cursor_is_400(admin: Client, cursor: str) -> None:
    assert_problem(admin.get("/v1/widgets", params={"limit": 5, "after": cursor}), 400)


def test_patch_changes_only_given_fields(admin: Client) -> None:
    widget = admin.create_widget(name="before", allowedOrigins=[ALLOWED_ORIGIN])
    changed = assert_json(admin.patch(f"/v1/widgets/{widget['id']}", {"name": "after"}), 200)
    assert changed["name"] == "after"
    for field in REQUIRED - {"name", "updatedAt"}:
        assert changed[field] == widget[field], f"{field} changed by a PATCH of name: {widget[field]!r} -> {changed[field]!r}"
    assert parse_time(changed["updatedAt"]) >= parse_time(widget["updatedAt"])
    assert assert_json(admin.get(f"/v1/widgets/{widget['id']}"), 200) == changed

    unchanged = assert_json(admin.patch(f"/v1/widgets/{widget['id']}", {}), 200)
    for field in REQUIRED - {"updatedAt"}:
        assert unchanged[field] == changed[field], f"{field} changed by an empty PATCH"

    flipped = assert_json(admin.patch(f"/v1/widgets/{widget['id']}", {"enabled": False, "video": True, "allowedOrigins": []}), 200)
    assert (flipped["enabled"], flipped["video"], flipped["allowedOrigins"]) == (False, True, [])
    assert flipped["name"] == "after"


def test_patch_merges_appearance_field_by_field(admin: Client) -> None:
    widget = admin.create_widget(appearance={"primaryColor": "#112233", "shape": "round"})
    changed = assert_json(admin.patch(f"/v1/widgets/{widget['id']}", {"appearance": {"textColor": "#000000"}}), 200)
    appearance = changed["appearance"]
    assert appearance.get("primaryColor", "").lower() == "#112233", f"primaryColor lost by the merge: {appearance}"
    assert appearance.get("shape") == "round", f"shape lost by the merge: {appearance}"
    assert appearance.get("textColor", "").lower() == "#000000", appearance
    for field, value in widget["appearance"].items():
        if field != "textColor":
            assert appearance.get(field) == value, f"appearance.{field} changed: {widget['appearance']} -> {appearance}"


def test_patch_merges_recording_field_by_field(admin: Client) -> None:
    """The spec: "`appearance` and `recording` are merged field by field"."""
    widget = admin.create_widget(recording={"auto": True, "announce": False})
    changed = assert_json(admin.patch(f"/v1/widgets/{widget['id']}", {"recording": {"announce": True}}), 200)
    assert changed["recording"] == {"auto": True, "announce": True}, (
        f"PATCH recording {{announce: true}} on {{auto: true}} gave {changed['recording']}"
    )


def test_patch_label_null_resets_to_default(admin: Client) -> None:
    default_label = admin.create_widget()["label"]
    widget = admin.create_widget(label="Ring me")
    assert widget["label"] == "Ring me"
    relabelled = assert_json(admin.patch(f"/v1/widgets/{widget['id']}", {"label": "Call now"}), 200)
    assert relabelled["label"] == "Call now"
    reset = assert_json(admin.patch(f"/v1/widgets/{widget['id']}", {"label": None}), 200)
    assert reset["label"] == default_label, f"label after reset {reset['label']!r}, default is {default_label!r}"
    assert assert_json(admin.get(f"/v1/widgets/{widget['id']}"), 200)["label"] == default_label


def test_patch_unknown_widget_is_404(admin: Client) -> None:
    assert_problem(admin.patch(f"/v1/widgets/{UNKNOWN_WIDGET}", {"name": "x"}), 404)


def test_patch_validates_like_create(admin: Client) -> None:
    widget = admin.create_widget()
    assert_problem(admin.patch(f"/v1/widgets/{widget['id']}", {"colour": "red"}), 400)
    assert_problem(admin.patch(f"/v1/widgets/{widget['id']}", {"video": "yes"}), 400)
    problem = assert_problem(admin.patch(f"/v1/widgets/{widget['id']}", {"destination": "sip:alice@"}), 422)
    assert "/destination" in [e.get("pointer") for e in problem.get("errors", [])], problem
    assert assert_json(admin.get(f"/v1/widgets/{widget['id']}"), 200) == widget, "a rejected PATCH changed the widget"


def test_delete(server: ServerProcess, admin: Client, anon: Client) -> None:
    widget = admin.create_widget(allowedOrigins=[ALLOWED_ORIGIN])
    session = admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {}})
    assert session.status_code == 201, describe(session)

    response = admin.delete(f"/v1/widgets/{widget['id']}")
    assert response.status_code == 204, describe(response)
    assert response.content == b"", "204 with a body" + describe(response)

    assert_problem(admin.get(f"/v1/widgets/{widget['id']}"), 404)
    assert_problem(admin.delete(f"/v1/widgets/{widget['id']}"), 404)
    assert_problem(admin.patch(f"/v1/widgets/{widget['id']}", {"name": "x"}), 404)
    assert_problem(anon.get(f"/v1/widgets/{widget['id']}/public", headers={"Origin": ALLOWED_ORIGIN}), 404)
    assert_problem(admin.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {}}), 404)
    assert_problem(anon.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {}}, headers={"Origin": ALLOWED_ORIGIN}), 404)
    assert widget["id"] not in [w["id"] for w in admin.list_all("/v1/widgets")]
