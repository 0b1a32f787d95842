-- wrk script for bench/soak.sh: one request kind per wrk process, chosen
-- by SOAK_KIND, at a steady rate set by a fixed delay after each answer.
--
-- Why one process per kind and not one weighted mix in one process: wrk's
-- response() is told the status, headers and body, but not which request
-- (or connection) they answer, so a mixed process could not count each
-- kind's answers or p99 exactly. Four wrk processes started together give
-- the server the same interleaved mix, and each kind its own counts and
-- latency histogram.
--
-- Parameters come from the environment, because wrk hands script
-- arguments only to the threads' init(), not to done():
--   SOAK_KIND          auth | login | refresh | cc
--   SOAK_DELAY_MS      pause of each connection after an answer
--   SOAK_TENANT        tenant name (the path prefix /t/<tenant>)
--   SOAK_RESULT        done() writes one JSON object here
--   SOAK_ACCESS_TOKENS auth: access tokens, one a line, used in turn
--   SOAK_USERS         login: usernames, one a line, used in turn
--   SOAK_PASSWORD      login: every user's password
--   SOAK_POOL          refresh: unused refresh tokens, one a line
--   SOAK_JOURNAL       login, refresh: "-token" for every refresh token
--                      presented, "+token" for every one received; the
--                      shell rebuilds the pool from it between windows and
--                      checks that no token was ever presented twice
--   SOAK_CLIENT_BASIC  cc: base64(client_id:client_secret)
--
-- Run with -t1: the refresh pool is per wrk thread, so one thread keeps
-- a token from ever being handed out twice.

local kind = os.getenv("SOAK_KIND") or ""
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0") or 0
local tenant = os.getenv("SOAK_TENANT") or "default"

-- Per-thread counters, read by done() through thread:get().
ok, bad, pool_empty, sent = 0, 0, 0, 0
first_bad = ""

local function read_lines(path)
    local lines = {}
    if not path then return lines end
    local f = io.open(path, "r")
    if not f then return lines end
    for line in f:lines() do
        if line ~= "" then lines[#lines + 1] = line end
    end
    f:close()
    return lines
end

local function form_escape(s)
    return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local journal
local next_index = 0
local tokens, users, password, basic
-- The refresh pool: a FIFO queue, so every session gets its turn.
local pool, head, tail = {}, 1, 0

function init(args)
    if kind == "auth" then
        tokens = read_lines(os.getenv("SOAK_ACCESS_TOKENS"))
        assert(#tokens > 0, "SOAK_ACCESS_TOKENS is empty")
    elseif kind == "login" then
        users = read_lines(os.getenv("SOAK_USERS"))
        password = os.getenv("SOAK_PASSWORD")
        assert(#users > 0 and password, "SOAK_USERS / SOAK_PASSWORD missing")
    elseif kind == "refresh" then
        pool = read_lines(os.getenv("SOAK_POOL"))
        head, tail = 1, #pool
    elseif kind == "cc" then
        basic = os.getenv("SOAK_CLIENT_BASIC")
        assert(basic, "SOAK_CLIENT_BASIC missing")
    else
        error("SOAK_KIND must be auth, login, refresh or cc, not '" .. kind .. "'")
    end
    if kind == "login" or kind == "refresh" then
        journal = assert(io.open(os.getenv("SOAK_JOURNAL"), "a"))
        -- Line-buffered: what was written survives wrk being stopped.
        journal:setvbuf("line")
    end
end

function delay()
    return delay_ms
end

local base = "/t/" .. tenant

function request()
    sent = sent + 1
    if kind == "auth" then
        next_index = next_index % #tokens + 1
        return wrk.format("GET", base .. "/auth", {
            ["Authorization"] = "Bearer " .. tokens[next_index],
            ["X-Forwarded-Method"] = "GET",
            ["X-Forwarded-Uri"] = "/soak",
        })
    elseif kind == "login" then
        next_index = next_index % #users + 1
        return wrk.format("POST", base .. "/login", { ["Content-Type"] = "application/json" },
            '{"username":"' .. users[next_index] .. '","password":"' .. password .. '"}')
    elseif kind == "refresh" then
        local token
        if head <= tail then
            token = pool[head]
            pool[head] = nil
            head = head + 1
            -- Written before the request leaves: a token handed out is
            -- never put back, even if its answer never comes (or it is
            -- never sent: wrk calls request() once at start-up only to
            -- check the script, which costs the pool one token).
            journal:write("-", token, "\n")
        else
            -- Never reuse a token: send one the server cannot know, which
            -- answers 400 and so counts as an error.
            pool_empty = pool_empty + 1
            token = "soak-pool-empty"
        end
        return wrk.format("POST", base .. "/token",
            { ["Content-Type"] = "application/x-www-form-urlencoded" },
            "grant_type=refresh_token&refresh_token=" .. form_escape(token))
    else -- cc
        return wrk.format("POST", base .. "/token", {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["Authorization"] = "Basic " .. basic,
        }, "grant_type=client_credentials&scope=read")
    end
end

function response(status, headers, body)
    body = body or ""
    local good = status == 200
    if good and (kind == "login" or kind == "refresh") then
        local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
        if token and body:find('"access_token"', 1, true) then
            journal:write("+", token, "\n")
            if kind == "refresh" then
                tail = tail + 1
                pool[tail] = token
            end
        else
            good = false
        end
    elseif good and kind == "cc" then
        good = body:find('"access_token"', 1, true) ~= nil
    end
    if good then
        ok = ok + 1
    else
        bad = bad + 1
        if #first_bad < 400 then
            first_bad = first_bad .. status .. " " .. body:sub(1, 160) .. " | "
        end
    end
end

-- done() runs in wrk's main Lua state: the counters live in the thread
-- states, so keep the threads to ask them.
local threads = {}

function setup(thread)
    threads[#threads + 1] = thread
end

local function json_string(s)
    return '"' .. s:gsub('[%c"\\]', function(c)
        return string.format("\\u%04x", c:byte())
    end) .. '"'
end

function done(summary, latency, requests)
    local n_ok, n_bad, n_empty, n_sent, firsts = 0, 0, 0, 0, ""
    for _, t in ipairs(threads) do
        n_sent = n_sent + (t:get("sent") or 0)
        n_ok = n_ok + (t:get("ok") or 0)
        n_bad = n_bad + (t:get("bad") or 0)
        n_empty = n_empty + (t:get("pool_empty") or 0)
        firsts = firsts .. (t:get("first_bad") or "")
    end
    local e = summary.errors
    local f = assert(io.open(os.getenv("SOAK_RESULT"), "w"))
    f:write(string.format(
        '{"kind":%s,"sent":%d,"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,"pool_empty":%d,'
            .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"status_errors":%d,'
            .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d},"first_bad":%s}\n',
        json_string(kind), n_sent, summary.requests, summary.duration, n_ok, n_bad, n_empty,
        e.connect, e.read, e.write, e.timeout, e.status,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        json_string(firsts)))
    f:close()
end
