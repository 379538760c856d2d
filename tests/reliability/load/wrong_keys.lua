-- wrk script: a key-guessing client. Every request presents a well-formed API key that
-- no server knows (a fresh random id and secret each time); with WRONG_KEYS_MODE=repeat
-- every request presents the same unknown key. Prints one line, "STATUS 401=n 429=m ...",
-- the answers counted by status over all threads.
local mode = os.getenv("WRONG_KEYS_MODE") or "random"
local path = os.getenv("WRONG_KEYS_PATH") or "/stocks/symbols"
local threads = {}

local function hex16()
  return string.format("%04x%04x%04x%04x", math.random(0, 65535), math.random(0, 65535),
    math.random(0, 65535), math.random(0, 65535))
end

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(seed)
  fixed = "fd_" .. hex16() .. "_" .. string.rep("x", 43)
  counts = {}
end

function request()
  local key = fixed
  if mode == "random" then
    key = "fd_" .. hex16() .. "_" .. string.rep("x", 43)
  end
  return wrk.format("GET", path, { ["X-API-Key"] = key })
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      totals[status] = (totals[status] or 0) + n
    end
  end
  local line = "STATUS"
  for status, n in pairs(totals) do
    line = line .. string.format(" %d=%d", status, n)
  end
  print(line)
end
