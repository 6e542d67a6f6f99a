-- wrk script for the Restate Counter object (bench/restate/counter.mjs):
-- POSTs to /Counter/<key>/add, the key drawn uniformly from KEYS keys.
--
--   KEYS=1000 MODE=rr   wrk -t1 -c64 -d5s -s bench/restate/counter.lua <ingressUrl>
--
-- KEYS  number of distinct keys k0..k<KEYS-1> (default 1000)
-- MODE  rr   request-response: POST /Counter/<key>/add       -> 200, new value
--       send fire-and-forget:   POST /Counter/<key>/add/send  -> 202 Accepted
--       (default rr)
-- No body and no Content-Type are needed.

local keys = tonumber(os.getenv("KEYS") or "") or 1000
local mode = os.getenv("MODE") or "rr"
local suffix
if mode == "rr" or mode == "request-response" then
  suffix = "/add"
elseif mode == "send" then
  suffix = "/add/send"
else
  error("MODE must be rr or send, not " .. mode)
end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end

function request()
  local key = math.random(0, keys - 1)
  return wrk.format("POST", "/Counter/k" .. key .. suffix)
end

-- One machine-readable RESULT line (bench/lua/report.lua; LUA_PATH must hold bench/lua).
local ok, report = pcall(require, "report")
if ok then done = report end
