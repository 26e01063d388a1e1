/**
 * Lua scripts of `RedisLedger`. Every key has the hash tag `{sb-webhooks}`, so on a Redis Cluster
 * they share one slot and each script is atomic; every key a script touches is in its KEYS.
 *   holders:<slot>  set   who holds the slot: `<member>` (occupancy) or `<member>|<phx_ref>` (presence)
 *   state:<slot>    hash  up = '1' while the slot is up, epoch (random, new at every up), since (ms)
 *   held:<member>   set   JSON [holder, kind, topic, key] of everything a node holds (for its sweep)
 *   nodes           zset  member -> expiry (ms, Redis clock)
 *   pending         zset  slot id -> when its debounce ends (ms, Redis clock)
 *   outbox          stream the events, fields id, slot, up ('1'/'0'), node, time (ms), or for a
 *                   client event id, kind ('client'), topic, event, sub, payload, node, time, and
 *                   size; read by the consumer group `deliver`, deleted (by ackLua) once delivered
 *                   or given up on
 *   outbox-bytes    string the sum of the outbox entries' `size` (bounded by WEBHOOK_QUEUE_MAX_BYTES)
 * An entry's size is the byte length of its slot id (a transition) or of topic + event + sub +
 * payload (a client event): what grows with the clients' input, not Redis's own overhead.
 * Times are the Redis server's (TIME), so node clocks never matter. A transition is written to the
 * outbox in the same script (so it can never happen without its event, or twice) with the id
 * `<epoch>-<n>` (n = 1 up, 2 down; the epoch is new at every up). Scripts that can make one end
 * their KEYS with [outbox, outbox-bytes] and their ARGV with [node id, outbox bound, byte bound];
 * they return 1 when an event was written, 2 when the outbox was full in events or in bytes (the
 * event is dropped; the caller counts it), 0 otherwise.
 */

const now = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * `room(size)`: true when one more entry of `size` bytes fits both bounds, and then counts it.
 * An empty stream resets the total, so a total left behind by lost data heals at the next event.
 */
const room = `
local function room(size)
  local out, total = KEYS[#KEYS - 1], KEYS[#KEYS]
  local len = redis.call('XLEN', out)
  if len == 0 then redis.call('SET', total, 0) end
  if len >= tonumber(ARGV[#ARGV - 1]) then return false end
  if tonumber(redis.call('GET', total) or '0') + size > tonumber(ARGV[#ARGV]) then return false end
  redis.call('INCRBY', total, size)
  return true
end
`;

const emit = `${now}${room}
local function emit(slot, e, n)
  if not room(#slot) then return 2 end
  redis.call('XADD', KEYS[#KEYS - 1], '*', 'id', e .. '-' .. n, 'slot', slot, 'up', n == 1 and '1' or '0',
    'node', ARGV[#ARGV - 2], 'time', string.format('%d', now), 'size', #slot)
  return 1
end
`;

/**
 * KEYS holders, state, held, nodes, outbox, outbox-bytes. ARGV [1] holder, [2] held entry, [3] member, [4] ttl
 * ms, [5] candidate epoch, [6] slot id, then node id, outbox bound, byte bound. Up when the slot was not up
 * (a hold within the debounce records nothing).
 */
export const holdLua = `${emit}
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[4]), ARGV[3])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
if redis.call('HGET', KEYS[2], 'up') == '1' then return 0 end
redis.call('HSET', KEYS[2], 'up', '1', 'epoch', ARGV[5])
return emit(ARGV[6], ARGV[5], 1)
`;

/**
 * KEYS holders, state, held, pending, outbox, outbox-bytes. ARGV [1] holder, [2] held entry, [3]
 * slot id, [4] debounce ms, then node id, outbox bound, byte bound. The last holder out starts the debounce (or, with 0,
 * takes the slot down now).
 */
export const releaseLua = `${emit}
redis.call('SREM', KEYS[3], ARGV[2])
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('SCARD', KEYS[1]) > 0 then return 0 end
if redis.call('HGET', KEYS[2], 'up') ~= '1' then return 0 end
if tonumber(ARGV[4]) == 0 then
  local e = redis.call('HGET', KEYS[2], 'epoch')
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[4], ARGV[3])
  return emit(ARGV[3], e, 2)
end
redis.call('HSET', KEYS[2], 'since', now)
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[4]), ARGV[3])
return 0
`;

/**
 * KEYS holders, state, pending, outbox, outbox-bytes. ARGV [1] slot id, [2] debounce ms, then
 * node id, outbox bound, byte bound. Down when still empty and the debounce counted from the latest emptying is over;
 * re-scheduled when it emptied again since.
 */
export const settleLua = `${emit}
if redis.call('SCARD', KEYS[1]) > 0 or redis.call('HGET', KEYS[2], 'up') ~= '1' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 0
end
local due = tonumber(redis.call('HGET', KEYS[2], 'since') or '0') + tonumber(ARGV[2])
if now < due then
  redis.call('ZADD', KEYS[3], due, ARGV[1])
  return 0
end
local e = redis.call('HGET', KEYS[2], 'epoch')
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return emit(ARGV[1], e, 2)
`;

/**
 * KEYS pending, nodes. ARGV [1] batch size. Returns { slots whose debounce is over, expired members }.
 */
export const dueLua = `${now}
return {
  redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1])),
  redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
}
`;

/**
 * KEYS nodes. ARGV [1] member, [2] ttl ms. Extends the member's expiry; returns 0 without writing
 * when the member has expired (others may have released some of its holdings) or is gone (Redis
 * lost its data): the caller then holds everything again.
 */
export const refreshLua = `${now}
local exp = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not exp or tonumber(exp) <= now then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
`;

/**
 * KEYS held, nodes. ARGV [1] member, [2] batch size. For an expired member: returns up to a batch
 * of what it still holds; when it holds nothing any more, forgets it and returns an empty list.
 */
export const deadHoldingsLua = `${now}
local exp = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not exp or tonumber(exp) > now then return {} end
local some = redis.call('SRANDMEMBER', KEYS[1], tonumber(ARGV[2]))
if #some == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) end
return some
`;

/**
 * KEYS outbox, outbox-bytes. ARGV [1] id, [2] topic, [3] event, [4] sub, [5] payload (JSON text),
 * then node id, outbox bound, byte bound. Writes one client event (no slot: every accepted push is
 * one event).
 */
export const appendLua = `${now}${room}
local size = #ARGV[2] + #ARGV[3] + #ARGV[4] + #ARGV[5]
if not room(size) then return 2 end
redis.call('XADD', KEYS[1], '*', 'id', ARGV[1], 'kind', 'client', 'topic', ARGV[2], 'event', ARGV[3],
  'sub', ARGV[4], 'payload', ARGV[5], 'node', ARGV[6], 'time', string.format('%d', now), 'size', size)
return 1
`;

/**
 * KEYS outbox, outbox-bytes. ARGV [1] entry handle. Acknowledges and deletes one entry and takes its
 * size off the total; only the call that deletes it does, so two nodes finishing it count it once.
 */
export const ackLua = `
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
redis.call('XACK', KEYS[1], 'deliver', ARGV[1])
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 or #e == 0 then return 0 end
local f = e[1][2]
for i = 1, #f - 1, 2 do
  if f[i] == 'size' then
    local left = redis.call('DECRBY', KEYS[2], tonumber(f[i + 1]) or 0)
    if left < 0 then redis.call('SET', KEYS[2], 0) end
  end
end
return 1
`;
