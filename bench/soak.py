#!/usr/bin/env python3
"""Helper of bench/soak.sh (standard library only; run by the script).

  setup    users, a confidential client, refresh-token pool, /auth sessions
  sample   the server's VmRSS, open fds and CPU time every N seconds
  between  after a window: rebuild the refresh pool from the wrk journals
           and check no refresh token was presented twice
  auth-refresh  during a window: refresh the /auth sessions, so their
           access tokens never expire whatever the soak's length
  report   the Markdown and JSON report of every backend; exit 1 if a
           verdict fails

Only loopback URLs are used and proxies are ignored.
"""

import argparse
import base64
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# Never through a proxy: this only ever talks to a server on this machine.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

KINDS = ["auth", "login", "refresh", "cc"]
SETTLE_SECS = 1.0


def call(method, url, body=None, headers=None, form=False):
    """One request; returns (status, parsed JSON or text)."""
    headers = dict(headers or {})
    data = None
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with OPENER.open(request, timeout=30) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def expect(what, status, body, ok=(200,)):
    if status not in ok:
        sys.exit(f"soak.py: {what} answered {status}: {str(body)[:300]}")
    return body


def write_lines(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")


def read_lines(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def login(base, tenant, username, password):
    status, body = call("POST", f"{base}/t/{tenant}/login", {"username": username, "password": password})
    body = expect(f"login of {username}", status, body)
    return body["access_token"], body["refresh_token"]


def refresh(base, tenant, token):
    """A refresh grant as the first-party client; None on any failure."""
    status, body = call(
        "POST", f"{base}/t/{tenant}/token", {"grant_type": "refresh_token", "refresh_token": token}, form=True
    )
    if status != 200 or not isinstance(body, dict) or "refresh_token" not in body:
        return None, f"{status} {str(body)[:200]}"
    return (body["access_token"], body["refresh_token"]), None


def cmd_setup(a):
    d, base, tenant = a.dir, a.base, a.tenant
    admin = {"Authorization": f"Bearer {a.admin_token}"}
    password = secrets.token_urlsafe(18)
    run = secrets.token_hex(3)
    users = [f"soak-{run}-{i}" for i in range(a.users)]
    for user in users:
        status, body = call("POST", f"{base}/t/{tenant}/register", {"username": user, "password": password})
        expect(f"register {user}", status, body, ok=(200, 201))
    status, client = call(
        "POST",
        f"{base}/admin/t/{tenant}/clients",
        {"name": "soak", "type": "confidential", "grants": ["client_credentials"], "scopes": ["read"]},
        headers=admin,
    )
    client = expect("client creation", status, client, ok=(200, 201))
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    # Check the grant once before any load: the wrk script only counts.
    status, body = call(
        "POST",
        f"{base}/t/{tenant}/token",
        {"grant_type": "client_credentials", "scope": "read"},
        headers={"Authorization": f"Basic {basic}"},
        form=True,
    )
    expect("client_credentials grant", status, body)
    pool = [login(base, tenant, users[i % len(users)], password)[1] for i in range(a.pool)]
    sessions = [login(base, tenant, users[i % len(users)], password) for i in range(a.auth_tokens)]
    # /auth must say yes to these tokens before the load starts.
    status, body = call(
        "GET", f"{base}/t/{tenant}/auth", headers={"Authorization": f"Bearer {sessions[0][0]}"}
    )
    expect("/auth with a fresh access token", status, body)
    write_lines(f"{d}/users.txt", users)
    write_lines(f"{d}/password.txt", [password])
    write_lines(f"{d}/client_basic.txt", [basic])
    write_lines(f"{d}/pool.txt", pool)
    write_lines(f"{d}/access.txt", [s[0] for s in sessions])
    write_lines(f"{d}/auth_refresh.txt", [s[1] for s in sessions])
    write_lines(f"{d}/presented.txt", [])
    print(f"{len(users)} users, {len(pool)} refresh tokens in the pool, {len(sessions)} /auth sessions")


def cmd_sample(a):
    """Every `every` seconds: epoch, VmRSS KiB, open fds, utime+stime ticks."""
    pid, out = a.pid, open(a.out, "a", buffering=1)
    start = time.monotonic()
    n = 0
    while True:
        try:
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            with open(f"/proc/{pid}/stat") as f:
                # Fields after the command name, which is in parentheses.
                fields = f.read().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])
        except (OSError, StopIteration, IndexError, ValueError):
            return  # the server is gone
        out.write(f"{time.time():.3f} {rss} {fds} {ticks}\n")
        n += 1
        # A fixed schedule, so the samples do not drift with their own cost.
        time.sleep(max(0.0, start + n * a.every - time.monotonic()))


