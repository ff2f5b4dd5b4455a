-- wrk script for scripts/fleet-test.sh: POST /v1/recommendations through the load balancer,
-- cycling over request bodies (one JSON body per line of $BODIES, each with its own session_id),
-- counting every answer with a status of 300 or more per thread, and one RESULT line at the end.
-- The bodies and the request cycle are load-test.lua's (run from the repository's root); this adds
-- the per-thread count of non-2xx answers and its own summary line.
dofile("scripts/load-test.lua")
local threads = {}
-- Per thread (each wrk thread has its own Lua state); summed in done().
non2xx = 0
first_bad = ""

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status >= 300 then
    non2xx = non2xx + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(string.gsub(body or "", "%s+", " "), 1, 200) end
  end
end

function done(summary, latency, requests)
  local lua_non2xx, first = 0, ""
  for _, thread in ipairs(threads) do
    lua_non2xx = lua_non2xx + (thread:get("non2xx") or 0)
    local bad = thread:get("first_bad") or ""
    if first == "" then first = bad end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT requests=%d seconds=%.1f rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
    .. "wrk_non2xx=%d lua_non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, lua_non2xx, e.connect, e.read, e.write, e.timeout))
  if first ~= "" then io.write("FIRST_NON2XX " .. first .. "\n") end
end
