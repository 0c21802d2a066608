-- wrk script for bench/server.sh: POSTs the GraphQL query $QUERY (`similar` or
-- `recommend`) with SEED replaced by a
-- random seed track from the file $IDS (one id per line) and, when
-- $DELAY_MS is set, waits that long between requests on each connection
-- (a fixed, lower offered rate).
local ids = {}
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
local pause = tonumber(os.getenv("DELAY_MS") or "0")
local headers = { ["Content-Type"] = "application/json" }
local query = os.getenv("QUERY")

math.randomseed(42)

request = function()
  local id = ids[math.random(#ids)]
  local body = string.gsub(query, "SEED", id)
  return wrk.format("POST", "/graphql", headers, body)
end

if pause > 0 then
  delay = function() return pause end
end
