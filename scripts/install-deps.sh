#!/usr/bin/env bash
# Installs what the build and the tests need, only when it is missing.
# Idempotent and fast when everything is already there. Runs as root (or with sudo).
set -euo pipefail

want_debs=(
    pkg-config libssl-dev libsrtp2-dev libopus-dev libxml2-dev libsqlite3-dev
    curl wrk python3-venv python3-dev gcc sip-tester dnsmasq-base
    chromium chromium-driver baresip-core espeak-ng coturn
)
# coturn is the TURN relay of Tests/EndToEnd/test_turn.py (started by the test itself).
# pesq builds a C extension (gcc, python3-dev); the speech for its test comes from espeak-ng.
want_py=(pytest requests schemathesis websockets selenium aiortc numpy scipy pesq)
# Benchmarks also compare against Kamailio, and resample their speech with sox:
# `install-deps.sh --bench`.
if [ "${1:-}" = "--bench" ]; then want_debs+=(kamailio sox); fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${want_debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "install-deps: add /opt/swift/usr/bin to PATH" >&2
    else
        echo "install-deps: a Swift 6 toolchain is required (swift not on PATH)" >&2
    fi
    exit 1
fi

# Python test tools live in a virtual environment beside the build output.
venv=.build-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
need_py=()
for p in "${want_py[@]}"; do
    "$venv/bin/python" -m pip show -q "$p" >/dev/null 2>&1 || need_py+=("$p")
done
if [ ${#need_py[@]} -gt 0 ]; then
    echo "install-deps: pip installing ${need_py[*]}"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${need_py[@]}"
fi
