-- 90 % of requests from 10 hot callers (cache hits once warm), 10 % from callers never seen before.
local n = 0
request = function()
  n = n + 1
  local user
  if math.random() < 0.9 then user = "hot" .. math.random(1, 10) else user = "cold-" .. n .. "-" .. math.random(1, 1000000000) end
  return wrk.format("GET", "/public/x", { ["Host"] = "details.default:9080", ["x-user"] = user })
end
