#!/usr/bin/env bash
# Driving calls through the REST API with curl: list live calls, look at one, hang it up.
#
#   SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_KEY=sbk_… ./rest-calls.sh
set -euo pipefail
api() { curl -sS --fail-with-body -H "Authorization: Bearer $SWITCHBOARD_KEY" "$@"; }
echo "== calls in progress"
api "$SWITCHBOARD_URL/v1/calls?status=in-progress&limit=20"
echo
call="$(api "$SWITCHBOARD_URL/v1/calls?status=in-progress&limit=1" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d[0]["id"] if d else "")')"
if [ -n "$call" ]; then
  echo "== $call (context, media report once ended)"
  api "$SWITCHBOARD_URL/v1/calls/$call"
  echo
  echo "== hang up $call"
  api -X POST "$SWITCHBOARD_URL/v1/calls/$call/hangup"
  echo
fi
