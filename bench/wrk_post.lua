-- wrk script for bench/ses_webhook.py: POST each body of the file named by BODIES (one JSON
-- document a line) in turn, over all connections, then from the start again; at the end print
-- one JSON line with what the summary holds (requests, errors, latency percentiles in µs).
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do
  bodies[#bodies + 1] = line
end
local next_index = 0
local headers = {
  ["Content-Type"] = "text/plain; charset=UTF-8",
  ["x-amz-sns-message-type"] = "Notification",
}

request = function()
  next_index = next_index % #bodies + 1
  return wrk.format("POST", "/webhooks/sns", headers, bodies[next_index])
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.status,
    errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
