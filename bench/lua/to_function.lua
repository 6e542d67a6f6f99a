-- wrk script: POST one recorded ToFunction (BODY_FILE) to a function endpoint,
-- as the runtime would, to measure what the endpoint alone can serve.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
done = require("report")