def cmd_between(a):
    d, k = a.dir, a.window
    presented_before = set(read_lines(f"{d}/presented.txt"))
    old_pool = read_lines(f"{d}/pool.txt")
    refresh_journal = read_lines(f"{d}/refresh-{k}.journal")
    login_journal = read_lines(f"{d}/login-{k}.journal")
    presented_now, received = [], []
    for line in refresh_journal:
        (presented_now if line[0] == "-" else received).append(line[1:])
    from_logins = [line[1:] for line in login_journal if line[0] == "+"]
    # The rule the server enforces: a refresh token is good once. A second
    # presentation would revoke the whole session (and fail later refreshes).
    seen, reused = set(presented_before), 0
    known = set(old_pool) | set(received)
    unknown = 0
    for token in presented_now:
        if token in seen:
            reused += 1
        seen.add(token)
        if token not in known:
            unknown += 1
    pool = [t for t in old_pool + received if t not in seen] + [t for t in from_logins if t not in seen]
    write_lines(f"{d}/pool.txt", pool)
    with open(f"{d}/presented.txt", "a") as f:
        for token in presented_now:
            f.write(token + "\n")

    with open(f"{d}/between-{k}.json", "w") as f:
        json.dump(
            {
                "window": k,
                "pool_before": len(old_pool),
                "presented": len(presented_now),
                "received_refresh": len(received),
                "received_login": len(from_logins),
                "pool_after": len(pool),
                "reused": reused,
                "unknown": unknown,
            },
            f,
        )


def cmd_auth_refresh(a):
    """Refreshes the /auth sessions; runs beside a window's wrk processes,
    so the pause between windows stays short. Access tokens are stateless,
    so the old ones stay valid until they expire (15 minutes by default);
    the new ones are swapped in atomically for the next window."""
    d, k = a.dir, a.window
    access, rotated, errors = [], [], []
    old_access = read_lines(f"{d}/access.txt")
    for i, token in enumerate(read_lines(f"{d}/auth_refresh.txt")):
        pair, err = refresh(a.base, a.tenant, token)
        if pair:
            access.append(pair[0])
            rotated.append(pair[1])
        else:
            errors.append(err)
            access.append(old_access[i])
            rotated.append(token)  # unusable now; the error is reported
    write_lines(f"{d}/access.next", access)
    os.replace(f"{d}/access.next", f"{d}/access.txt")
    write_lines(f"{d}/auth_refresh.txt", rotated)
    with open(f"{d}/auth-refresh-{k}.json", "w") as f:
        json.dump({"window": k, "refreshed": len(rotated) - len(errors), "errors": errors}, f)


# ----------------------------------------------------------------- report


def mean(xs):
    return sum(xs) / len(xs) if xs else None


def load_backend(d, clk_tck):
    meta = json.load(open(f"{d}/meta.json"))
    windows = []
    for line in read_lines(f"{d}/windows.txt"):
        k, start, end, t0, t1 = line.split()
        windows.append({"window": int(k), "start": float(start), "end": float(end),
                        "server_cpu": (int(t1) - int(t0)) / clk_tck / (float(end) - float(start))})
    samples = []
    for line in read_lines(f"{d}/samples.txt"):
        t, rss, fds, ticks = line.split()
        samples.append({"t": float(t), "rss_kib": int(rss), "fds": int(fds), "ticks": int(ticks)})
    for before, w in zip(windows, windows[1:]):
        w["pause_before_secs"] = round(w["start"] - before["end"], 2)
    origin = windows[0]["start"] if windows else 0.0
    for s in samples:
        s["t_rel"] = round(s["t"] - origin, 1)
    for w in windows:
        k = w["window"]
        w["kinds"] = {}
        for kind in KINDS:
            try:
                r = json.load(open(f"{d}/wrk-{k}-{kind}.json"))
                # At the end of a window each connection may have one
                # request in flight, dropped by wrk unanswered; wrk also
                # calls request() once at start-up without sending it.
                # More than that unanswered means answers went missing
                # (a connection closed under a request is not an error
                # to wrk).
                r["unanswered"] = r["sent"] - 1 - r["requests"]
                r["lost"] = max(0, r["unanswered"] - int(read_lines(f"{d}/connections-{kind}")[0]))
                w["kinds"][kind] = r
            except (OSError, ValueError, KeyError, IndexError):
                # wrk died before done(): that is an error of the soak.
                w["kinds"][kind] = None
        for key, name in (("between", "between"), ("auth_refresh", "auth-refresh")):
            try:
                w[key] = json.load(open(f"{d}/{name}-{k}.json"))
            except (OSError, ValueError):
                w[key] = None
        # Only samples taken under load count: from SETTLE_SECS after the
        # window's wrk processes started. Between windows the load pauses
        # (the pool is rebuilt, the /auth sessions refreshed); on a busy
        # machine that pause can pass 1 s, after which the hashing worker
        # returns its idle argon2 buffer (about 19 MiB), and a sample there
        # measures the pause, not the soak.
        inside = [s for s in samples if w["start"] + SETTLE_SECS <= s["t"] <= w["end"]]
        w["rss_kib"] = [s["rss_kib"] for s in inside]
        w["fds"] = [s["fds"] for s in inside]
        w["errors"] = window_errors(w)
    return meta, windows, samples


