"""The report's "What changed since the last release" section, from a mart_release_diff written here: readers see
pillar and country names (from the release's own marts), each move's parts, and the cell's lineage."""

from __future__ import annotations

import pandas as pd

from pipelines.publish.report.changes import release_diff_context


def _diff() -> pd.DataFrame:
    base = {"old_release": "R1", "rescored": False}
    rows = [
        {**base, "row_kind": "score", "level": "composite", "old_score": 38.57, "new_score": 38.89,
         "score_delta": 0.32, "old_rank": 20, "new_rank": 19},
        {**base, "row_kind": "score", "level": "research_innovation", "old_score": 35.57, "new_score": 37.45,
         "score_delta": 1.88, "old_rank": 12, "new_rank": 10},
        {**base, "row_kind": "attribution", "level": "composite", "change_type": "data_revision", "contribution": 0.32},
        {**base, "row_kind": "attribution", "level": "composite", "change_type": "new_period", "contribution": 0.001},
        {**base, "row_kind": "attribution", "level": "research_innovation", "change_type": "data_revision",
         "contribution": 1.88},
        {**base, "row_kind": "cell", "level": "research_innovation", "change_type": "data_revision",
         "indicator_key": "rd", "indicator_label": "R&D expenditure, % of GDP", "old_value": 3.44125,
         "new_value": 3.9, "old_period": "2023", "new_period": "2023", "contribution": 0.3138,
         "contribution_rank": 1, "new_raw_file": "worldbank_wdi/raw/x.csv", "new_raw_row": 1482},
        {**base, "row_kind": "peer", "level": "composite", "iso3": "BEL", "old_rank": 19, "new_rank": 20,
         "peer_move": "moved below the focus country"},
    ]
    return pd.DataFrame(rows)


def test_the_section_names_pillars_and_countries_and_splits_each_move():
    marts = {"mart_release_diff": _diff(),
             "mart_pillar_scores": pd.DataFrame({"pillar": ["research_innovation"],
                                                 "pillar_label": ["Research & innovation"]}),
             "dim_countries": pd.DataFrame({"iso3": ["BEL"], "name": ["Belgium"]})}
    context = release_diff_context(marts)
    scores = {s["level"]: s for s in context["scores"]}
    assert set(scores) == {"Composite index", "Research & innovation"}
    assert scores["Composite index"]["why"] == "data revisions +0.32"  # a part under 0.005 points is not listed
    assert scores["Composite index"]["rank"] == "20 → 19"
    [cell] = context["cells"]
    assert cell["pillar"] == "Research & innovation" and cell["old"] == "3.44 (2023)" and cell["new"] == "3.90 (2023)"
    assert cell["lineage"] == "worldbank_wdi/raw/x.csv row 1482"
    assert context["peers"] == [{"country": "Belgium", "level": "Composite index", "rank": "19 → 20",
                                 "move": "moved below the focus country"}]


def test_without_name_marts_the_ids_stay_and_a_first_release_has_nothing_to_compare():
    context = release_diff_context({"mart_release_diff": _diff()})
    assert {s["level"] for s in context["scores"]} == {"Composite index", "research_innovation"}
    assert context["peers"][0]["country"] == "BEL"
    assert release_diff_context({})["old_release"] is None
