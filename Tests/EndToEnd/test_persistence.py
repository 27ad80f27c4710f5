"""State survives restarts and kill -9; the bootstrap admin key is created exactly once."""

from __future__ import annotations

import re
import stat
import threading

import pytest
import requests

from support import (
    DESTINATION,
    Client,
    assert_json,
    assert_problem,
    data_dir_listing,
    files_containing,
    poll,
)

pytestmark = pytest.mark.slow

KEY_RE = re.compile(r"sbk_[A-Za-z0-9_-]{20,}")


def test_state_survives_a_graceful_restart(make_server) -> None:
    server = make_server(name="restart").start()
    admin = server.client()
    widgets = [admin.create_widget(name=f"persist {i}", label=f"Label {i}", appearance={"shape": "round"}) for i in range(5)]
    kept = admin.create_api_key("kept")
    revoked = admin.create_api_key("revoked")
    assert admin.delete(f"/v1/api-keys/{revoked['id']}").status_code == 204
    deleted = admin.create_widget(name="deleted")
    assert admin.delete(f"/v1/widgets/{deleted['id']}").status_code == 204
    before = admin.list_all("/v1/widgets")
    admin_key = server.bootstrap_key

    code = server.terminate()
    assert code == 0, f"exit code {code} after SIGTERM\n{server.log_tail()}"

    # Restart without SWITCHBOARD_BOOTSTRAP_KEY: keys exist, so no new admin key may appear.
    server.start(bootstrap_key=None)
    admin = Client(server.url, admin_key)
    assert admin.list_all("/v1/widgets") == before, "widget list differs after restart"
    for widget in widgets:
        assert assert_json(admin.get(f"/v1/widgets/{widget['id']}"), 200) == widget
    assert_problem(admin.get(f"/v1/widgets/{deleted['id']}"), 404)
    assert_json(Client(server.url, kept["secret"]).get("/v1/widgets"), 200)
    assert_problem(Client(server.url, revoked["secret"]).get("/v1/widgets"), 401)
    assert not (server.data_dir / "admin.key").exists(), "a restart with existing keys wrote admin.key"
    assert not KEY_RE.search(server.stdout_text()), f"restart printed a key:\n{server.stdout_text()}"
    assert admin.create_widget(name="after restart")["id"] not in {w["id"] for w in before}


def test_every_acknowledged_widget_survives_kill_9(make_server) -> None:
    server = make_server(name="kill9").start()
    key = server.bootstrap_key
    acknowledged: list[tuple[str, str]] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []

    def writer(worker: int) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        n = 0
        while not stop.is_set():
            name = f"w{worker}-{n}"
            n += 1
            try:
                response = session.post(
                    server.url + "/v1/widgets", json={"name": name, "destination": DESTINATION}, headers=headers, timeout=5
                )
            except requests.RequestException:
                return  # the server is gone
            if response.status_code != 201:
                errors.append(f"{name}: {response.status_code} {response.text[:200]}")
                return
            with lock:
                acknowledged.append((response.json()["id"], name))

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(3)]
    for thread in threads:
        thread.start()
    enough = poll(lambda: len(acknowledged) >= 150 or errors or not any(t.is_alive() for t in threads), timeout=60)
    assert enough and not errors, f"writers failed before the kill: {errors[:3]} ({len(acknowledged)} acknowledged)"
    assert len(acknowledged) >= 150, f"only {len(acknowledged)} widgets created in 60 s"
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    with lock:
        acknowledged_now = list(acknowledged)

    server.start()
    admin = server.client()
    assert_json(admin.get("/healthz"), 200)
    listed = admin.list_all("/v1/widgets")
    listed_ids = [w["id"] for w in listed]
    assert len(listed_ids) == len(set(listed_ids)), "duplicate widgets after recovery"
    missing = [(i, n) for i, n in acknowledged_now if i not in set(listed_ids)]
    assert not missing, f"{len(missing)} of {len(acknowledged_now)} acknowledged widgets lost by kill -9, e.g. {missing[:5]}"
    by_id = {w["id"]: w for w in listed}
    for widget_id, name in acknowledged_now:
        assert by_id[widget_id]["name"] == name, f"{widget_id}: name {by_id[widget_id]['name']!r}, expected {name!r}"
    for widget_id, _ in acknowledged_now[:: max(1, len(acknowledged_now) // 25)]:
        assert_json(admin.get(f"/v1/widgets/{widget_id}"), 200)
    after = admin.create_widget(name="after crash")
    assert assert_json(admin.get(f"/v1/widgets/{after['id']}"), 200) == after
    assert server.terminate() == 0


def test_generated_bootstrap_key(make_server) -> None:
    server = make_server(name="bootstrap", bootstrap_key=None).start()
    key_file = server.data_dir / "admin.key"
    assert key_file.exists(), f"no admin.key in the data dir: {data_dir_listing(server.data_dir)}"
    mode = stat.S_IMODE(key_file.stat().st_mode)
    assert mode == 0o600, f"admin.key has mode {oct(mode)}, expected 0o600"
    key = key_file.read_text().strip()
    assert KEY_RE.fullmatch(key), f"admin.key holds {key!r}, not an `sbk_…` key"

    printed = poll(lambda: KEY_RE.findall(server.stdout_text()), timeout=5)
    assert printed == [key], (
        f"stdout should show the key exactly once while running (flush stdout after printing it); "
        f"found {printed!r}\n{server.log_tail()}"
    )
    assert key not in server.stderr_text(), "the admin key is logged on stderr"
    assert_json(Client(server.url, key).get("/v1/widgets"), 200)
    widget = Client(server.url, key).create_widget(name="bootstrapped")
    hits = files_containing(server.data_dir, key, exclude=["admin.key"])
    assert not hits, f"the bootstrap key is stored in plain text outside admin.key: {hits}"

    assert server.terminate() == 0
    content_before = key_file.read_bytes()
    server.start()
    assert not KEY_RE.search(server.stdout_text()), f"second start printed a key:\n{server.stdout_text()}"
    assert key_file.read_bytes() == content_before, "admin.key changed on the second start"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    client = Client(server.url, key)
    assert_json(client.get(f"/v1/widgets/{widget['id']}"), 200)
    keys = client.list_all("/v1/api-keys")
    assert len(keys) == 1, f"a second admin key was created: {keys}"


def test_preset_bootstrap_key_writes_no_file(make_server) -> None:
    server = make_server(name="preset").start()
    assert not (server.data_dir / "admin.key").exists(), "admin.key written although SWITCHBOARD_BOOTSTRAP_KEY was given"
    keys = server.client().list_all("/v1/api-keys")
    assert len(keys) == 1 and server.bootstrap_key.startswith(keys[0]["prefix"]), keys
    hits = files_containing(server.data_dir, server.bootstrap_key)
    assert not hits, f"the preset key is stored in plain text: {hits}"
    assert_problem(Client(server.url, "sbk_" + "A" * 43).get("/v1/widgets"), 401)
