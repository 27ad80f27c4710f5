#!/usr/bin/env bash
# The shop backend mints a verified widget session for a logged-in customer: the context it
# sends is marked verified, unlike what a page can claim by itself. Hand the JSON to the page
# (data-token-url points the widget at an endpoint of yours that runs this).
#
#   SWITCHBOARD_URL=https://gateway.example.com SWITCHBOARD_KEY=sbk_… WIDGET=wid_… ./mint-session.sh C-1042 A-77812
set -euo pipefail
customer="${1:?customer id}"
order="${2:-}"
curl -sS --fail-with-body -X POST "$SWITCHBOARD_URL/v1/widgets/$WIDGET/sessions" \
  -H "Authorization: Bearer $SWITCHBOARD_KEY" -H 'Content-Type: application/json' \
  -d "{\"context\": {\"customer\": {\"id\": \"$customer\"}, \"order\": \"$order\"}}"
