import { createHash } from 'node:crypto'

/**
 * The Lua the Redis store runs. Every multi-key step is one script, so it runs as one indivisible
 * step on the Redis server however many Nexus instances race.
 *
 * Three families, and no script ever touches two (so each runs on one hash slot of a Cluster):
 *
 * - Session scripts: KEYS are the keys of one session, all tagged `{<sessionId>}`:
 *   KEYS[1] the session hash, KEYS[2] the message list, KEYS[3] (pairing only) a code record,
 *   KEYS[4] (pairing only) the session's pending codes (sorted set code → expiresAt).
 *   ARGV[1] the session's event channel, ARGV[2] now (epoch ms), ARGV[3] the expiry margin (ms),
 *   then the script's own arguments from ARGV[4].
 * - Global scripts: KEYS are the bookkeeping keys tagged `{global}`: KEYS[1] the session index
 *   (sorted set id → expiresAt), KEYS[2] members per session (hash id → count), KEYS[3] the agent
 *   counter, KEYS[4] the message counter, KEYS[5] message bytes per session (hash id → bytes),
 *   KEYS[6] the store's message bytes (for maxStoreBytes).
 * - Attempt scripts: KEYS[1] one attempt counter (a hash: n the count, r when its window ends).
 *
 * The session hash holds: ttl, max (maxAgents), cr (creator, '' for none), ca (createdAt), exp
 * (expiresAt), last (lastCursor), first (cursor of the list's head), drop (droppedThrough), n
 * (members), bytes (the held messages' bytes), once ended eb, er, ec, ea (the end's member,
 * reason, final cursor and time), and per member `k:<agent>` (key digest),
 * `j:<agent>` (joinedAt), `s:<agent>` (lastSeenAt). The list holds one JSON string per message:
 * cursor = first + index. Each string starts `{"b":<bytes>,` so a script reads a message's
 * charged size without decoding it.
 */

const SESSION_PRELUDE = `
local H, L = KEYS[1], KEYS[2]
local CH = ARGV[1]
local now = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])

local function int(x) return string.format('%d', x) end

-- A stored message's charged size (its string's length if it predates the 'b' field).
local function size(item)
  local b = string.match(item, '^{"b":(%d+)')
  if b then return tonumber(b) end
  return #item
end

-- Forgets a session (expired, or found expired) and tells the watchers.
local function gone()
  redis.call('DEL', H, L)
  redis.call('PUBLISH', CH, 'e')
end

-- The session's expiresAt when it is live at 'now'; nil otherwise, ending it if it has expired.
local function live()
  local exp = redis.call('HGET', H, 'exp')
  if not exp then return nil end
  exp = tonumber(exp)
  if exp <= now then
    gone()
    return nil
  end
  return exp
end

local function record()
  return redis.call('HMGET', H, 'ttl', 'max', 'cr', 'ca', 'exp', 'last', 'eb', 'er', 'ec', 'ea')
end

-- Real key expiry follows the session's: a margin later, so instances' clocks may differ a little.
local function expire(exp)
  redis.call('PEXPIREAT', H, int(exp + margin))
  redis.call('PEXPIREAT', L, int(exp + margin))
end

local function slide()
  local exp = now + tonumber(redis.call('HGET', H, 'ttl')) * 1000
  redis.call('HSET', H, 'exp', int(exp))
  expire(exp)
  return exp
end

-- Members as a flat list: agent, joinedAt, lastSeenAt, ...
local function members()
  local all = redis.call('HGETALL', H)
  local joined, seen, order = {}, {}, {}
  for i = 1, #all, 2 do
    local field = all[i]
    local kind = string.sub(field, 1, 2)
    if kind == 'j:' then
      local agent = string.sub(field, 3)
      joined[agent] = all[i + 1]
      order[#order + 1] = agent
    elseif kind == 's:' then
      seen[string.sub(field, 3)] = all[i + 1]
    end
  end
  local out = {}
  for _, agent in ipairs(order) do
    out[#out + 1] = agent
    out[#out + 1] = joined[agent]
    out[#out + 1] = seen[agent]
  end
  return out
end

-- Joins a member to a live session unless full or taken; slides expiry. Returns the count or a refusal.
local function admit(agent, keyHash)
  if redis.call('HEXISTS', H, 'k:' .. agent) == 1 then return nil, 'agent_id_taken' end
  local n = tonumber(redis.call('HGET', H, 'n'))
  if n >= tonumber(redis.call('HGET', H, 'max')) then return nil, 'session_full' end
  redis.call('HSET', H, 'k:' .. agent, keyHash, 'j:' .. agent, ARGV[2], 's:' .. agent, ARGV[2], 'n', n + 1)
  slide()
  return n + 1
end
`

