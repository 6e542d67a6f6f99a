-- wrk script: messages to a Hearth ingress over KEYS keys (random, uniform).
--   KEYS     number of distinct ids (default 1000)
--   TYPE     namespace/type (default bench/counter)
--   WAIT     "true": each request answers once its invocation is applied
--   SEQUENTIAL=1  ids START, START+1, ... (each thread its own stride), to
--            touch many distinct addresses; with COUNT, requests after the
--            COUNT-th go to id START again (stop wrk with SIGINT)
-- Prints one line "RESULT {json}" with throughput, errors and latency percentiles.
local keys = tonumber(os.getenv("KEYS") or "1000")
local ftype = os.getenv("TYPE") or "bench/counter"
local query = (os.getenv("WAIT") == "true") and "?wait=true" or ""
local start = tonumber(os.getenv("START") or "0")
local sequential = os.getenv("SEQUENTIAL") == "1"
local count = tonumber(os.getenv("COUNT") or "0")
local headers = { ["Content-Type"] = "text/plain" }

local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
  nthreads = tonumber(os.getenv("THREADS") or "1")
  next_id = start + (tid or 0)
end

function request()
  local id
  if sequential then
    id = next_id
    if count > 0 and next_id >= start + count then
      id = start
    else
      next_id = next_id + nthreads
    end
  else
    id = math.random(0, keys - 1)
  end
  return wrk.format("PUT", "/" .. ftype .. "/" .. id .. query, headers, "1")
end

done = require("report")
