-- probe.lua - wrk script for bench/run.sh: the latency of each request by
-- its X-Cache outcome, while another wrk loads the API.
--
--   wrk -t2 -c2 -d10s -s bench/probe.lua URL -- TOKENS
--
-- wrk's own histogram mixes hits with misses; this one keeps them apart,
-- which is what "cached requests keep their latency while PostgreSQL is
-- stalled" needs.  It works only with one connection per thread (-tN -cN):
-- then a thread's request() and response() strictly alternate, and the
-- time between them is that request's latency (LuaJIT's ffi reads
-- CLOCK_MONOTONIC).  Latencies are counted in buckets (50 µs wide below
-- 100 ms, 1 ms above; a flat table, as wrk copies a thread's tables to
-- done() badly when they nest), the maximum exactly.  TOKENS has one JWT
-- per line; the requests rotate over them.  done() prints one line per
-- outcome:
--
--   PROBE xcache=HIT status=200 n=... p50_us=... p99_us=... max_us=...

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } td_probe_ts;
int clock_gettime(int clk, td_probe_ts *ts);
]]
local ts = ffi.new("td_probe_ts")
local function now_us()
   ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local threads = {}
function setup(thread)
   table.insert(threads, thread)
end

local reqs, n, i, sent = {}, 0, 0, 0
hist = {} -- "XCACHE status bucket_us" -> count (bucket_us: the bucket's upper bound)
top = {} -- "XCACHE status" -> the largest latency, microseconds

function init(args)
   local f = assert(io.open(args[1] or "", "r"), "probe.lua: a token file is needed")
   for line in f:lines() do
      if #line > 0 then
         n = n + 1
         reqs[n] = wrk.format("GET", wrk.path, {Authorization = "Bearer " .. line})
      end
   end
   f:close()
   assert(n > 0, "probe.lua: no tokens")
   i = math.random(n) - 1
end

function request()
   i = i % n + 1
   sent = now_us()
   return reqs[i]
end

function response(status, headers, body)
   local k = (headers["X-Cache"] or headers["x-cache"] or "-") .. " " .. status
   local us = math.floor(now_us() - sent)
   local b = us < 100000 and (math.floor(us / 50) + 1) * 50 or (math.floor(us / 1000) + 1) * 1000
   local hk = k .. " " .. b
   hist[hk] = (hist[hk] or 0) + 1
   if us > (top[k] or -1) then
      top[k] = us
   end
end

function done(summary, latency, requests)
   local buckets, counts, maxes = {}, {}, {}
   for _, t in ipairs(threads) do
      for hk, c in pairs(t:get("hist") or {}) do
         local k, b = hk:match("^(.*) (%d+)$")
         buckets[k] = buckets[k] or {}
         buckets[k][tonumber(b)] = (buckets[k][tonumber(b)] or 0) + c
         counts[k] = (counts[k] or 0) + c
      end
      for k, us in pairs(t:get("top") or {}) do
         maxes[k] = math.max(maxes[k] or 0, us)
      end
   end
   local keys = {}
   for k in pairs(counts) do
      keys[#keys + 1] = k
   end
   table.sort(keys)
   for _, k in ipairs(keys) do
      local bs = {}
      for b in pairs(buckets[k]) do
         bs[#bs + 1] = b
      end
      table.sort(bs)
      local function pct(p)
         local want, seen = math.ceil(counts[k] * p / 100), 0
         for _, b in ipairs(bs) do
            seen = seen + buckets[k][b]
            if seen >= want then
               return math.min(b, maxes[k])
            end
         end
         return maxes[k]
      end
      local xc, st = k:match("^(%S+) (%d+)$")
      io.write(string.format("PROBE xcache=%s status=%s n=%d p50_us=%d p99_us=%d max_us=%d\n",
         xc, st, counts[k], pct(50), pct(99), maxes[k]))
   end
end