/** ARGV[4..]: ttl, maxAgents, creatorAgentId ('' none), creator member id ('' none), its key digest, greeting JSON ('' none), greeting bytes. */
const create = `
if redis.call('EXISTS', H) == 1 then return 'exists' end
local exp = now + tonumber(ARGV[4]) * 1000
local first = '1'
if ARGV[9] ~= '' then first = '0' end
local n = 0
if ARGV[7] ~= '' then n = 1 end
redis.call('HSET', H, 'ttl', ARGV[4], 'max', ARGV[5], 'cr', ARGV[6], 'ca', ARGV[2], 'exp', int(exp),
  'last', '0', 'first', first, 'drop', '-1', 'n', n, 'bytes', ARGV[10])
if n == 1 then
  redis.call('HSET', H, 'k:' .. ARGV[7], ARGV[8], 'j:' .. ARGV[7], ARGV[2], 's:' .. ARGV[7], ARGV[2])
end
if ARGV[9] ~= '' then redis.call('RPUSH', L, ARGV[9]) end
expire(exp)
return 'ok'
`

const status = `
if not live() then return false end
return {record(), members()}
`

/** ARGV[4..]: agent, key digest. */
const join = `
if not live() then return {'session_not_found'} end
local n, refused = admit(ARGV[4], ARGV[5])
if not n then return {refused} end
return {'ok', record(), n}
`

/**
 * ARGV[4..]: agent, key digest ('' when none was shown), message JSON, maxMessagesPerSession,
 * the message's bytes, maxSessionBytes ('' for no cap), and for the store's end '1' and the
 * reason: the message is then the final one, and the session is marked ended with it. Answers
 * the bytes it dropped too.
 */
const append = `
if not live() then return {'session_not_found'} end
local agent = ARGV[4]
local key = redis.call('HGET', H, 'k:' .. agent)
if not key then return {'not_member'} end
if ARGV[5] ~= '' and ARGV[5] ~= key then return {'bad_key'} end
if redis.call('HEXISTS', H, 'ec') == 1 then return {'ended'} end
local keep, incoming = tonumber(ARGV[7]), tonumber(ARGV[8])
local held = redis.call('LLEN', L)
local bytes = tonumber(redis.call('HGET', H, 'bytes') or '0')
-- The oldest messages the new one pushes out, by count and then by bytes; never the new one.
local count = math.max(0, held + 1 - keep)
local dropped = 0
if count > 0 then
  for _, item in ipairs(redis.call('LRANGE', L, 0, count - 1)) do dropped = dropped + size(item) end
end
if ARGV[9] ~= '' then
  local cap = tonumber(ARGV[9])
  while count < held and bytes - dropped + incoming > cap do
    dropped = dropped + size(redis.call('LINDEX', L, count))
    count = count + 1
  end
end
local cursor = redis.call('HINCRBY', H, 'last', 1)
redis.call('RPUSH', L, ARGV[6])
redis.call('HSET', H, 's:' .. agent, ARGV[2], 'bytes', bytes - dropped + incoming)
if count > 0 then
  redis.call('LTRIM', L, count, -1)
  local first = redis.call('HINCRBY', H, 'first', count)
  redis.call('HSET', H, 'drop', first - 1)
end
if ARGV[10] == '1' then redis.call('HSET', H, 'eb', agent, 'er', ARGV[11], 'ec', cursor, 'ea', ARGV[2]) end
slide()
redis.call('PUBLISH', CH, 'm:' .. cursor)
return {'ok', record(), dropped}
`

