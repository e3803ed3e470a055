-- reload.lua - wrk script for reload_load.sh: rotates over the Host values
-- in RELOAD_HOSTS (space-separated) and counts every answer by status, 503s
-- by reason and health ("503_EPENDING_pending"). A 200 whose tenant is not
-- in RELOAD_TENANTS (space-separated; unset: any) or whose health is not
-- healthy counts as "200_bad" instead: a host served by the wrong tenant.
-- Answers are not tied to requests (many connections per thread), so every
-- host of one run must share the expectation the test asserts.
-- RELOAD_REPORT=FILE: "key value" lines (counts, requests, socket errors).

local reqs = {}
for h in string.gmatch(os.getenv("RELOAD_HOSTS") or "", "%S+") do
  reqs[#reqs + 1] = "GET /bid HTTP/1.1\r\nHost: " .. h .. "\r\nUser-Agent: wrk\r\n\r\n"
end
local allowed = nil
if os.getenv("RELOAD_TENANTS") then
  allowed = {}
  for t in string.gmatch(os.getenv("RELOAD_TENANTS"), "%S+") do allowed[t] = true end
end

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  threads[#threads + 1] = thread
end

function init(args)
  i = (tid or 1) * 7 % #reqs
  counts = {}
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

function response(status, headers, body)
  local key = tostring(status)
  if status == 200 then
    local t, h = body:match('^{"tenant":"([^"]+)","health":"(%a+)"}$')
    if t == nil or h ~= "healthy" or (allowed ~= nil and not allowed[t]) then key = "200_bad" end
  elseif status == 503 then
    local h, r = body:match('"health":"(%a+)","reason":"(%a+)"')
    key = "503_" .. (r or "?") .. "_" .. (h or "?")
  end
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts") or {}) do totals[k] = (totals[k] or 0) + v end
  end
  local e = summary.errors
  totals.requests = summary.requests
  totals.socket_errors = e.connect + e.read + e.write + e.timeout
  totals.p99_us = latency:percentile(99)
  local keys = {}
  for k in pairs(totals) do keys[#keys + 1] = k end
  table.sort(keys)
  local path = os.getenv("RELOAD_REPORT")
  local f = path and io.open(path, "w")
  for _, k in ipairs(keys) do
    if f then f:write(k, " ", totals[k], "\n") end
  end
  if f then f:close() end
end
