-- tokens.lua - wrk script for bench/run.sh: rotate requests over many users'
-- bearer tokens, and check every response.
--
--   wrk -t2 -c64 -d10s --latency -s bench/tokens.lua URL -- TOKENS [nocache]
--
-- TOKENS is a file with one JWT per line, or "-" for no Authorization header
-- (the baselines use the same script, so the client does the same work).
-- "nocache" adds Cache-Control: no-cache (the API answers X-Cache: BYPASS
-- and queries PostgreSQL every time).  "mixed" sends, of every 100
-- requests, 90 cached reads of the URL, 9 of them with no-cache and one
-- write: a stop-loss far below the price (POST /api/v1/orders/conditional,
-- 201, which also makes that user's cached reads stale).
--
-- Each thread starts at its own offset in the token list and walks it round
-- robin, one token per request.  Requests are formatted once in init().
-- done() prints the status and X-Cache counts and one machine-readable
-- RESULT line; a run full of 401s or 502s shows up there, not as "fast".

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local reqs, nocache_reqs, write_reqs = {}, {}, {}
local n, i, k = 0, 0, 0
local mixed = false
local ORDER = '{"type":"stop_loss","side":"sell","symbol":"BTC-USDT","quantity":"0.001","trigger_price":"1"}'
statuses = {}
xcache = {}
checked = 0

function init(args)
   local file = args[1] or "-"
   local nocache = args[2] == "nocache"
   mixed = args[2] == "mixed"
   local headers = {}
   if nocache then
      headers["Cache-Control"] = "no-cache"
   end
   if file ~= "-" then
      local f = assert(io.open(file, "r"), "cannot open token file " .. file)
      for line in f:lines() do
         if #line > 0 then
            headers["Authorization"] = "Bearer " .. line
            n = n + 1
            reqs[n] = wrk.format("GET", wrk.path, headers)
            if mixed then
               local h = {Authorization = headers["Authorization"]}
               h["Cache-Control"] = "no-cache"
               nocache_reqs[n] = wrk.format("GET", wrk.path, h)
               write_reqs[n] = wrk.format("POST", "/api/v1/orders/conditional", {
                  Authorization = headers["Authorization"],
                  ["Content-Type"] = "application/json"}, ORDER)
            end
         end
      end
      f:close()
      assert(n > 0, "no tokens in " .. file)
   else
      n = 1
      reqs[1] = wrk.format("GET", wrk.path, headers)
   end
   -- Spread the threads over the list so they do not walk it in step
   -- (id comes from setup(); thread k starts k * 0.618 of the way round).
   i = math.floor(id * n * 0.6180339887) % n
end

function request()
   i = i + 1
   if i > n then
      i = 1
   end
   if mixed then
      k = (k + 1) % 100
      if k == 0 then
         return write_reqs[i]
      elseif k <= 9 then
         return nocache_reqs[i]
      end
   end
   return reqs[i]
end

function response(status, headers, body)
   checked = checked + 1
   statuses[status] = (statuses[status] or 0) + 1
   local xc = headers["X-Cache"] or headers["x-cache"] or "-"
   xcache[xc] = (xcache[xc] or 0) + 1
end

local function fmt(t)
   local keys = {}
   for k in pairs(t) do
      table.insert(keys, k)
   end
   table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
   local parts = {}
   for _, k in ipairs(keys) do
      table.insert(parts, tostring(k) .. ":" .. t[k])
   end
   return table.concat(parts, ",")
end

function done(summary, latency, requests)
   local st, xc, total, bad = {}, {}, 0, 0
   for _, t in ipairs(threads) do
      total = total + (t:get("checked") or 0)
      for k, v in pairs(t:get("statuses") or {}) do
         st[k] = (st[k] or 0) + v
         if k ~= 200 and k ~= 201 then
            bad = bad + v
         end
      end
      for k, v in pairs(t:get("xcache") or {}) do
         xc[k] = (xc[k] or 0) + v
      end
   end
   local e = summary.errors
   local errors = e.connect + e.read + e.write + e.timeout
   io.write(string.format("statuses: %s\n", fmt(st)))
   io.write(string.format("x-cache:  %s\n", fmt(xc)))
   if bad > 0 then
      io.write(string.format("WARNING: %d of %d responses were not 200\n", bad, total))
   end
   io.write(string.format(
      "RESULT rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d requests=%d checked=%d non200=%d sockerr=%d\n",
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      summary.requests, total, bad, errors))
end
