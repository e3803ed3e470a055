-- front.lua - wrk script for tenreg-front: rotates Host headers over hits
-- (mixed case, ports, trailing dot, IPv6), lazy tenants, misses, malformed
-- or missing Hosts, and the tenants the admin churn loop (churn.sh) keeps
-- registering, flipping and deleting.
--
-- FRONT_CHECK=1: also check every answer. Run it with one connection per
-- thread (-c equal to -t): wrk then answers each request before it sends
-- the next, so `cur` is exactly the request a response belongs to.
-- FRONT_REPORT=FILE: write "key value" lines (counts, errors, latency).

local reqs = {}

local function add(cat, host, tenant, weight)
  local hdr = host and ("Host: " .. host .. "\r\n") or ""
  local raw = "GET /bid HTTP/1.1\r\n" .. hdr .. "User-Agent: wrk\r\n\r\n"
  for _ = 1, weight or 1 do
    reqs[#reqs + 1] = {raw = raw, cat = cat, tenant = tenant, host = host or "(none)"}
  end
end

-- stable eager tenants (tenants.csv): always 200, right tenant, healthy
add("hit", "sales.acmemedia.example", "acme-media", 4)
add("hit", "SALES.AcmeMedia.Example:443", "acme-media", 2)
add("hit", "sales.acmemedia.example.", "acme-media")
add("hit", "adcp.bluefin-news.example", "bluefin-news", 3)
add("hit", "ADCP.Bluefin-News.example:8443", "bluefin-news")
add("hit", "agent.cedarsports.example", "cedar-sports", 2)
add("hit", "Ads.Harbor-Radio.Example:80", "harbor-radio", 2)
add("hit", "[2001:db8::42]:9443", "v6-seller")
-- lazy tenants: 503 EPENDING until built, then 200
add("lazy", "ads.delta-streaming.example", "delta-streaming", 2)
add("lazy", "ADCP.evergreen-pods.example:443", "evergreen-podcasts")
-- misses: 404, no body
add("miss", "unknown-seller.example", nil, 2)
add("miss", "www.sales.acmemedia.example", nil)
add("miss", "nobody.example:8080", nil)
-- malformed or missing Host: 400
add("bad", "a..b.example", nil)
add("bad", "x%41.example", nil)
add("bad", nil, nil)
-- churned tenants: 200, 404 or an intended 503, depending on the moment
for k = 0, 3 do
  add("churn", "churn-" .. k .. ".example", "churn-" .. k, 2)
  add("churn", "CHURN-" .. k .. ".Example:443", "churn-" .. k)
end

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  threads[#threads + 1] = thread
end

function init(args)
  -- a different starting point per thread
  i = (tid or 1) * 7 % #reqs
  counts = {}
  samples = ""
end

function request()
  i = i % #reqs + 1
  cur = reqs[i]
  return cur.raw
end

local function count(k)
  counts[k] = (counts[k] or 0) + 1
end

local function bad_answer(status, body)
  count("errors")
  if #samples < 2000 then
    samples = samples .. string.format("%s Host=%s -> %d %s\n", cur.cat, cur.host, status, body)
  end
end

local function tenant_body(t, health)
  return '{"tenant":"' .. t .. '","health":"' .. health .. '"}'
end

if os.getenv("FRONT_CHECK") == "1" then
  function response(status, headers, body)
    local c = cur
    count(c.cat .. "_" .. status)
    local ok = false
    if c.cat == "hit" then
      ok = status == 200 and body == tenant_body(c.tenant, "healthy")
    elseif c.cat == "miss" then
      ok = status == 404 and body == ""
    elseif c.cat == "bad" then
      ok = status == 400 and body == ""
    elseif c.cat == "lazy" then
      ok = (status == 200 and body == tenant_body(c.tenant, "healthy")) or
           (status == 503 and headers["Retry-After"] == "1" and
            body == '{"tenant":"' .. c.tenant .. '","health":"pending","reason":"EPENDING"}')
    elseif c.cat == "churn" then
      if status == 200 then
        ok = body == tenant_body(c.tenant, "healthy") or body == tenant_body(c.tenant, "unverified")
      elseif status == 404 then
        ok = body == ""
      elseif status == 503 then
        local t, h, r = body:match('^{"tenant":"([^"]+)","health":"(%a+)","reason":"(%a+)"}$')
        local intended = { EPENDING = true, EDISABLED = true, EFACTORY = true,
                           EVALIDATOR = true, unserved = true }
        ok = t == c.tenant and intended[r] ~= nil and headers["Retry-After"] ~= nil
        -- "unserved" means a platform but a health the front does not serve
        if r == "unserved" then ok = ok and (h == "pending" or h == "disabled") end
        if ok then count("503_" .. r .. "_" .. h) end
      end
    end
    if not ok then bad_answer(status, body) end
  end
end

function done(summary, latency, requests)
  local totals = {}
  local samples_all = ""
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts") or {}) do totals[k] = (totals[k] or 0) + v end
    samples_all = samples_all .. (t:get("samples") or "")
  end
  local e = summary.errors
  totals.requests = summary.requests
  totals.rps = math.floor(summary.requests / (summary.duration / 1e6) + 0.5)
  totals.p50_us = latency:percentile(50)
  totals.p99_us = latency:percentile(99)
  totals.socket_errors = e.connect + e.read + e.write + e.timeout
  totals.non2xx = e.status
  totals.errors = totals.errors or 0
  local keys = {}
  for k in pairs(totals) do keys[#keys + 1] = k end
  table.sort(keys)
  local path = os.getenv("FRONT_REPORT")
  local f = path and io.open(path, "w")
  for _, k in ipairs(keys) do
    if f then f:write(k, " ", totals[k], "\n") end
  end
  if f then f:close() end
  if samples_all ~= "" then io.stderr:write("unexpected answers (first ones):\n", samples_all) end
end
