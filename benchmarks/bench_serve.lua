-- wrk script for benchmarks/bench_serve.py: POST beacons to an RTT server.
--
--   wrk -t1 -c64 -d10s -s bench_serve.lua http://127.0.0.1:PORT/api/rtt/beacon -- single
--   wrk -t1 -c64 -d10s -s bench_serve.lua http://127.0.0.1:PORT/api/rtt/beacons -- batch 500 lines
--
-- "single" posts one beacon per request, site and session varying with a counter (so the
-- server sees 200 services); "batch N FORMAT" posts N beacons as JSON Lines ("lines") or
-- as a JSON array ("array"), rotating 16 bodies
-- built once (building one per request would make wrk the bottleneck). The done() hook
-- prints one JSON line that the Python script reads.

local mode = "single"
local batch = 500
local format = "lines"
local counter = 0
local bodies = {}

local function beacon(n)
  return string.format(
    '{"site":"svc-%d","session":"bench-%d","event":"heartbeat","ts":"2026-01-19T15:%02d:%02dZ",'
      .. '"structure":{"url":"internal://svc-%d","title":"svc-%d","nav_count":0,"main_count":0,'
      .. '"form_count":0,"button_count":0,"dom_nodes":%d}}',
    n % 200, n, math.floor(n / 60) % 60, n % 60, n % 200, n % 200, n)
end

function init(args)
  mode = args[1] or "single"
  batch = tonumber(args[2] or "500")
  format = args[3] or "lines"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if mode == "batch" and format == "lines" then
    wrk.headers["Content-Type"] = "application/x-ndjson"
  end
  if mode == "batch" then
    for b = 1, 16 do
      local items = {}
      for i = 1, batch do
        items[i] = beacon(b * batch + i)
      end
      if format == "lines" then
        bodies[b] = table.concat(items, "\n") .. "\n"
      else
        bodies[b] = "[" .. table.concat(items, ",") .. "]"
      end
    end
  end
end

function request()
  counter = counter + 1
  if mode == "batch" then
    return wrk.format(nil, nil, nil, bodies[counter % 16 + 1])
  end
  return wrk.format(nil, nil, nil, beacon(counter))
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"non2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
end
