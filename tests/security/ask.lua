-- wrk script of tests/security/test_load.py: POSTs varied questions to /v1/ask, counts
-- statuses and refusals without Retry-After, and prints one line "WRK_JSON {...}".

local questions = {
  "What is a 287(g) agreement?",
  "What is the task force model?",
  "Can a writ of mandamus stop immigration enforcement?",
  "Who oversees officers acting under 287(g)?",
  "Why do 287(g) agreements make immigrant communities afraid of the police?",
  "What is a writ of mandamus?",
  "What is the jail enforcement model?",
  "How long does a mandamus lawsuit take?",
  "What is the filing fee for an H-1B petition?",
  "¿Qué es un acuerdo 287(g)?",
  "My husband was detained by ICE yesterday, what can I do?",
  "Can a county end its 287(g) agreement?",
}
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 5)
  table.insert(threads, thread)
end

function init(args)
  sent = offset
  statuses = {}
  no_retry_after = 0
end

function request()
  sent = sent + 1
  local body = '{"question": "' .. questions[(sent % #questions) + 1] .. '"}'
  return wrk.format("POST", "/v1/ask", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if (status == 429 or status == 503) and not (headers["retry-after"] or headers["Retry-After"]) then
    no_retry_after = no_retry_after + 1
  end
end

function done(summary, latency, requests)
  local totals, missing = {}, 0
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("statuses")) do
      totals[key] = (totals[key] or 0) + n
    end
    missing = missing + thread:get("no_retry_after")
  end
  local parts = {}
  for key, n in pairs(totals) do
    table.insert(parts, string.format('"%s": %d', key, n))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %.3f, "p50_ms": %.1f, "p90_ms": %.1f, '
      .. '"p99_ms": %.1f, "max_ms": %.1f, "socket_errors": {"connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d}, "non_2xx": %d, "statuses": {%s}, '
      .. '"missing_retry_after": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.timeout, e.status, table.concat(parts, ", "), missing
  ))
end
