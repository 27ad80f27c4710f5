#!/usr/bin/env bash
# Webhooks with curl: subscribe an endpoint to call events, list subscriptions, look at the
# deliveries of one and send one again, list the events of a call, disable and re-enable the
# subscription, delete it.
#
#   SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_KEY=sbk_… ./webhooks.sh [ENDPOINT_URL]
#
# ENDPOINT_URL defaults to the CRM receiver example (crm-receiver/receiver.py --port 9000).
# WEBHOOK=whk_… shows the deliveries of that existing subscription instead of the new one's
# (a new subscription has none until a call happens); CALL=cal_… picks the call whose events
# are listed (default: the call of the first delivery shown, else the oldest call).
set -euo pipefail
endpoint="${1:-http://127.0.0.1:9000/webhooks}"
api() { curl -sS --fail-with-body -H "Authorization: Bearer $SWITCHBOARD_KEY" "$@"; }
if command -v jq >/dev/null; then pretty() { jq .; }; else pretty() { python3 -m json.tool; }; fi
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null || true; }  # '' if absent

echo "== subscribe $endpoint to call.* (the secret is shown this once: give it to the receiver)"
created="$(api -X POST "$SWITCHBOARD_URL/v1/webhooks" -H 'Content-Type: application/json' \
  -d "{\"url\": \"$endpoint\", \"events\": [\"call.*\"], \"format\": \"json\", \"description\": \"CRM\"}")"
echo "$created" | pretty
webhook="$(echo "$created" | field 'd["id"]')"

echo "== subscriptions"
api "$SWITCHBOARD_URL/v1/webhooks?limit=20" | pretty

shown="${WEBHOOK:-$webhook}"
echo "== deliveries of $shown (status, attempts with their HTTP status)"
deliveries="$(api "$SWITCHBOARD_URL/v1/webhooks/$shown/deliveries?limit=5")"
echo "$deliveries" | pretty
delivery="$(echo "$deliveries" | field 'd["data"][0]["id"]')"
if [ -n "$delivery" ]; then
  echo "== redeliver $delivery (same webhook-id, so the receiver can drop it as a duplicate)"
  api -X POST "$SWITCHBOARD_URL/v1/webhooks/$shown/deliveries/$delivery/redeliver" | pretty
fi

call="${CALL:-$(echo "$deliveries" | field 'd["data"][0]["callId"]')}"
call="${call:-$(api "$SWITCHBOARD_URL/v1/calls?limit=1" | field 'd["data"][0]["id"]')}"
if [ -n "$call" ]; then
  echo "== events of $call"
  api "$SWITCHBOARD_URL/v1/events?callId=$call" | pretty
fi

echo "== disable $webhook, then enable it again"
api -X PATCH "$SWITCHBOARD_URL/v1/webhooks/$webhook" -H 'Content-Type: application/json' -d '{"enabled": false}' | pretty
api -X PATCH "$SWITCHBOARD_URL/v1/webhooks/$webhook" -H 'Content-Type: application/json' -d '{"enabled": true}' | pretty

echo "== delete $webhook"
api -X DELETE -o /dev/null -w '%{http_code}\n' "$SWITCHBOARD_URL/v1/webhooks/$webhook"
