-- wrk script: charge accepts of 1,000 KRW, each request a fresh Idempotency-Key and one of the
-- funded users' tokens (see common.lua).
local common = dofile((os.getenv("BENCH_LUA_DIR") or ".") .. "/common.lua")

request = function()
  local _, key, token = common.next()
  return wrk.format("POST", "/api/charges", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, '{"amount":1000}')
end
