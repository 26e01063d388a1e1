/**
 * Lua scripts of `RedisPresence`. Every script touches the keys of one topic,
 *   KEYS[1] = `sb:presence:{<topic>}`          hash  field `<member>|<phx_ref>` -> `{"key":..,"meta":..}`
 *   KEYS[2] = `sb:presence-nodes:{<topic>}`    zset  member -> expiry (ms, Redis clock)
 *   KEYS[3] = `sb:presence-version:{<topic>}`  hash  epoch, n: the topic's diff sequence
 * and publishes its diff on the topic's channel `sb:presence-events:{<topic>}`. The hash tag puts
 * keys and channel in one cluster slot, so each script is atomic on the shard that owns the topic
 * and may SPUBLISH there. Expiry scores are written and compared with that shard's clock (TIME),
 * so node clocks never matter.
 *
 * Each diff gets the next number `n` of the topic's sequence; `epoch` changes when the sequence is
 * lost (Redis lost its data). A watcher that sees a gap or another epoch re-reads the state.
 *
 * Diff messages are built by concatenating the stored JSON values, never decoded in Lua (cjson
 * would turn `[]` into `{}`):
 *   {"origin":<json>,"topic":<json>,"epoch":"<epoch>","version":<n>,"joins":[<value>..],"leaves":[<value>..]}
 * Scripts that publish return that message ('' when nothing changed), so the node that ran the
 * script handles its own diff exactly as the others do.
 *
 * ARGV common to every script: [1] PUBLISH or SPUBLISH, [2] channel, [3] JSON string of the origin
 * member, [4] JSON string of the topic, [5] candidate epoch (url-safe characters, used if the topic
 * has none), [6] key lifetime in ms.
 */

const prologue = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function epoch()
  local e = redis.call('HGET', KEYS[3], 'epoch')
  if not e then
    e = ARGV[5]
    redis.call('HSET', KEYS[3], 'epoch', e, 'n', 0)
    redis.call('PEXPIRE', KEYS[3], ARGV[6])
  end
  return e
end
local function diff(joins, leaves)
  if #joins == 0 and #leaves == 0 then return '' end
  local e = epoch()
  local n = redis.call('HINCRBY', KEYS[3], 'n', 1)
  local msg = '{"origin":' .. ARGV[3] .. ',"topic":' .. ARGV[4] .. ',"epoch":"' .. e ..
    '","version":' .. string.format('%d', n) ..
    ',"joins":[' .. table.concat(joins, ',') .. '],"leaves":[' .. table.concat(leaves, ',') .. ']}'
  redis.call(ARGV[1], ARGV[2], msg)
  return msg
end
local function alive(member, ttl)
  redis.call('ZADD', KEYS[2], now + ttl, member)
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
end
`;

/**
 * Adds one entry and refreshes the member. ARGV[7] field, [8] value, [9] member, [10] ttl ms.
 * Returns { message, 1 if the member was alive before else 0 } (0: the member had been swept, so
 * its other entries on this topic are gone and must be re-synced).
 */
export const trackLua = `${prologue}
local before = redis.call('ZSCORE', KEYS[2], ARGV[9])
redis.call('HSET', KEYS[1], ARGV[7], ARGV[8])
alive(ARGV[9], tonumber(ARGV[10]))
local msg = diff({ARGV[8]}, {})
if before then return {msg, 1} end
return {msg, 0}
`;

/** Removes one entry. ARGV[7] field. Returns the message. */
export const untrackLua = `${prologue}
local value = redis.call('HGET', KEYS[1], ARGV[7])
if not value then return '' end
redis.call('HDEL', KEYS[1], ARGV[7])
return diff({}, {value})
`;

/**
 * Extends the member's liveness (no diff). ARGV[1] member, [2] ttl ms, [3] key lifetime ms.
 * Returns 0 without touching anything when the member is gone (swept, or Redis lost its data):
 * the caller then syncs.
 */
export const refreshLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return 1
`;

/**
 * Makes the member's entries exactly the given set: adds the missing ones (joins), deletes the
 * member's others (leaves), refreshes the member. ARGV[7] member, [8] ttl ms, then field, value
 * pairs. Returns the message.
 */
export const syncLua = `${prologue}
local prefix = ARGV[7] .. '|'
local want = {}
for i = 9, #ARGV, 2 do want[ARGV[i]] = true end
local joins, leaves = {}, {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, #prefix) == prefix and not want[all[i]] then
    redis.call('HDEL', KEYS[1], all[i])
    leaves[#leaves + 1] = all[i + 1]
  end
end
for i = 9, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then joins[#joins + 1] = ARGV[i + 1] end
end
alive(ARGV[7], tonumber(ARGV[8]))
return diff(joins, leaves)
`;

/**
 * Removes the entries of every member whose expiry passed (publishing them as leaves). Returns
 * { message, epoch, n } and, if ARGV[7] is '1', the remaining entries as a 4th element: a state
 * and the sequence number it includes, read atomically.
 */
export const sweepLua = `${prologue}
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
local leaves = {}
if #expired > 0 then
  local dead = {}
  for _, m in ipairs(expired) do dead[m] = true end
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local sep = string.find(all[i], '|', 1, true)
    if sep and dead[string.sub(all[i], 1, sep - 1)] then
      redis.call('HDEL', KEYS[1], all[i])
      leaves[#leaves + 1] = all[i + 1]
    end
  end
  for _, m in ipairs(expired) do redis.call('ZREM', KEYS[2], m) end
end
local msg = diff({}, leaves)
local e = epoch()
local n = tonumber(redis.call('HGET', KEYS[3], 'n'))
if ARGV[7] == '1' then return {msg, e, n, redis.call('HVALS', KEYS[1])} end
return {msg, e, n}
`;
