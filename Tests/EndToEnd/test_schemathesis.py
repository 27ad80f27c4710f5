"""Property-based conformance run of the live server against OpenAPI/openapi.yaml (schemathesis
CLI): no 5xx, only documented statuses, content types, headers and bodies that match the spec.

Tuning through the environment: SCHEMATHESIS_MAX_EXAMPLES (default 25 per operation),
SCHEMATHESIS_SEED (default 20240611), SCHEMATHESIS_PHASES (default all phases)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import ALLOWED_ORIGIN, ARTIFACTS, SPEC_PATH, Client, ServerProcess

pytestmark = pytest.mark.slow

SERVER_ARGS = ["--session-rate-limit", "100000"]
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]


def schemathesis_command() -> list[str]:
    venv_cli = Path(sys.executable).with_name("schemathesis")
    if venv_cli.exists():
        return [str(venv_cli)]
    return [sys.executable, "-m", "schemathesis.cli"]


def test_schemathesis_conformance(server: ServerProcess, admin: Client) -> None:
    # Some data for the operations that read existing resources.
    admin.create_widget(name="schemathesis seed", allowedOrigins=[ALLOWED_ORIGIN])
    admin.create_api_key("schemathesis seed")

    report_dir = ARTIFACTS / "schemathesis"
    report_dir.mkdir(parents=True, exist_ok=True)
    command = [
        *schemathesis_command(),
        "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        str(SPEC_PATH),
        "--url", server.url,
        "--header", f"Authorization: Bearer {server.bootstrap_key}",
        "--checks", ",".join(CHECKS),
        "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"),
        "--seed", os.environ.get("SCHEMATHESIS_SEED", "20240611"),
        "--phases", os.environ.get("SCHEMATHESIS_PHASES", "examples,coverage,fuzzing,stateful"),
        "--workers", "1",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--no-shrink",
        "--continue-on-failure",
        "--no-color",
        "--output-truncate", "false",
        "--report", "junit",
        "--report-junit-path", str(report_dir / "junit.xml"),
    ]
    # Run inside the (git-ignored) artifacts dir: schemathesis keeps a `.schemathesis/` cache in its cwd.
    completed = subprocess.run(command, cwd=report_dir, capture_output=True, text=True, timeout=300)
    output = completed.stdout + completed.stderr
    (report_dir / "output.txt").write_text(output)
    # A run that tested nothing must not pass.
    assert "No operations" not in output and "0 operations" not in output.lower(), output[-4000:]
    assert completed.returncode == 0, (
        f"schemathesis found problems (exit {completed.returncode}); full output in {report_dir / 'output.txt'}\n"
        + output[-12000:]
    )
    assert server.proc.poll() is None, "the server died during the schemathesis run\n" + server.log_tail()
