"""`ai-readiness whatif`: what would move the focus country, as readable tables, from the published what-if marts
(mart_focus_what_if, mart_focus_path). Every number is read from them; nothing is re-scored here."""

from __future__ import annotations

import difflib
import re

import pandas as pd


class UnknownWhatIf(ValueError):
    """A country, item, level or target the published what-if marts do not hold (the message says what they do)."""


def _rank(value) -> str:
    return "–" if value is None or pd.isna(value) else str(int(round(float(value))))


def _band(low, high) -> str:
    return f"{_rank(low)}–{_rank(high)}"


def _num(value) -> str:
    from pipelines.publish.report.build import num  # the report's number format: years stay 2017, not 2,017

    return num(value)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _focus(connection, iso3: str) -> pd.DataFrame:
    iso3 = iso3.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", iso3):
        raise UnknownWhatIf(f"{iso3!r} is not an ISO3 country code")
    frame = connection.execute("SELECT * FROM mart_focus_what_if").df()
    built_for = sorted(frame["focus_iso3"].dropna().unique())
    if iso3 not in built_for:
        raise UnknownWhatIf(f"the published what-if marts are built for {', '.join(built_for) or 'no country'}, "
                            f"not {iso3}: rebuild with AI_READINESS_FOCUS_COUNTRY={iso3} ai-readiness build")
    return frame[frame["focus_iso3"] == iso3]


def _gain(row) -> str:
    gain = float(row.rank_gain)
    survives = " *" if row.survives_uncertainty is True else ""
    return f"{gain:+.0f}{survives}" if gain else "0"


def whatif_lines(connection, iso3: str, item: str | None = None, to: str | None = None,
                 target_rank: int | None = None) -> list[str]:
    frame = _focus(connection, iso3)
    iso3 = iso3.strip().upper()
    first = frame.iloc[0]
    lines = [f"{iso3} today: composite rank {_rank(first.baseline_rank)} (90% Monte Carlo band "
             f"{_band(first.baseline_rank_p05, first.baseline_rank_p95)}), score {float(first.baseline_score):.1f}"]
    if target_rank is not None:
        return lines + path_lines(connection, iso3, target_rank)
    if item is not None:
        if item not in set(frame["item"]):
            close = difflib.get_close_matches(item, sorted(set(frame["item"])), n=5, cutoff=0.5)
            raise UnknownWhatIf(f"{item!r} is not a scored indicator or pillar in mart_focus_what_if"
                                + (f"; did you mean {', '.join(close)}?" if close else ""))
        frame = frame[frame["item"] == item]
    if to is not None:
        group, _, level = to.partition(":")
        chosen = frame[(frame["group_id"] == group) & (frame["level"] == level)]
        if chosen.empty:
            groups = sorted(set(frame["group_id"]) - {"universe"})
            raise UnknownWhatIf(f"--to {to!r}: expected GROUP:median|p75|leader with GROUP one of {', '.join(groups)}")
        frame = chosen
    if item is None:  # each item at its level with the largest gain
        frame = frame[frame["group_id"] != "universe"].sort_values(["rank_gain", "rank"], ascending=[False, True])
        frame = frame.drop_duplicates(["scope", "item"])
    frame = frame.sort_values(["rank_gain", "rank"], ascending=[False, True])
    rows = [[r.scope, str(r.item), f"{r.group_id}:{r.level}", _num(r.focus_value) if r.scope == "indicator" else "",
             _num(r.target_value) if r.scope == "indicator" else f"{int(r.n_moved)} moved", _rank(r.rank),
             _band(r.rank_p05, r.rank_p95), _gain(r), _num(r.rank_gain_per_sd), _num(r.rank_gain_per_10pct),
             "imputed" if r.focus_value_imputed is True else ""] for r in frame.itertuples()]
    lines.append("")
    lines += _table(["scope", "item", "level reached", "today", "target", "rank", "90% band", "gain",
                     "gain/sd", "gain/10%", "note"], rows)
    lines.append("gain: places gained (* = the band no longer overlaps today's); gain/sd, gain/10%: rank elasticity")
    return lines


def path_lines(connection, iso3: str, target_rank: int) -> list[str]:
    paths = connection.execute("SELECT * FROM mart_focus_path WHERE focus_iso3 = ? AND target_scope = 'universe'",
                               [iso3]).df()
    path = paths[paths["target_rank"] == target_rank].sort_values("step")
    if path.empty:
        stored = ", ".join(str(int(n)) for n in sorted(paths["target_rank"].unique()))
        raise UnknownWhatIf(f"no path to rank {target_rank} in mart_focus_path (stored: {stored or 'none'}; "
                            "add it to shortest_path.target_ranks in config/scenarios.yaml and rebuild)")
    head = path.iloc[0]
    if not bool(head.reached):
        return ["", f"rank {target_rank} is out of reach: every peer-level move together falls short "
                f"(best: rank {_rank(path['rank_in_scope'].min())})"]
    moves = int(head.n_moves)
    lines = ["", f"fewest moves to rank {target_rank}: {moves} ({head.algorithm}"
             f"{': proven minimal' if head.algorithm == 'exact' else ': greedy, not proven minimal'})"]
    rows = [[str(int(r.step)), "" if pd.isna(r.key) else str(r.key), str(r.move), _num(r.from_value), _num(r.to_value),
             f"{float(r.score):.1f}", _rank(r.rank), _band(r.rank_p05, r.rank_p95)] for r in path.itertuples()]
    return lines + _table(["step", "indicator", "to", "from", "value", "score", "rank", "90% band"], rows)