/** ARGV[4..]: agent, after (exclusive), limit, withMembers ('1'/'0'), maxBytes ('' for no budget), key digest ('' when none is required). */
const read = `
if not live() then return {'session_not_found'} end
local agent = ARGV[4]
local key = redis.call('HGET', H, 'k:' .. agent)
if not key then return {'not_member'} end
if ARGV[9] ~= '' and ARGV[9] ~= key then return {'bad_key'} end
redis.call('HSET', H, 's:' .. agent, ARGV[2])
local v = redis.call('HMGET', H, 'ttl', 'max', 'cr', 'ca', 'exp', 'last', 'first', 'drop', 'eb', 'er', 'ec', 'ea')
local last, first = tonumber(v[6]), tonumber(v[7])
local start = math.max(tonumber(ARGV[5]) + 1, first)
local length = last - first + 1
local from = start - first
local to = math.min(length, from + tonumber(ARGV[6]))
local messages = {}
if from < to and ARGV[8] == '' then messages = redis.call('LRANGE', L, from, to - 1) end
if from < to and ARGV[8] ~= '' then
  -- In slices, so a budget of a few messages never copies a thousand large ones out of the list.
  local budget, bytes, at = tonumber(ARGV[8]), 0, from
  while at < to do
    local slice = redis.call('LRANGE', L, at, math.min(to, at + 32) - 1)
    for _, item in ipairs(slice) do
      bytes = bytes + size(item)
      if bytes > budget and #messages > 0 then
        to = at
        break
      end
      messages[#messages + 1] = item
      at = at + 1
    end
  end
end
local more = 0
if to < length then more = 1 end
local list = {}
if ARGV[7] == '1' then list = members() end
return {'ok', {v[1], v[2], v[3], v[4], v[5], v[6], v[9], v[10], v[11], v[12]}, start, more, first, tonumber(v[8]), messages, list}
`

/** ARGV[4..]: agent, ttl seconds ('' to keep), key digest ('' when none is required). */
const renew = `
if not live() then return {'session_not_found'} end
local key = redis.call('HGET', H, 'k:' .. ARGV[4])
if not key then return {'not_member'} end
if ARGV[6] ~= '' and ARGV[6] ~= key then return {'bad_key'} end
if ARGV[5] ~= '' then redis.call('HSET', H, 'ttl', ARGV[5]) end
slide()
return {'ok', record(), members()}
`

/** ARGV[4..]: agent, key digest. */
const leave = `
if not live() then return {'session_not_found'} end
local agent = ARGV[4]
if redis.call('HGET', H, 'cr') == agent then return {'creator'} end
local key = redis.call('HGET', H, 'k:' .. agent)
if not key then return {'agent_not_found'} end
if key ~= ARGV[5] then return {'bad_key'} end
redis.call('HDEL', H, 'k:' .. agent, 'j:' .. agent, 's:' .. agent)
redis.call('HINCRBY', H, 'n', -1)
redis.call('PUBLISH', CH, 'r:' .. agent)
return {'ok', record()}
`

/** ARGV[4..]: idleBefore. */
const removeIdle = `
if not live() then return {} end
local creator = redis.call('HGET', H, 'cr')
local idleBefore = tonumber(ARGV[4])
local list = members()
local removed = {}
for i = 1, #list, 3 do
  local agent = list[i]
  if agent ~= creator and tonumber(list[i + 2]) < idleBefore then
    redis.call('HDEL', H, 'k:' .. agent, 'j:' .. agent, 's:' .. agent)
    removed[#removed + 1] = agent
  end
end
if #removed > 0 then
  redis.call('HINCRBY', H, 'n', -#removed)
  for _, agent in ipairs(removed) do redis.call('PUBLISH', CH, 'r:' .. agent) end
end
return removed
`

/**
 * KEYS[3] the code record, KEYS[4] the pending codes. ARGV[4..]: expiresAt, forgetAt, the code,
 * the most pending codes the session may hold.
 */
const createCode = `
if not live() then return 'session_not_found' end
local C, P = KEYS[3], KEYS[4]
redis.call('ZREMRANGEBYSCORE', P, '-inf', ARGV[2])
if redis.call('ZCARD', P) >= tonumber(ARGV[7]) then return 'too_many' end
if redis.call('EXISTS', C) == 1 then return 'exists' end
redis.call('HSET', C, 'exp', ARGV[4], 'cl', '', 'fg', ARGV[5])
redis.call('PEXPIREAT', C, int(tonumber(ARGV[5]) + margin))
redis.call('ZADD', P, ARGV[4], ARGV[6])
local latest = redis.call('ZRANGE', P, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', P, int(tonumber(latest[2]) + margin))
return 'ok'
`

/**
 * KEYS[3] the code record. A pending code of a session that has ended expires now (as the memory
 * store cuts it short when the session ends).
 */
const getCode = `
local C = KEYS[3]
local rec = redis.call('HMGET', C, 'exp', 'cl', 'fg')
if not rec[1] or tonumber(rec[3]) <= now then return false end
if rec[2] == '' and tonumber(rec[1]) > now and not live() then
  redis.call('HSET', C, 'exp', ARGV[2])
  rec[1] = ARGV[2]
end
return rec
`

