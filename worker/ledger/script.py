"""The replay ledger's script: every verdict for a batch of packed events, in one EVALSHA.

Its argument is a blob of 30-byte records (`ledger.pack`); ARGV: the replay prefix, its bucket
mask, the live production slices (space-separated, newest first, empty for `withinReplay`), the
production bucket mask, the TTL in seconds, and whether content is hashed. The native marks of
`ledger.ReplayLedger` are this script's first step (HSETNX) without the script; every event whose
id is marked already comes back here.
"""

# Status per event: N new (emit), D duplicate inside the replay, P processed by production with
# the same content, C conflict inside the replay, X conflict with the production ledger.
SCRIPT = """
local blob, rprefix, rbuckets = ARGV[1], ARGV[2], tonumber(ARGV[3]) + 1
local pprefixes, pbuckets, ttl, hashed = ARGV[4], tonumber(ARGV[5]) + 1, tonumber(ARGV[6]), ARGV[7] == '1'
local floor = ttl * 900  -- milliseconds: refresh a bucket's TTL once it has fallen below 90 %
local sub, byte, fmt, call = string.sub, string.byte, string.format, redis.call
local out, touched = {}, {}
for i = 0, #blob / 30 - 1 do
  local base = i * 30
  local field = sub(blob, base + 1, base + 10)
  local b1, b2, b3, b4 = byte(blob, base + 11, base + 14)
  local bucket = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  local h = hashed and sub(blob, base + 15, base + 22) or ''
  local off = sub(blob, base + 23, base + 30)
  local status = false
  if pprefixes ~= '' then
    local pb = fmt('%x', bucket % pbuckets)
    for pprefix in string.gmatch(pprefixes, '%S+') do  -- live slices, newest first
      local pv = call('HGET', pprefix .. pb, field)
      if pv then
        if (not hashed) or pv == '-' or pv == h then status = 'P' else status = 'X' end
        break
      end
    end
  end
  if not status then
    local rk = rprefix .. fmt('%x', bucket % rbuckets)
    -- One command for the common case (a new id); the rest read the mark that is there.
    if call('HSETNX', rk, field, h .. off) == 1 then
      status = 'N'
      touched[rk] = true
    else
      local rv = call('HGET', rk, field)
      local seen = sub(rv, -8)
      if seen == off then
        status = 'N'  -- our own mark from an attempt that did not commit
      elseif struct.unpack('>I8', off) < struct.unpack('>I8', seen) then
        -- numbers, not strings: Lua compares strings with strcoll, which follows Redis's locale
        status = 'N'  -- an attempt got further before crashing: the first offset wins
        call('HSET', rk, field, h .. off)
        touched[rk] = true
      elseif hashed and sub(rv, 1, 8) ~= h then
        status = 'C'
      else
        status = 'D'
      end
    end
  end
  out[i + 1] = status
end
-- PTTL is a read (not written to the AOF): refreshing only below 90 % saves an EXPIRE per write.
for k, _ in pairs(touched) do
  if call('PTTL', k) < floor then call('EXPIRE', k, ttl) end
end
return table.concat(out)
"""
