"""The summary of the runs, the targets and the Markdown table (bench/run.py)."""

from __future__ import annotations

import statistics
from collections import Counter

NGINX = " via nginx"
# (run, figure, comparison, target): "ratio" is handled req/s over the yardstick's
TARGETS = [
    ("slots", "ratio", "≥", 0.08),
    ("booking", "ratio", "≥", 0.15),
    ("slots+booking", "ratio", "≥", 0.08),
    ("slots+booking", "p99_ms", "<", 250),
    ("slots+booking via nginx", "ratio", "≥", 0.50),
]
REFUSED = {"429", "503"}  # by nginx's rate limit or an overloaded server


def yardstick(kind: str) -> str:
    return "bare" + NGINX if kind.endswith(NGINX) else "bare"


def summarise(runs: list[dict]) -> dict:
    """Medians per kind; each run's ratio is its handled req/s over the mean of the
    yardstick runs just before and after it."""
    summary = {}
    for kind in dict.fromkeys(r["kind"] for r in runs):
        mine = [r for r in runs if r["kind"] == kind]
        entry = {
            "runs": len(mine),
            "rps": round(statistics.median(r["handled_rps"] for r in mine), 1),
            "p50_ms": statistics.median(r["latency_ms"]["p50"] or 0 for r in mine),
            "p99_ms": statistics.median(r["latency_ms"]["p99"] or 0 for r in mine),
            "gunicorn_cpu_ms_per_request": statistics.median(
                r["gunicorn_cpu_ms_per_request"] for r in mine),
            "statuses": dict(sum((Counter(r["statuses"]) for r in mine), Counter())),
            "cache_statuses": dict(sum((Counter(r["cache_statuses"]) for r in mine),
                                       Counter())),
        }
        if "bookings" in mine[0]:
            entry["booking_rps"] = round(statistics.median(
                r["bookings"]["handled_rps"] for r in mine), 1)
            entry["booking_statuses"] = dict(sum(
                (Counter(r["bookings"]["statuses"]) for r in mine), Counter()))
        if kind != yardstick(kind):
            bare = [r for r in runs if r["kind"] == yardstick(kind)]
            ratios = []
            for r in mine:
                neighbours = ([b for b in bare if b["index"] < r["index"]][-1:]
                              + [b for b in bare if b["index"] > r["index"]][:1])
                ratios.append(r["handled_rps"] / statistics.mean(
                    b["handled_rps"] for b in neighbours))
            entry["ratio_per_run"] = [round(x, 4) for x in ratios]
            entry["ratio"] = round(statistics.median(ratios), 4)
        summary[kind] = entry
    return summary


def checks(report: dict) -> list[dict]:
    """Every target with its figure and verdict."""
    s, rows = report["summary"], []
    for kind, figure, comparison, target in TARGETS:
        if kind in s:
            value = s[kind][figure]
            ok = value >= target if comparison == "≥" else value < target
            rows.append(dict(run=kind, figure=figure, value=value, comparison=comparison,
                             target=target, ok=ok))
    r = report.get("race")
    if r:
        rows.append(dict(run="race", figure="201", value=r["statuses"].get("201", 0),
                         comparison="=", target=r["free_before"], ok=r["ok"]))
        rows.append(dict(run="race", figure="overbooked", value=len(report["overbooked"]),
                         comparison="=", target=0, ok=not report["overbooked"]))
    return rows


def markdown(report: dict) -> str:
    s = report["summary"]
    verdicts = {(c["run"], c["figure"]): c for c in checks(report)}

    def statuses(st: dict) -> str:
        return ", ".join(f"{n:,} × {code}" for code, n in sorted(st.items()))

    def cell(kind: str, figure: str, value: str) -> str:
        c = verdicts.get((kind, figure))
        if not c:
            return f"| {value} | | |"
        shown = {"ratio": f"{c['target']:.0%}", "p99_ms": f"{c['target']} ms"}.get(
            figure, str(c["target"]))
        return f"| {value} | {c['comparison']} {shown} | {'PASS' if c['ok'] else '**FAIL**'} |"

    lines = ["| run | figure | value | target | result |", "| --- | --- | ---: | ---: | :---: |"]
    for kind, e in s.items():
        ratio_of = "booking" if kind == "booking" else "listing"
        if kind == yardstick(kind):
            lines.append(f"| {kind} | req/s (the yardstick) | {e['rps']:,.0f} | | |")
            continue
        lines.append(f"| {kind} | {ratio_of} req/s ÷ {yardstick(kind)} "
                     + cell(kind, "ratio", f"{e['ratio']:.1%} ({e['rps']:,.0f} req/s)"))
        lines.append(f"| {kind} | {ratio_of} p50 / p99 "
                     + cell(kind, "p99_ms", f"{e['p50_ms']:.0f} / {e['p99_ms']:.0f} ms"))
        if "booking_rps" in e:
            lines.append(f"| {kind} | bookings/s alongside "
                         f"| {e['booking_rps']:,.0f} ({statuses(e['booking_statuses'])}) | | |")
    r = report.get("race")
    if r:
        lines.append(f"| race | {r['clients']} POSTs for {r['free_before']} seats "
                     + cell("race", "201", statuses(r["statuses"])))
        lines.append("| race | (rule, step) over capacity, whole database "
                     + cell("race", "overbooked", str(len(report["overbooked"]))))
    lines.append("")
    for kind, e in s.items():  # nginx's microcache, and statuses not counted above
        if e["cache_statuses"] and kind != yardstick(kind):
            lines.append(f"- {kind}: microcache (X-Cache-Status) "
                         + ", ".join(f"{n:,} × {c}" for c, n in e["cache_statuses"].items()))
        odd = {k: v for k, v in e["statuses"].items() if k not in {"200", "201", "409"}}
        if odd:
            lines.append(f"- {kind}: also {statuses(odd)}"
                         + (" (refused: rate limit or overload)" if set(odd) <= REFUSED
                            else ""))
    return "\n".join(lines)