def kind_errors(r):
    if r is None:
        return 1
    s = r["socket_errors"]
    # `bad` already holds every non-200 (wrk's status errors are a subset).
    return r["bad"] + s["connect"] + s["read"] + s["write"] + s["timeout"] + r["lost"]


def window_errors(w):
    n = sum(kind_errors(w["kinds"][k]) for k in KINDS)
    b, r = w["between"], w["auth_refresh"]
    n += 1 if b is None else b["reused"] + b["unknown"]
    n += 1 if r is None else len(r["errors"])
    return n


def verdicts(windows, fd_slack):
    out = []
    errors = sum(w["errors"] for w in windows)
    out.append({"name": "errors == 0", "value": errors, "pass": errors == 0})
    if len(windows) >= 2:
        second, last = windows[1], windows[-1]
        r2, rl = mean(second["rss_kib"]), mean(last["rss_kib"])
        if r2 and rl:
            ratio = rl / r2
            out.append({"name": f"RSS mean of window {last['window']} / window {second['window']} <= 1.1",
                        "value": round(ratio, 3), "pass": ratio <= 1.1})
        else:
            out.append({"name": "RSS ratio", "value": None, "pass": False,
                        "why": "no RSS sample inside the second or the last window"})
        f2, fl = max(second["fds"], default=None), max(last["fds"], default=None)
        if f2 is not None and fl is not None:
            out.append({"name": f"open fds not growing: max of window {last['window']} <= max of window "
                                f"{second['window']} + {fd_slack}",
                        "value": f"{fl} vs {f2}", "pass": fl <= f2 + fd_slack})
        else:
            out.append({"name": "open fds", "value": None, "pass": False, "why": "no fd sample in a window"})
    else:
        out.append({"name": "RSS and fds", "value": None, "pass": False,
                    "why": "needs at least 2 windows (second against last)"})
    return out


def ms(us):
    return f"{us / 1000:.2f}"


