-- wrk script for bench/run_http.py: pipelining, and a machine-readable result line.
--
--   wrk ... -s pipeline.lua URL -- DEPTH
--
-- DEPTH > 1: every write carries DEPTH copies of the request (TechEmpower's plaintext
-- test uses 16); the connection writes again once all DEPTH responses are in, and wrk
-- records one latency per batch. DEPTH = 1 (or none): no request() is defined, so wrk
-- sends its own prebuilt request without calling into Lua (the plain scenarios).
--
-- Latency: done() gets wrk's histogram after wrk 4.1's coordinated-omission correction,
-- which adds synthetic samples every runtime / (responses / connections) microseconds
-- below each long one. With pipelining that interval is DEPTH times too short and the
-- synthetic samples fall below the histogram's minimum, where percentile() never looks:
-- the percentiles come out too high or 0. The runner reports no latency for DEPTH > 1.
--
-- wrk counts every response with a status above 399 in errors.status; done() prints it
-- with the rest, and the runner rejects a run with any (it also checks beforehand, with
-- its own client, that each route answers 200 with the right body, pipelined too).

init = function(args)
  local depth = tonumber(args[1]) or 1
  if depth > 1 then
    local batch = {}
    for i = 1, depth do
      batch[i] = wrk.format()
    end
    local pipelined = table.concat(batch)
    -- Defined only now: wrk decides after init() whether the request is static.
    request = function()
      return pipelined
    end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
