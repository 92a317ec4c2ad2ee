"""The Lua scripts the sessions, the event log and the leases run in Redis, each one atomic.

The keys of one session (its data, its document) and of one stream (events, meta, the
session's stream list) share the hash tag ``{<session>}``, so a script touches one slot
of a Redis Cluster.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "APPEND",
    "CLAIM",
    "CURSOR",
    "END",
    "OPEN",
    "RELEASE",
    "REPLACE_SHARED",
    "SAVE_SESSION",
    "SHARED",
    "TOUCH_SESSION",
    "WRITE_DOCUMENT",
]

# The document is renewed with its session, so that it lives exactly as long.
# KEYS: session, document. ARGV: session data, ttl ms.
SAVE_SESSION: Final = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""
# KEYS: session, document. ARGV: ttl ms.
TOUCH_SESSION: Final = """
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
"""
# Compare-and-set of the document, stored as '<version>:<data>' and expiring with
# the session. KEYS: session, document. ARGV: the version read, the new data.
# Returns the new version; -1: no such session; -2: another write came first.
WRITE_DOCUMENT: Final = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return -1 end
local held = redis.call('GET', KEYS[2])
local version = 0
if held then version = tonumber(string.sub(held, 1, string.find(held, ':', 1, true) - 1)) end
if version ~= tonumber(ARGV[1]) then return -2 end
version = version + 1
if ttl > 0 then
  redis.call('SET', KEYS[2], version .. ':' .. ARGV[2], 'PX', ttl)
else
  redis.call('SET', KEYS[2], version .. ':' .. ARGV[2])
end
return version
"""

# KEYS: events, meta, session's stream list. ARGV: data, maxlen, ttl ms, stream id,
# cursor ('' for none).
APPEND: Final = """
if redis.call('HGET', KEYS[2], 'ended') then return -1 end
local n = redis.call('HINCRBY', KEYS[2], 'n', 1)
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'c', ARGV[5]) end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '0-' .. n, 'd', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return n
"""
# KEYS: events, meta, session's stream list. ARGV: cursor, ttl ms, stream id.
CURSOR: Final = """
redis.call('HSET', KEYS[2], 'c', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 1
"""
# KEYS: the lease. ARGV: owner, ttl ms, the owner it may replace ('' for none).
CLAIM: Final = """
local held = redis.call('GET', KEYS[1])
if (not held) or held == ARGV[1] or (ARGV[3] ~= '' and held == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return false
end
return held
"""
# KEYS: the lease. ARGV: its owner (only the owner releases it).
RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
# Marks the end with an entry of its own, which also wakes blocked readers.
# KEYS: events, meta, session's stream list. ARGV: maxlen, ttl ms, stream id.
END: Final = """
if redis.call('HGET', KEYS[2], 'ended') then return 0 end
local n = redis.call('HINCRBY', KEYS[2], 'n', 1)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '0-' .. n, 'e', '1')
redis.call('HSET', KEYS[2], 'ended', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return n
"""
# KEYS: events, meta, session's stream list. ARGV: ttl ms, stream id, the ids of the
# requests the stream answers (JSON; '' for none).
OPEN: Final = """
redis.call('HSETNX', KEYS[2], 'n', 0)
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], 'r', ARGV[3]) end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
return 1
"""
# A cluster-wide value, minted by the first node to ask (SET NX, then GET, as one
# step). KEYS: the value. ARGV: the value to store if there is none.
SHARED: Final = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""
# Compare-and-set of a cluster-wide value. KEYS: the value. ARGV: expected, new.
REPLACE_SHARED: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""
