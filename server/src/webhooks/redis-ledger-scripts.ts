/**
 * Lua scripts of `RedisLedger`. Every key has the hash tag `{sb-webhooks}`, so on a Redis Cluster
 * they share one slot and each script is atomic; every key a script touches is in its KEYS.
 *   holders:<slot>  set   who holds the slot: `<member>` (occupancy) or `<member>|<phx_ref>` (presence)
 *   state:<slot>    hash  up = '1' while the slot is up, epoch (random, new at every up), since (ms)
 *   held:<member>   set   JSON [holder, kind, topic, key] of everything a node holds (for its sweep)
 *   nodes           zset  member -> expiry (ms, Redis clock)
 *   pending         zset  slot id -> when its debounce ends (ms, Redis clock)
 *   outbox          stream the events, fields id, slot, up ('1'/'0'), node, time (ms), or for a
 *                   client event id, kind ('client'), topic, event, sub, payload, node, time; read
 *                   by the consumer group `deliver`, deleted once delivered or given up on
 * Times are the Redis server's (TIME), so node clocks never matter. A transition is written to the
 * outbox in the same script (so it can never happen without its event, or twice) with the id
 * `<epoch>-<n>` (n = 1 up, 2 down; the epoch is new at every up). Scripts that can make one take
 * the outbox as their last KEY and end their ARGV with [node id, outbox bound]; they return 1 when
 * an event was written, 2 when the outbox was full (the event is dropped; the caller counts it),
 * 0 otherwise.
 */

const now = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

const emit = `${now}
local function emit(slot, e, n)
  local out = KEYS[#KEYS]
  if redis.call('XLEN', out) >= tonumber(ARGV[#ARGV]) then return 2 end
  redis.call('XADD', out, '*', 'id', e .. '-' .. n, 'slot', slot, 'up', n == 1 and '1' or '0',
    'node', ARGV[#ARGV - 1], 'time', string.format('%d', now))
  return 1
end
`;

/**
 * KEYS holders, state, held, nodes, outbox. ARGV [1] holder, [2] held entry, [3] member, [4] ttl
 * ms, [5] candidate epoch, [6] slot id, then node id, outbox bound. Up when the slot was not up
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
 * KEYS holders, state, held, pending, outbox. ARGV [1] holder, [2] held entry, [3] slot id, [4]
 * debounce ms, then node id, outbox bound. The last holder out starts the debounce (or, with 0,
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
 * KEYS holders, state, pending, outbox. ARGV [1] slot id, [2] debounce ms, then node id, outbox
 * bound. Down when still empty and the debounce counted from the latest emptying is over;
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
 * KEYS outbox. ARGV [1] id, [2] topic, [3] event, [4] sub, [5] payload (JSON text), then node id,
 * outbox bound. Writes one client event (no slot: every accepted push is one event).
 */
export const appendLua = `${now}
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[7]) then return 2 end
redis.call('XADD', KEYS[1], '*', 'id', ARGV[1], 'kind', 'client', 'topic', ARGV[2], 'event', ARGV[3],
  'sub', ARGV[4], 'payload', ARGV[5], 'node', ARGV[6], 'time', string.format('%d', now))
return 1
`;
