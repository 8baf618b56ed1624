-- wrk script: order accepts, one unit of a product 1..BENCH_PRODUCTS, each request a fresh
-- Idempotency-Key and one of the funded users' tokens (see common.lua).
local common = dofile((os.getenv("BENCH_LUA_DIR") or ".") .. "/common.lua")

request = function()
  local n, key, token = common.next()
  local product = (n % common.products) + 1
  return wrk.format("POST", "/api/orders", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, string.format('{"items":[{"productId":%d,"quantity":1}]}', product))
end
