"""Health, metrics, the served spec, routing errors, startup log line and SIGTERM."""

from __future__ import annotations

import re

import pytest

from support import (
    SPEC_PATH,
    Client,
    ServerProcess,
    assert_json,
    assert_problem,
    describe,
    media_type,
    poll,
)


def test_healthz_is_ok_without_a_key(anon: Client) -> None:
    body = assert_json(anon.get("/healthz"), 200)
    assert body.get("status") == "ok", body
    assert isinstance(body.get("version"), str) and body["version"], f"`version` missing or empty: {body}"


def test_startup_logs_the_listening_address(server: ServerProcess) -> None:
    expected = f"listening on http://127.0.0.1:{server.http_port}"
    found = poll(lambda: expected in server.stderr_text() or expected in server.stdout_text(), timeout=5)
    assert found, f"no output line contains {expected!r}\n{server.log_tail()}"


def test_openapi_yaml_is_the_spec_file(anon: Client) -> None:
    response = anon.get("/openapi.yaml")
    assert response.status_code == 200, describe(response)
    assert response.content == SPEC_PATH.read_bytes(), (
        f"/openapi.yaml ({len(response.content)} bytes) differs from {SPEC_PATH} ({SPEC_PATH.stat().st_size} bytes)"
    )


def _counter_samples(text: str, name: str) -> list[float]:
    values = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})?\s+(\S+)", line)
        if match:
            values.append(float(match.group(2)))
    return values


def test_metrics_count_requests(admin: Client, anon: Client) -> None:
    for _ in range(5):
        assert admin.get("/v1/widgets").status_code == 200
        assert anon.get("/healthz").status_code == 200
    response = anon.get("/metrics")
    assert response.status_code == 200, describe(response)
    content_type = response.headers.get("Content-Type", "")
    assert media_type(response) == "text/plain" and "version=0.0.4" in content_type.replace(" ", ""), (
        f"Prometheus text format expected, got Content-Type {content_type!r}"
    )
    samples = _counter_samples(response.text, "http_requests_total")
    assert samples, f"no http_requests_total samples in /metrics:\n{response.text[:3000]}"
    assert sum(samples) >= 10, f"http_requests_total sums to {sum(samples)} after at least 10 requests"
    assert re.search(r"^# TYPE http_requests_total counter$", response.text, re.M), (
        "http_requests_total is not declared as a counter (# TYPE http_requests_total counter)"
    )


def test_unknown_route_is_a_404_problem(admin: Client) -> None:
    assert_problem(admin.get("/v1/nope"), 404)
    assert_problem(admin.post("/v1/nope", {}), 404)


@pytest.mark.parametrize(
    "method, path, expected_allow",
    [
        ("PUT", "/v1/widgets", {"GET", "POST"}),
        ("DELETE", "/v1/widgets", {"GET", "POST"}),
        ("PUT", "/v1/widgets/{id}", {"GET", "PATCH", "DELETE"}),
        ("GET", "/v1/widgets/{id}/sessions", {"POST"}),
        ("PATCH", "/v1/api-keys", {"GET", "POST"}),
    ],
)
def test_wrong_method_is_a_405_problem_with_allow(admin: Client, method: str, path: str, expected_allow: set[str]) -> None:
    if "{id}" in path:
        path = path.replace("{id}", admin.create_widget()["id"])
    response = admin.request(method, path, data=b"{}", headers={"Content-Type": "application/json"})
    assert_problem(response, 405)
    allow = response.headers.get("Allow")
    assert allow is not None, "405 without an Allow header" + describe(response)
    methods = {m.strip().upper() for m in allow.split(",") if m.strip()}
    assert expected_allow <= methods, f"Allow: {allow!r} lacks {sorted(expected_allow - methods)}" + describe(response)
    assert method not in methods, f"Allow: {allow!r} lists the rejected method {method}"


def test_sigterm_exits_with_code_zero(make_server) -> None:
    process = make_server(name="sigterm").start()
    assert process.client().get("/v1/widgets").status_code == 200
    code = process.terminate(timeout=10)
    assert code == 0, f"exit code {code} after SIGTERM\n{process.log_tail()}"