/**
 * KEYS[3] the code record, KEYS[4] the pending codes. ARGV[4..]: agent, key digest, the code.
 * Exactly one claim of a code wins; a failed join spends nothing.
 */
const claim = `
local C = KEYS[3]
local rec = redis.call('HMGET', C, 'exp', 'cl', 'fg')
if not rec[1] or tonumber(rec[3]) <= now then return {'code_not_found'} end
if rec[2] ~= '' or tonumber(rec[1]) <= now then return {'code_expired_or_used'} end
if not live() then
  redis.call('HSET', C, 'exp', ARGV[2])
  return {'session_not_found'}
end
local n, refused = admit(ARGV[4], ARGV[5])
if not n then return {refused} end
redis.call('HSET', C, 'cl', ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[6])
return {'ok', record(), n}
`

/**
 * For sweep: a session the index found expired. Ends it (and tells watchers) unless it is in fact
 * live, in which case it answers {expiresAt, members} so the index can be put right.
 */
const end = `
local exp = redis.call('HGET', H, 'exp')
if exp and tonumber(exp) > now then
  return {tonumber(exp), tonumber(redis.call('HGET', H, 'n'))}
end
gone()
return false
`

// Webhooks. KEYS[3] the session's webhooks (hash agent -> the webhook as JSON). The rules live in
// TypeScript (src/store/webhook-state.ts, shared with the other stores); these two scripts make
// them atomic by compare-and-set: a change is written only if the webhook, and the session's
// last cursor when it matters, are still what the change was computed from.

/** ARGV[4]: the agent. Answers {state, the webhook's JSON or false, lastCursor, the member's key digest or false}. */
const webhookRead = `
local W = KEYS[3]
local exp = redis.call('HGET', H, 'exp')
if not exp or tonumber(exp) <= now then return {'session_not_found', redis.call('HGET', W, ARGV[4]) or false, 0, false} end
local key = redis.call('HGET', H, 'k:' .. ARGV[4])
return {'ok', redis.call('HGET', W, ARGV[4]) or false, tonumber(redis.call('HGET', H, 'last')), key or false}
`

/**
 * ARGV[4..]: the agent, the JSON it must still hold ('' for none), the JSON to write ('' to
 * delete), the session's last cursor it must still have ('' for any), the most webhooks the
 * session may hold when this adds one ('' for no check). Answers 'ok', 'conflict', 'too_many'
 * or 'session_not_found' (a delete still happens then). The hash expires with the session.
 */
const webhookWrite = `
local W = KEYS[3]
local agent = ARGV[4]
local current = redis.call('HGET', W, agent) or ''
if current ~= ARGV[5] then return 'conflict' end
local exp = redis.call('HGET', H, 'exp')
local alive = exp and tonumber(exp) > now
if ARGV[6] == '' then
  redis.call('HDEL', W, agent)
  if alive then return 'ok' end
  return 'session_not_found'
end
if not alive then return 'session_not_found' end
if ARGV[7] ~= '' and redis.call('HGET', H, 'last') ~= ARGV[7] then return 'conflict' end
if ARGV[8] ~= '' and current == '' and redis.call('HLEN', W) >= tonumber(ARGV[8]) then return 'too_many' end
redis.call('HSET', W, agent, ARGV[6])
redis.call('PEXPIREAT', W, int(tonumber(exp) + margin))
return 'ok'
`

const GLOBAL_PRELUDE = `
local Z, M, A, G, B, T = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

-- Forgets a session's members and bytes in the counters (it left the index).
local function forget(id)
  local n = redis.call('HGET', M, id)
  if n then
    redis.call('HDEL', M, id)
    redis.call('DECRBY', A, n)
  end
  local b = redis.call('HGET', B, id)
  if b then
    redis.call('HDEL', B, id)
    redis.call('DECRBY', T, b)
  end
end
`

/**
 * Reserves a place in the index for a new session when fewer than maxSessions are live.
 * ARGV: now, id, expiresAt, maxSessions, members, messages, the greeting's bytes.
 */
const reserve = `
if redis.call('ZCOUNT', Z, '(' .. ARGV[1], '+inf') >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', Z, ARGV[3], ARGV[2])
if ARGV[5] ~= '0' then
  redis.call('HSET', M, ARGV[2], ARGV[5])
  redis.call('INCRBY', A, ARGV[5])
end
if ARGV[6] ~= '0' then redis.call('INCRBY', G, ARGV[6]) end
if ARGV[7] ~= '0' then
  redis.call('HSET', B, ARGV[2], ARGV[7])
  redis.call('INCRBY', T, ARGV[7])
end
return 1
`

