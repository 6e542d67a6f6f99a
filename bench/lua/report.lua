-- The done() hook shared by the wrk scripts: one machine-readable line,
--   RESULT {"requests":..,"seconds":..,"errors":..,"p50_us":..,"cdf":[[pct,us],..]}
return function(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  if summary.requests == 0 then
    -- Nothing completed (a warm-up on a slow disk, say): no percentiles to take.
    io.write(string.format(
      'RESULT {"requests":0,"seconds":%.6f,"errors":%d,"status_errors":%d,"p50_us":0,"p99_us":0,"p999_us":0,"mean_us":0,"cdf":[]}\n',
      summary.duration / 1e6, errors, e.status))
    return
  end
  local points = { 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97, 99, 99.5, 99.9, 99.99, 100 }
  local cdf = {}
  for _, p in ipairs(points) do
    table.insert(cdf, string.format("[%s,%d]", tostring(p), latency:percentile(p)))
  end
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.6f,"errors":%d,"status_errors":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f,"cdf":[%s]}\n',
    summary.requests, summary.duration / 1e6, errors, e.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.mean,
    table.concat(cdf, ",")))
end
