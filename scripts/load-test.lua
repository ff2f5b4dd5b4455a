-- wrk script for scripts/load-test.sh: POST /v1/recommendations, cycling over request bodies made
-- from real Diginetica test sessions (one JSON body per line of $BODIES), and a summary at the end.
local bodies = {}
local next_index = 1

function init(args)
  local path = os.getenv("BODIES") or "/tmp/srgnn-load/bodies.jsonl"
  for line in io.lines(path) do bodies[#bodies + 1] = line end
  if #bodies == 0 then error("no request bodies in " .. path) end
  -- Threads start at different places so they do not send the same sessions in lockstep.
  next_index = (math.random(#bodies) - 1) % #bodies + 1
  wrk.method = "POST"
  wrk.path = "/v1/recommendations"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local body = bodies[next_index]
  next_index = next_index % #bodies + 1
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d seconds=%.1f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
    .. "errors=%d (connect %d, read %d, write %d, non-2xx %d, timeout %d)\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
end
