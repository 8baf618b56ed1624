-- wrk script: order accepts with a unique Idempotency-Key per request (TOKEN from the environment).
local counter = 0
local token = os.getenv("TOKEN")
request = function()
  counter = counter + 1
  local key = string.format("k-%d-%d-%d", os.time(), math.random(1, 1e9), counter)
  return wrk.format("POST", "/api/orders", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, '{"items":[{"productId":1,"quantity":1}]}')
end