def backend_markdown(name, meta, windows, samples, checks):
    lines = [f"## {name}", ""]
    lines.append(f"{meta['windows']} windows of {meta['window_secs']} s, samples every {meta['sample_secs']} s; "
                 f"server on CPU 0 ({meta['database']}), wrk on CPU 1.")
    lines.append("")
    lines.append("| kind | requests | per s | errors | p50 ms (median of windows) | p99 ms (worst window) |")
    lines.append("|---|---|---|---|---|---|")
    secs = sum(w["end"] - w["start"] for w in windows) or 1
    total_req = total_err = 0
    for kind in KINDS:
        rs = [w["kinds"][kind] for w in windows]
        req = sum(r["requests"] for r in rs if r)
        err = sum(kind_errors(r) for r in rs)
        p50s = sorted(r["latency_us"]["p50"] for r in rs if r)
        p50 = ms(p50s[len(p50s) // 2]) if p50s else "-"
        p99 = ms(max((r["latency_us"]["p99"] for r in rs if r), default=0))
        total_req += req
        total_err += err
        lines.append(f"| {kind} | {req} | {req / secs:.1f} | {err} | {p50} | {p99} |")
    other = sum(w["errors"] for w in windows) - total_err
    lines.append(f"| **total** | {total_req} | {total_req / secs:.1f} | {total_err + other} | | |")
    if other:
        lines.append("")
        lines.append(f"{other} of the errors are refresh tokens presented twice or unknown, "
                     "a failed /auth session refresh, or a wrk process or between-window step "
                     "that left no result (see the JSON).")
    lines.append("")
    lines.append("| window | " + " | ".join(f"{k} req / p99 / max ms" for k in KINDS)
                 + " | errors | server CPU | pause before | refresh pool | RSS MiB (samples) | fds (samples) |")
    lines.append("|---" * (len(KINDS) + 7) + "|")
    for w in windows:
        cells = []
        for kind in KINDS:
            r = w["kinds"][kind]
            cells.append(f"{r['requests']} / {ms(r['latency_us']['p99'])} / {ms(r['latency_us']['max'])}"
                         if r else "missing")
        pool = w["between"]["pool_after"] if w["between"] else "-"
        rss = " ".join(f"{x / 1024:.1f}" for x in w["rss_kib"])
        fds = " ".join(str(x) for x in w["fds"])
        pause = f"{w['pause_before_secs']:.2f} s" if "pause_before_secs" in w else "-"
        lines.append(f"| {w['window']} | " + " | ".join(cells)
                     + f" | {w['errors']} | {w['server_cpu'] * 100:.0f} % | {pause} | {pool} | {rss} | {fds} |")
    lines.append("")
    for c in checks:
        mark = "PASS" if c["pass"] else "FAIL"
        why = f" ({c['why']})" if c.get("why") else ""
        lines.append(f"- **{mark}** {c['name']}: {c['value']}{why}")
    firsts = [f"window {w['window']} {k}: {w['kinds'][k]['first_bad']}"
              for w in windows for k in KINDS if w["kinds"][k] and w["kinds"][k]["first_bad"]]
    if firsts:
        lines.append("")
        lines.append("First unexpected answers:")
        lines.extend(f"- `{f[:300]}`" for f in firsts[:8])
    lines.append("")
    return lines


def cmd_report(a):
    clk_tck = os.sysconf("SC_CLK_TCK")
    meta_run = json.loads(a.meta)
    md = [f"# Soak {meta_run['timestamp']}", ""]
    md.append(f"commit {meta_run['commit']}, {meta_run['cpu']}, binaries {meta_run['binaries']}.")
    md.append(f"Mix per wrk process (connections x delay after each answer): {meta_run['mix']}.")
    md.append("")
    result = {**meta_run, "backends": {}}
    failed = False
    for d in a.backend_dirs:
        meta, windows, samples = load_backend(d, clk_tck)
        checks = verdicts(windows, a.fd_slack)
        failed |= not all(c["pass"] for c in checks)
        md.extend(backend_markdown(meta["backend"], meta, windows, samples, checks))
        result["backends"][meta["backend"]] = {
            **meta,
            "windows": windows,
            "samples": [{"t": s["t_rel"], "rss_kib": s["rss_kib"], "fds": s["fds"]} for s in samples],
            "verdicts": checks,
            "pass": all(c["pass"] for c in checks),
        }
    result["pass"] = not failed
    md.append(f"**Overall: {'PASS' if not failed else 'FAIL'}**")
    text = "\n".join(md) + "\n"
    open(a.out_md, "w").write(text)
    json.dump(result, open(a.out_json, "w"), indent=2)
    sys.stdout.write(text)
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--base", required=True)
    s.add_argument("--tenant", default="default")
    s.add_argument("--admin-token", required=True)
    s.add_argument("--dir", required=True)
    s.add_argument("--users", type=int, default=8)
    s.add_argument("--pool", type=int, default=32)
    s.add_argument("--auth-tokens", type=int, default=8)
    s = sub.add_parser("sample")
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--every", type=float, required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("between")
    s.add_argument("--base", required=True)
    s.add_argument("--tenant", default="default")
    s.add_argument("--dir", required=True)
    s.add_argument("--window", type=int, required=True)
    s = sub.add_parser("auth-refresh")
    s.add_argument("--base", required=True)
    s.add_argument("--tenant", default="default")
    s.add_argument("--dir", required=True)
    s.add_argument("--window", type=int, required=True)
    s = sub.add_parser("report")
    s.add_argument("--meta", required=True, help="JSON object of run-wide facts")
    s.add_argument("--out-md", required=True)
    s.add_argument("--out-json", required=True)
    s.add_argument("--fd-slack", type=int, default=2)
    s.add_argument("backend_dirs", nargs="+")
    a = p.parse_args()
    if a.cmd != "report" and getattr(a, "base", "http://127.0.0.1").split("/")[2].split(":")[0] != "127.0.0.1":
        sys.exit("soak.py: only http://127.0.0.1 is allowed")
    commands = {"setup": cmd_setup, "sample": cmd_sample, "between": cmd_between,
                "auth-refresh": cmd_auth_refresh, "report": cmd_report}
    return commands[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main() or 0)
