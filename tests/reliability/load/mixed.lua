-- wrk script: a mix of the service's read paths over the demo data set.
-- Time series at several frequencies (daily and intraday symbols), indicators,
-- the symbol list, and date ranges that vary per request so the result cache
-- sees misses as well as hits.
local fixed = {
  "/stocks/symbols",
  "/stocks/time-series/DEMO-ALPHA?interval=1&frequency=Monthly",
  "/stocks/time-series/DEMO-BETA?interval=1&frequency=Weekly",
  "/stocks/time-series/DEMO-GAMMA?interval=1&frequency=Quarterly",
  "/stocks/time-series/DEMO-GAMMA",
  "/stocks/time-series/DEMO-ALPHA-1M?interval=5&frequency=Minute",
  "/stocks/time-series/DEMO-BETA-1M?interval=1&frequency=Hourly",
  "/stocks/indicators/DEMO-ALPHA?name=sma&window=20",
  "/stocks/indicators/DEMO-BETA?name=macd&interval=1&frequency=Weekly",
  "/stocks/indicators/DEMO-GAMMA?name=rsi",
  "/stocks/indicators/DEMO-ALPHA-1M?name=bbands&interval=15&frequency=Minute",
}
local symbols = { "DEMO-ALPHA", "DEMO-BETA", "DEMO-GAMMA" }
local counter = 0

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
  counter = math.random(0, #fixed - 1)
end

function request()
  counter = counter + 1
  if counter % 4 == 0 then
    -- a range query: one of 300 start dates x 3 symbols
    local day = math.random(0, 299)
    local month = 1 + math.floor(day / 28) % 12
    local path = string.format(
      "/stocks/time-series/%s?start=2023-%02d-%02d&end=2024-06-30",
      symbols[1 + day % 3], month, 1 + day % 28)
    return wrk.format("GET", path)
  end
  return wrk.format("GET", fixed[1 + counter % #fixed])
end
