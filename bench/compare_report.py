#!/usr/bin/env python3
"""The report of bench/compare.sh (standard library only).

Reads what one run left in its scratch directory (the raw JSON, every wrk
window's output, the RSS samples, the cold-start JSON, the peer's counters
and the two sides' decoded tokens) and writes the Markdown table and the
JSON document: PREFIX.md and PREFIX.json. The Markdown also goes to stdout.

Usage: compare_report.py SCRATCH_DIR OUT_PREFIX KEY=VALUE...

Exit status 1 if any figure had a non-2xx answer or a socket error: the
numbers are written anyway, and the table says which figure.
"""

import json
import os
import re
import statistics
import sys

GOALS = [
    # key, what, target text, test
    ("cc_es256_vs_peer", "client credentials ES256: Gatehouse / oidc-provider", ">= 5", lambda v: v >= 5),
    ("cc_es256_rate", "client credentials ES256, one server core (req/s)", ">= 10 000", lambda v: v >= 10_000),
    ("auth_rs256_vs_healthz", "/auth RS256 (repeat token) / /healthz", ">= 0.8", lambda v: v >= 0.8),
    ("auth_first_sight_vs_raw_verify", "/auth RS256 (first sight) / raw RS256 verify, 1 thread", ">= 0.7",
     lambda v: v >= 0.7),
    ("login_vs_argon2_hash", "/login / raw argon2id hash, 1 thread", ">= 0.9", lambda v: v >= 0.9),
    ("cold_start_ms", "cold start to first /healthz, existing SQLite (ms, median)", "< 20", lambda v: v < 20),
]