/**
 * Reserves a message's bytes before its append, refusing when the store would hold more than
 * maxStoreBytes. The append's drops are given back later (account). A session the index does
 * not hold (being swept) is not counted. ARGV: id, bytes, maxStoreBytes.
 */
const reserveBytes = `
if not redis.call('ZSCORE', Z, ARGV[1]) then return 1 end
local total = tonumber(redis.call('GET', T) or '0')
if total + tonumber(ARGV[2]) > tonumber(ARGV[3]) then return 0 end
redis.call('HINCRBY', B, ARGV[1], ARGV[2])
redis.call('INCRBY', T, ARGV[2])
return 1
`

/** Takes a session out of the index (a create that failed after its reservation). ARGV: id. */
const release = `
redis.call('ZREM', Z, ARGV[1])
forget(ARGV[1])
return 1
`

/**
 * Brings the index and counters up to date after session scripts, for a batch of sessions: each
 * one's latest expiry ('' when unchanged; 'gt' only raises the indexed one, 'set' may lower it,
 * as renew can) and members added or removed, plus the messages accepted. A session no longer
 * indexed is put back only if it is still live by its new expiry.
 * ARGV: now, messages delta, then per session: id, expiresAt, mode, members delta, bytes delta.
 */
const account = `
local now = tonumber(ARGV[1])
if ARGV[2] ~= '0' then redis.call('INCRBY', G, ARGV[2]) end
for i = 3, #ARGV, 5 do
  local id, exp, mode, delta, bytes = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local present = redis.call('ZSCORE', Z, id)
  if exp ~= '' then
    if present then
      if mode == 'set' then
        redis.call('ZADD', Z, exp, id)
      else
        redis.call('ZADD', Z, 'GT', exp, id)
      end
    elseif tonumber(exp) > now then
      redis.call('ZADD', Z, exp, id)
      present = exp
    end
  end
  if delta ~= '0' and present then
    redis.call('HINCRBY', M, id, delta)
    redis.call('INCRBY', A, delta)
  end
  if bytes ~= '0' and present then
    redis.call('HINCRBY', B, id, bytes)
    redis.call('INCRBY', T, bytes)
  end
end
return 1
`

/** Takes up to ARGV[2] sessions expired by ARGV[1] out of the index, with their members; returns their ids. */
const sweep = `
local ids = redis.call('ZRANGEBYSCORE', Z, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', Z, id)
  forget(id)
end
return ids
`

/**
 * Live sessions (expiresAt > now), their members and the messages accepted. Members of sessions
 * expired but not yet swept are left out (up to 10,000 of them; sweep keeps it far below that).
 * ARGV: now.
 */
const stats = `
local active = redis.call('ZCOUNT', Z, '(' .. ARGV[1], '+inf')
local agents = tonumber(redis.call('GET', A) or '0')
local expired = redis.call('ZRANGEBYSCORE', Z, '-inf', ARGV[1], 'LIMIT', 0, 10000)
for _, id in ipairs(expired) do
  agents = agents - tonumber(redis.call('HGET', M, id) or '0')
end
return {active, agents, tonumber(redis.call('GET', G) or '0'), tonumber(redis.call('GET', T) or '0')}
`

const ATTEMPT_PRELUDE = `
local K = KEYS[1]
local now = tonumber(ARGV[1])
local function int(x) return string.format('%d', x) end
`

/** Counts an attempt, starting a new window when none is running. ARGV: now, windowMs, margin. Answers {count, resetAt}. */
const countAttempt = `
local v = redis.call('HMGET', K, 'n', 'r')
local n, r = tonumber(v[1] or '0'), tonumber(v[2] or '0')
if r <= now then
  n = 0
  r = now + tonumber(ARGV[2])
end
n = n + 1
redis.call('HSET', K, 'n', n, 'r', int(r))
redis.call('PEXPIREAT', K, int(r + tonumber(ARGV[3])))
return {n, r}
`

/** Takes one attempt back from the running window. ARGV: now. */
const uncountAttempt = `
local v = redis.call('HMGET', K, 'n', 'r')
if v[1] and tonumber(v[2]) > now and tonumber(v[1]) > 0 then redis.call('HINCRBY', K, 'n', -1) end
return 1
`

