-- wrk script: POST /api/v1/pos/transactions/ with a unique external_id per request and a
-- random member (or one member for the hot-member run) from cards.txt.
local cards = {}
local counter = 0
local prefix = ""

local threads = 0

function setup(thread)
  -- A run-unique prefix per thread, so no two runs (or threads) share an external_id.
  threads = threads + 1
  thread:set("tid", string.format("%d%02d", os.time(), threads))
end

function init(args)
  for line in io.lines(os.getenv("BENCH_CARDS") or "cards.txt") do
    cards[#cards + 1] = line
  end
  prefix = tid
  math.randomseed(tonumber(prefix))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Api-Key " .. os.getenv("BENCH_KEY")
end

function request()
  counter = counter + 1
  local card = cards[math.random(1, #cards)]
  local amount = math.random(3, 250) * 10000
  local body = string.format(
    '{"external_id":"B-%s-%d","member":"%s","total_amount":"%d"}',
    prefix, counter, card, amount)
  return wrk.format(nil, "/api/v1/pos/transactions/", nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors_status=%d errors_socket=%d duration_us=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