def latency_ms(text):
    """wrk's latency ("850.00us", "1.23ms", "1.02s", "2.00m") in ms."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(path):
    text = open(path).read()

    def number(pattern, default=None):
        match = re.search(pattern, text)
        return float(match.group(1)) if match else default

    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    window = {
        "rps": number(r"Requests/sec:\s+([\d.]+)", 0.0),
        "requests": int(number(r"(\d+) requests in", 0)),
        "seconds": latency_ms(re.search(r"requests in ([\d.]+\w+),", text).group(1)) / 1000
        if re.search(r"requests in ([\d.]+\w+),", text) else None,
        "non_2xx": int(number(r"Non-2xx or 3xx responses:\s+(\d+)", 0)),
        "socket_errors": sum(int(g) for g in socket.groups()) if socket else 0,
    }
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", text, re.M)
        window[f"p{pct}_ms"] = latency_ms(match.group(1)) if match else None
    first_sight = re.search(r"^first_sight offset=(\d+) wrapped=(\d+) sent=(\d+)", text, re.M)
    if first_sight:
        window["first_sight"] = {"offset": int(first_sight.group(1)), "wrapped": int(first_sight.group(2)),
                                 "sent": int(first_sight.group(3))}
    return window


def median_of(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def load_rss(path):
    samples = []
    if os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if len(parts) == 2:
                samples.append((float(parts[0]), int(parts[1])))
    return samples


def load_figures(tmp):
    figures = []
    for line in open(f"{tmp}/figures.tsv"):
        name, side, conns, url, t0, t1, rss_file = line.rstrip("\n").split("\t")
        rss = load_rss(f"{tmp}/{rss_file}")
        windows = []
        i = 1
        while os.path.exists(f"{tmp}/wrk/{name}.{i}"):
            windows.append(parse_wrk(f"{tmp}/wrk/{name}.{i}"))
            i += 1
        warmup = parse_wrk(f"{tmp}/wrk/{name}.warmup")
        in_window = [kib for t, kib in rss if float(t0) <= t <= float(t1)]
        figures.append({
            "figure": name,
            "server": side,
            "url": url,
            "connections": int(conns),
            "rps_median": median_of(w["rps"] for w in windows),
            "p50_ms": median_of(w["p50_ms"] for w in windows),
            "p99_ms": median_of(w["p99_ms"] for w in windows),
            "non_2xx": sum(w["non_2xx"] for w in windows) + warmup["non_2xx"],
            "socket_errors": sum(w["socket_errors"] for w in windows) + warmup["socket_errors"],
            "windows": windows,
            "warmup": warmup,
            "rss_max_kib": max(in_window) if in_window else None,
        })
    return figures


def fmt_rate(v):
    return "n/a" if v is None else f"{v:,.0f}".replace(",", " ")


def fmt_ms(v):
    return "n/a" if v is None else (f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms")


def fmt_mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    tmp, prefix = sys.argv[1], sys.argv[2]
    meta = dict(arg.split("=", 1) for arg in sys.argv[3:])
    facts = {}
    for line in open(f"{tmp}/facts.tsv"):
        key, _, value = line.rstrip("\n").partition("\t")
        facts[key] = value
    raw = json.load(open(f"{tmp}/raw.json"))
    cold = json.load(open(f"{tmp}/coldstart.json"))
    figures = load_figures(tmp)
    by_name = {f["figure"]: f for f in figures}
    raw_alg = {a["algorithm"]: a for a in raw["algorithms"]}

    def rps(name):
        return by_name[name]["rps_median"] if name in by_name else None

    # ---- first sight: how many distinct tokens, presented how often -------
    fs = by_name.get("auth_RS256_first_sight")
    first_sight = None
    if fs:
        parts = [fs["warmup"]] + fs["windows"]
        sent = sum(w.get("first_sight", {}).get("sent", 0) for w in parts)
        wrapped = sum(w.get("first_sight", {}).get("wrapped", 0) for w in parts)
        distinct = int(facts.get("first_sight_tokens", 0))
        first_sight = {
            "distinct_tokens": distinct,
            "tokens_wanted": int(facts.get("first_sight_needed", 0)),
            "mint_secs": int(facts.get("first_sight_mint_secs", 0)),
            # One token went to the check before the warm-up.
            "presented": sent + 1,
            "repeated": wrapped > 0 or sent + 1 > distinct,
        }

    # ---- the peer --------------------------------------------------------
    peer = {"node": facts.get("node_version"), "algorithms": {}}
    for alg in meta.get("peer_algs", "").split():
        def stats(kind):
            path = f"{tmp}/peer-{alg}-stats-{kind}.json"
            return json.load(open(path)) if os.path.exists(path) else None
        before, sanity, after = stats("before"), stats("sanity"), stats("after")
        if not after:
            continue
        peer["oidc_provider"] = after.get("oidc_provider")
        fig = by_name.get(f"peer_cc_{alg}")
        grants = sum(w["requests"] for w in [fig["warmup"]] + fig["windows"]) if fig else None
        peer["algorithms"][alg] = {
            "adapter_upserts_in_5_grants": sanity["adapter_calls"]["upsert"] - before["adapter_calls"]["upsert"],
            "adapter_calls_total": after["adapter_calls"],
            "stored_entries_after": after["stored_entries"],
            "grants_during_figure": grants,
            "rss_idle_kib": int(facts.get(f"peer_rss_idle_kib_{alg}", 0)) or None,
            "rss_loaded_max_kib": fig["rss_max_kib"] if fig else None,
            "rss_after_kib": int(facts.get(f"peer_rss_after_kib_{alg}", 0)) or None,
        }

    # ---- the tokens both sides issue ----------------------------------------
    tokens = {}
    for side in ("gatehouse", "peer"):
        for alg in ("ES256", "RS256"):
            path = f"{tmp}/token-{side}-{alg}.json"
            if os.path.exists(path):
                tokens[f"{side}_{alg}"] = json.load(open(path))

    # ---- goals ------------------------------------------------------------
    values = {
        "cc_es256_vs_peer": ratio(rps("cc_ES256"), rps("peer_cc_ES256")),
        "cc_es256_rate": rps("cc_ES256"),
        "auth_rs256_vs_healthz": ratio(rps("auth_RS256"), rps("healthz")),
        "auth_first_sight_vs_raw_verify": ratio(rps("auth_RS256_first_sight"),
                                                raw_alg.get("RS256", {}).get("verify_1t", {}).get("median")),
        "login_vs_argon2_hash": ratio(rps("login"), raw["argon2_hash_1t"]["median"]),
        "cold_start_ms": cold.get("first_ok_ms_median"),
    }
    inputs = {
        "cc_es256_vs_peer": ["cc_ES256", "peer_cc_ES256"],
        "cc_es256_rate": ["cc_ES256"],
        "auth_rs256_vs_healthz": ["auth_RS256", "healthz"],
        "auth_first_sight_vs_raw_verify": ["auth_RS256_first_sight"],
        "login_vs_argon2_hash": ["login"],
        "cold_start_ms": [],
    }
    goals = []
    for key, what, target, test in GOALS:
        value = values[key]
        bad = [n for n in inputs[key] if n in by_name and (by_name[n]["non_2xx"] or by_name[n]["socket_errors"])]
        if value is None:
            result = "not measured"
        elif bad:
            result = f"INVALID (errors in {', '.join(bad)})"
        elif key == "auth_first_sight_vs_raw_verify" and first_sight and first_sight["repeated"]:
            result = "INVALID (tokens repeated)"
        else:
            result = "pass" if test(value) else "MISS"
        goals.append({"goal": key, "what": what, "value": value, "target": target, "result": result})

    quick = meta.get("quick") == "1"
    ours = [f for f in figures if f["server"] == "gatehouse"]
    failed = [f for f in figures if f["non_2xx"] or f["socket_errors"]]
    doc = {
        "timestamp": meta.get("timestamp"),
        "quick": quick,
        "meta": meta,
        "settings": {k: meta.get(k) for k in ("duration", "repeats", "warmup", "connections",
                                              "login_connections", "raw_duration", "raw_repeats", "cold_runs")},
        "pinning": {"servers_cpu": 0, "wrk_cpu": 1, "wrk_threads": 1, "raw_cpu": 0},
        "goals": goals,
        "figures": figures,
        "raw_one_thread": raw,
        "memory": {
            "rss_idle_kib": int(facts["rss_idle_kib"]),
            "rss_loaded_max_kib": max((f["rss_max_kib"] or 0) for f in ours) or None,
            "rss_loaded_max_figure": max(ours, key=lambda f: f["rss_max_kib"] or 0)["figure"],
            "rss_after_kib": int(facts["rss_after_kib"]),
        },
        "binary_bytes": int(facts["binary_bytes"]),
        "cold_start": cold,
        "first_sight": first_sight,
        "peer": peer,
        "tokens": tokens,
        "loadavg": {"start": facts.get("loadavg_start"), "end": facts.get("loadavg_end")},
        "failed_figures": [f["figure"] for f in failed],
    }
    with open(f"{prefix}.json", "w") as out:
        json.dump(doc, out, indent=2)
        out.write("\n")

    # ---- Markdown -----------------------------------------------------------
    md = [f"# Gatehouse side by side, {meta.get('timestamp')}", ""]
    if quick:
        md += [f"**Quick run (`--quick`, {meta.get('profile')} build): it proves the script works; "
               "the numbers measure nothing.**", ""]
    if failed:
        md += ["**NON-2XX OR SOCKET ERRORS in: " + ", ".join(
            f"{f['figure']} ({f['non_2xx']} non-2xx, {f['socket_errors']} socket errors)" for f in failed)
            + ". Those figures do not count.**", ""]
    node_major = re.match(r"v(\d+)", peer.get("node") or "")
    if node_major and int(node_major.group(1)) < 22:
        md += [f"Note: oidc-provider 9 supports Node.js 22 LTS or later and warns \"Unsupported runtime\" on "
               f"{peer['node']} (it runs); `PEER_NODE=/path/to/node` chooses another node.", ""]
    md += [
        f"commit {meta.get('commit')}; {meta.get('cpu')}; {meta.get('profile')} binaries ({meta.get('binaries')}); "
        f"{meta.get('rustc')}; {meta.get('wrk')}; node {peer.get('node')}, oidc-provider {peer.get('oidc_provider')}",
        "",
        f"Servers on CPU 0, wrk (`-t1`) on CPU 1. Every HTTP figure: {meta.get('warmup')} s warm-up discarded, "
        f"then {meta.get('repeats')} x {meta.get('duration')} s windows, median; {meta.get('connections')} connections "
        f"(/login: {meta.get('login_connections')}). Raw: one thread on CPU 0, "
        f"{meta.get('raw_repeats')} x {meta.get('raw_duration')} s, median. Load average at start / end: "
        f"{facts.get('loadavg_start')} / {facts.get('loadavg_end')}.",
        "",
        "## Goals",
        "",
        "| goal | value | target | result |",
        "|---|---|---|---|",
    ]
    for g in goals:
        value = g["value"]
        shown = "n/a" if value is None else (fmt_rate(value) if g["goal"] == "cc_es256_rate"
                                             else f"{value:.1f}" if g["goal"] == "cold_start_ms" else f"{value:.2f}")
        result = g["result"] if g["result"] in ("pass", "not measured") else f"**{g['result']}**"
        md.append(f"| {g['what']} | {shown} | {g['target']} | {result} |")
    md += ["", "## HTTP", "",
           "| figure | server | conns | req/s (median) | windows req/s | p50 | p99 | non-2xx | socket errors | max RSS |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for f in figures:
        non2xx = f"**{f['non_2xx']}**" if f["non_2xx"] else "0"
        errors = f"**{f['socket_errors']}**" if f["socket_errors"] else "0"
        name = f["figure"]
        if name == "auth_RS256_first_sight" and first_sight:
            name += f" ({first_sight['distinct_tokens']} tokens" + (
                ", **REPEATED**)" if first_sight["repeated"] else ", none repeated)")
        md.append(f"| {name} | {f['server']} | {f['connections']} | {fmt_rate(f['rps_median'])} | "
                  f"{' / '.join(fmt_rate(w['rps']) for w in f['windows'])} | {fmt_ms(f['p50_ms'])} | "
                  f"{fmt_ms(f['p99_ms'])} | {non2xx} | {errors} | {fmt_mib(f['rss_max_kib'])} |")
    md += ["", "## Raw, one thread on CPU 0", "", "| algorithm | sign/s | verify/s | token bytes |", "|---|---|---|---|"]
    for a in raw["algorithms"]:
        md.append(f"| {a['algorithm']} | {fmt_rate(a['sign_1t']['median'])} | {fmt_rate(a['verify_1t']['median'])} | "
                  f"{a['token_bytes']} |")
    p = raw["argon2"]
    md += ["", f"argon2id (m = {p['memory_kib']} KiB, t = {p['iterations']}, p = {p['parallelism']}): "
               f"hash {raw['argon2_hash_1t']['median']:.1f}/s, verify {raw['argon2_verify_1t']['median']:.1f}/s. "
               f"Other processes' CPU use during the raw runs: at most "
               + ("n/a" if raw.get("other_cpu_share") is None else f"{raw['other_cpu_share'] * 100:.0f} %") + "."]
    mem = doc["memory"]
    md += ["", "## Memory, size, start", "", "| quantity | value |", "|---|---|",
           f"| Gatehouse RSS idle (after set-up, before load) | {fmt_mib(mem['rss_idle_kib'])} |",
           f"| Gatehouse RSS loaded (max, sampled every 100 ms; in {mem['rss_loaded_max_figure']}) | "
           f"{fmt_mib(mem['rss_loaded_max_kib'])} |",
           f"| Gatehouse RSS after the load | {fmt_mib(mem['rss_after_kib'])} |",
           f"| `gatehouse` binary ({meta.get('profile')}) | {doc['binary_bytes'] / 1e6:.1f} MB |",
           f"| cold start to first /healthz, existing SQLite (median of {cold.get('runs')}; min, max) | "
           f"{cold['first_ok_ms_median']:.1f} ms ({cold['first_ok_ms_min']:.1f}, {cold['first_ok_ms_max']:.1f}) |",
           f"| RSS at that first answer (median) | {fmt_mib(cold.get('rss_kib_median'))} |"]
    for alg, p_alg in peer["algorithms"].items():
        md.append(f"| oidc-provider ({alg}) RSS idle / loaded (max) / after its figure | "
                  f"{fmt_mib(p_alg['rss_idle_kib'])} / {fmt_mib(p_alg['rss_loaded_max_kib'])} / "
                  f"{fmt_mib(p_alg['rss_after_kib'])} |")
    md += ["", "## Fairness checks", ""]
    if first_sight:
        md.append(f"- /auth first sight: {first_sight['distinct_tokens']} distinct client-credentials tokens "
                  f"(wanted {first_sight['tokens_wanted']}, minted in {first_sight['mint_secs']} s), "
                  f"{first_sight['presented']} presented: "
                  + ("**tokens repeated** (the file wrapped), so this figure is not first sight."
                     if first_sight["repeated"] else "no token presented twice."))
    for alg, p_alg in peer["algorithms"].items():
        md.append(f"- oidc-provider {alg}: adapter writes during 5 grants: {p_alg['adapter_upserts_in_5_grants']}; "
                  f"during the whole figure ({p_alg['grants_during_figure']} grants answered): "
                  f"{p_alg['adapter_calls_total']['upsert']} writes, {p_alg['stored_entries_after']} entries stored.")
    if tokens:
        claims = ["iss", "sub", "aud", "scope", "client_id", "jti", "iat", "exp", "nbf"]
        columns = list(tokens)
        md += ["", "Each side's client-credentials token, verified with `jose` against its JWKS:", "",
               "| claim | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        for c in ["typ (header)", "kid (header)"] + claims + ["lifetime (exp - iat)"]:
            row = []
            for col in columns:
                t = tokens[col]
                if c.endswith("(header)"):
                    v = t["header"].get(c.split()[0])
                elif c.startswith("lifetime"):
                    v = t["payload"]["exp"] - t["payload"]["iat"]
                else:
                    v = t["payload"].get(c)
                    if c in ("jti", "iat", "exp", "nbf") and v is not None:
                        v = "yes"
                row.append("-" if v is None else f"`{v}`" if c not in ("jti", "iat", "exp", "nbf") else v)
            md.append(f"| {c} | " + " | ".join(str(x) for x in row) + " |")
        lifetimes = {t["payload"]["exp"] - t["payload"]["iat"] for t in tokens.values()}
        md.append("")
        md.append("Access-token lifetime: " + ("the same on both sides." if len(lifetimes) == 1
                                              else f"**DIFFERS** ({sorted(lifetimes)}): the comparison is not fair."))
        extra = {col: sorted(set(t["payload"]) - set(claims)) for col, t in tokens.items()}
        md.append("")
        md.append("Other claims: " + "; ".join(f"{col}: {', '.join(v) or 'none'}" for col, v in extra.items()) + ".")
    md += ["", f"Results: `{os.path.relpath(prefix)}.json` (every window, sample and setting) and `.md`."]
    text = "\n".join(md) + "\n"
    with open(f"{prefix}.md", "w") as out:
        out.write(text)
    sys.stdout.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