/**
 * Hub identities, every one under the hash tag {identities} so a script touches one slot:
 * K (hash agentId → keyHash), C (hash agentId → createdAt), S (sorted set agentId by lastConnectedAt).
 */
const IDENTITY_PRELUDE = `
local K, C, S = KEYS[1], KEYS[2], KEYS[3]
`

/** Creates the identity unless held. ARGV: agentId, keyHash, now. Answers {1} or {0, keyHash, createdAt, lastConnectedAt}. */
const registerIdentity = `
local held = redis.call('HGET', K, ARGV[1])
if held then
  return {0, held, redis.call('HGET', C, ARGV[1]) or '0', redis.call('ZSCORE', S, ARGV[1]) or '0'}
end
redis.call('HSET', K, ARGV[1], ARGV[2])
redis.call('HSET', C, ARGV[1], ARGV[3])
redis.call('ZADD', S, ARGV[3], ARGV[1])
return {1}
`

/** ARGV: agentId. Answers {} or {keyHash, createdAt, lastConnectedAt}. */
const getIdentity = `
local held = redis.call('HGET', K, ARGV[1])
if not held then return {} end
return {held, redis.call('HGET', C, ARGV[1]) or '0', redis.call('ZSCORE', S, ARGV[1]) or '0'}
`

/** Moves lastConnectedAt forward for ids held. ARGV: now, then the agent ids. */
const touchIdentities = `
for i = 2, #ARGV do
  local seen = redis.call('ZSCORE', S, ARGV[i])
  if seen and tonumber(seen) < tonumber(ARGV[1]) then redis.call('ZADD', S, ARGV[1], ARGV[i]) end
end
return 1
`

/** Forgets up to a batch of identities idle since before ARGV[1]. ARGV: idleBefore, batch. Answers how many went. */
const forgetIdentities = `
local ids = redis.call('ZRANGEBYSCORE', S, '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', S, id)
  redis.call('HDEL', K, id)
  redis.call('HDEL', C, id)
end
return #ids
`

export interface Script {
  name: string
  lua: string
  sha: string
  keys: number
}

function script(name: string, prelude: string, body: string, keys: number): Script {
  const lua = prelude + body
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex'), keys }
}

export const scripts = {
  create: script('create', SESSION_PRELUDE, create, 2),
  status: script('status', SESSION_PRELUDE, status, 2),
  join: script('join', SESSION_PRELUDE, join, 2),
  append: script('append', SESSION_PRELUDE, append, 2),
  read: script('read', SESSION_PRELUDE, read, 2),
  renew: script('renew', SESSION_PRELUDE, renew, 2),
  leave: script('leave', SESSION_PRELUDE, leave, 2),
  removeIdle: script('removeIdle', SESSION_PRELUDE, removeIdle, 2),
  createCode: script('createCode', SESSION_PRELUDE, createCode, 4),
  getCode: script('getCode', SESSION_PRELUDE, getCode, 3),
  claim: script('claim', SESSION_PRELUDE, claim, 4),
  end: script('end', SESSION_PRELUDE, end, 2),
  webhookRead: script('webhookRead', SESSION_PRELUDE, webhookRead, 3),
  webhookWrite: script('webhookWrite', SESSION_PRELUDE, webhookWrite, 3),
  reserve: script('reserve', GLOBAL_PRELUDE, reserve, 6),
  reserveBytes: script('reserveBytes', GLOBAL_PRELUDE, reserveBytes, 6),
  release: script('release', GLOBAL_PRELUDE, release, 6),
  account: script('account', GLOBAL_PRELUDE, account, 6),
  sweep: script('sweep', GLOBAL_PRELUDE, sweep, 6),
  stats: script('stats', GLOBAL_PRELUDE, stats, 6),
  countAttempt: script('countAttempt', ATTEMPT_PRELUDE, countAttempt, 1),
  uncountAttempt: script('uncountAttempt', ATTEMPT_PRELUDE, uncountAttempt, 1),
  registerIdentity: script('registerIdentity', IDENTITY_PRELUDE, registerIdentity, 3),
  getIdentity: script('getIdentity', IDENTITY_PRELUDE, getIdentity, 3),
  touchIdentities: script('touchIdentities', IDENTITY_PRELUDE, touchIdentities, 3),
  forgetIdentities: script('forgetIdentities', IDENTITY_PRELUDE, forgetIdentities, 3),
} as const satisfies Record<string, Script>
