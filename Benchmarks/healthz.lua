-- GET /healthz; expects 200.
expected_status = 200
dofile(os.getenv("SWITCHBOARD_BENCH_DIR") .. "/report.lua")
