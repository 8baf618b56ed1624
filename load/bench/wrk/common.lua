-- Shared by the bench's wrk scripts (loaded with dofile): the tokens of the funded users, a
-- unique Idempotency-Key per request, a count of the answers that were not 2xx by status, and a
-- one-line JSON summary the bench parses.
--   BENCH_TOKENS    file with one JWT per line (or TOKEN: a single token)
--   BENCH_KEY       prefix of every Idempotency-Key (unique per run)
--   BENCH_PRODUCTS  product ids 1..N are ordered (default 1)
local common = {}

local tokens = {}
local file = os.getenv("BENCH_TOKENS")
if file then
  for line in io.lines(file) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
elseif os.getenv("TOKEN") then
  tokens[1] = os.getenv("TOKEN")
end
common.tokens = tokens
common.products = tonumber(os.getenv("BENCH_PRODUCTS") or "1")
local prefix = os.getenv("BENCH_KEY") or string.format("wrk-%d", os.time())

-- Every thread has its own Lua state and the same random seed: keys are made unique by the
-- thread's number (given in setup) and a counter, never by chance.
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_id", #threads)
end

-- Per thread (each has its own Lua state): answers that were not 2xx, by status.
statuses = {}
function response(status)
  if status < 200 or status > 299 then statuses[status] = (statuses[status] or 0) + 1 end
end

local counter = 0
-- The n-th request of this thread: its key and the user (token) it is sent as.
function common.next()
  counter = counter + 1
  local id = thread_id or 0
  local key = string.format("%s-%d-%d", prefix, id, counter)
  local token = tokens[((counter * 7 + id) % #tokens) + 1]
  return counter, key, token
end

-- The threads' status counts as a JSON object: {"503":12,...}.
local function non2xx()
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      total[status] = (total[status] or 0) + count
    end
  end
  local fields = {}
  for status, count in pairs(total) do
    fields[#fields + 1] = string.format('"%d":%d', status, count)
  end
  table.sort(fields)
  return "{" .. table.concat(fields, ",") .. "}"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d,"non2xx":%s}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), non2xx()))
end

return common
