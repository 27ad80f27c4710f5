"""The public widget view and CORS for pages."""

from __future__ import annotations

import pytest

from support import (
    ALLOWED_ORIGIN,
    FOREIGN_ORIGIN,
    OTHER_ALLOWED_ORIGIN,
    Client,
    assert_json,
    assert_problem,
    describe,
)

PUBLIC_FIELDS = {"id", "label", "appearance", "video", "enabled"}


@pytest.fixture(scope="module")
def widget(admin: Client) -> dict:
    return admin.create_widget(
        name="internal-name-7c1f",
        label="Call the shop",
        destination="sip:secret-queue-91@callcentre.example",
        allowedOrigins=[ALLOWED_ORIGIN, OTHER_ALLOWED_ORIGIN],
        video=True,
        appearance={"primaryColor": "#0A0B0C", "position": "bottom-left"},
    )


def test_public_view_has_only_public_fields(anon: Client, widget: dict) -> None:
    response = anon.get(f"/v1/widgets/{widget['id']}/public", headers={"Origin": ALLOWED_ORIGIN})
    view = assert_json(response, 200)
    assert PUBLIC_FIELDS <= set(view), f"missing {sorted(PUBLIC_FIELDS - set(view))}: {view}"
    assert set(view) <= PUBLIC_FIELDS, f"public view exposes {sorted(set(view) - PUBLIC_FIELDS)}: {view}"
    for leaked in ("secret-queue-91", "internal-name-7c1f", OTHER_ALLOWED_ORIGIN):
        assert leaked not in response.text, f"public view leaks {leaked!r}" + describe(response)
    assert view["id"] == widget["id"]
    assert view["label"] == "Call the shop"
    assert view["appearance"] == widget["appearance"]
    assert view["video"] is True and view["enabled"] is True


def test_public_view_echoes_an_allowed_origin(anon: Client, widget: dict) -> None:
    for origin in (ALLOWED_ORIGIN, OTHER_ALLOWED_ORIGIN):
        response = anon.get(f"/v1/widgets/{widget['id']}/public", headers={"Origin": origin})
        assert_json(response, 200)
        assert response.headers.get("Access-Control-Allow-Origin") == origin, (
            f"Access-Control-Allow-Origin should echo {origin}" + describe(response)
        )


def test_public_view_without_origin_is_served(anon: Client, widget: dict) -> None:
    view = assert_json(anon.get(f"/v1/widgets/{widget['id']}/public"), 200)
    assert view["id"] == widget["id"]


def test_public_view_default_label(admin: Client, anon: Client) -> None:
    unlabelled = admin.create_widget(allowedOrigins=[ALLOWED_ORIGIN])
    view = assert_json(anon.get(f"/v1/widgets/{unlabelled['id']}/public", headers={"Origin": ALLOWED_ORIGIN}), 200)
    assert view["label"] == unlabelled["label"] and view["label"].strip(), view


def test_public_view_rejects_a_foreign_origin(anon: Client, widget: dict) -> None:
    response = anon.get(f"/v1/widgets/{widget['id']}/public", headers={"Origin": FOREIGN_ORIGIN})
    assert_problem(response, 403)
    assert response.headers.get("Access-Control-Allow-Origin") not in (FOREIGN_ORIGIN, "*"), describe(response)
    # Near misses are foreign too.
    for origin in ("https://shop.example:8443", "http://shop.example", "https://shop.example.evil.example", "null"):
        assert_problem(anon.get(f"/v1/widgets/{widget['id']}/public", headers={"Origin": origin}), 403)


def test_public_view_of_unknown_widget_is_404(anon: Client) -> None:
    assert_problem(anon.get("/v1/widgets/wid_00000000000000000000000000/public", headers={"Origin": ALLOWED_ORIGIN}), 404)


def test_public_view_of_disabled_widget_says_disabled(admin: Client, anon: Client) -> None:
    disabled = admin.create_widget(allowedOrigins=[ALLOWED_ORIGIN], enabled=False)
    view = assert_json(anon.get(f"/v1/widgets/{disabled['id']}/public", headers={"Origin": ALLOWED_ORIGIN}), 200)
    assert view["enabled"] is False


def _preflight(anon: Client, widget_id: str, origin: str, request_headers: str | None = "content-type") -> "object":
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    return anon.request("OPTIONS", f"/v1/widgets/{widget_id}/sessions", headers=headers)


def test_preflight_from_an_allowed_origin(anon: Client, widget: dict) -> None:
    response = _preflight(anon, widget["id"], ALLOWED_ORIGIN, "content-type, idempotency-key")
    assert response.status_code == 204, describe(response)
    assert response.headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN, describe(response)
    methods = {m.strip().upper() for m in response.headers.get("Access-Control-Allow-Methods", "").split(",")}
    assert "POST" in methods, "Access-Control-Allow-Methods lacks POST" + describe(response)
    allowed_headers = response.headers.get("Access-Control-Allow-Headers")
    assert allowed_headers, "no Access-Control-Allow-Headers" + describe(response)
    names = {h.strip().lower() for h in allowed_headers.split(",")}
    assert "*" in names or "content-type" in names, "Content-Type not allowed" + describe(response)


def test_preflight_from_a_foreign_origin_is_403(anon: Client, widget: dict) -> None:
    response = _preflight(anon, widget["id"], FOREIGN_ORIGIN)
    assert_problem(response, 403)
    assert response.headers.get("Access-Control-Allow-Origin") not in (FOREIGN_ORIGIN, "*"), describe(response)


def test_session_response_carries_cors_header(anon: Client, widget: dict) -> None:
    response = anon.post(f"/v1/widgets/{widget['id']}/sessions", {"context": {"page": "/cart"}}, headers={"Origin": ALLOWED_ORIGIN})
    assert_json(response, 201)
    assert response.headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN, describe(response)
