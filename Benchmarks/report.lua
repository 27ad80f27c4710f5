-- wrk reporting shared by the Switchboard benchmarks: counts answers by status and prints one
-- machine-readable RESULT line after the run (http_sessions.sh parses it).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   unexpected = 0
end

function response(status, headers, body)
   if status ~= expected_status then
      unexpected = unexpected + 1
      if unexpected == 1 then
         io.stderr:write(string.format("unexpected status %d: %s\n", status, string.sub(body or "", 1, 300)))
      end
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("unexpected") or 0)
   end
   local seconds = summary.duration / 1e6
   local socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
   io.write(string.format(
      "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f unexpected_status=%d socket_errors=%d\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      bad, socket_errors))
end
