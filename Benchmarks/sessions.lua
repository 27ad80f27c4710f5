-- Authenticated POST /v1/widgets/{id}/sessions with a small context; expects 201.
-- The URL (with the widget id) is given on the wrk command line; the key in SWITCHBOARD_BENCH_KEY.
expected_status = 201
dofile(os.getenv("SWITCHBOARD_BENCH_DIR") .. "/report.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SWITCHBOARD_BENCH_KEY")
wrk.body = '{"context":{"customer":{"id":"C-1001","tier":"gold"},"page":"/checkout","order":4711}}'
