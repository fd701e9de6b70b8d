"""Parser for the cited AI policy milestones table (curated CSV compiled for this project).

The fixture is hand-made in the file's layout with made-up values and example.org citations. Real-file tests compare
the parser with an independent csv read of the mirror file (expected values are never typed here).
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
import yaml

from pipelines.base.errors import ParseError
from pipelines.staging.parsers import PARSER_COLUMNS
from pipelines.staging.parsers.policy import POLICY_HEADER, parse_policy_milestones

CONFIG = Path(__file__).resolve().parents[1] / "config" / "sources"
SOURCE_ID = "ai_policy_milestones"
CSV_PATH = "curated/ai_policy_milestones.csv"


def registry() -> dict:
    return yaml.safe_load((CONFIG / f"{SOURCE_ID}.yaml").read_text(encoding="utf-8"))


def options() -> dict:
    return next(f for f in registry()["files"] if f["path"] == CSV_PATH)["parser_options"]


def parse(path: Path):
    return parse_policy_milestones(path, **options())


def one(frame, iso3: str, code: str):
    rows = frame[(frame["entity_code"] == iso3) & (frame["source_code"] == code)]
    assert len(rows) == 1, (iso3, code, len(rows))
    return rows.iloc[0]


def absent(frame, iso3: str, code: str) -> bool:
    return frame[(frame["entity_code"] == iso3) & (frame["source_code"] == code)].empty


def test_registry_checksum_and_indicators(mirror_dir):
    doc = registry()
    folder = mirror_dir / SOURCE_ID
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.parent != folder)
    assert sorted(f["path"] for f in doc["files"]) == on_disk
    for entry in doc["files"]:
        data = (folder / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
    frame = parse(folder / CSV_PATH)
    assert set(frame["source_code"]) == {i["source_code"] for i in doc["indicators"]}
    kinds = {i["source_code"]: i["kind"] for i in doc["indicators"]}
    for code, group in frame.groupby("source_code"):
        if kinds[code] == "flag":
            assert set(group["value"]) <= {0.0, 1.0}, code


def test_fixture(fixtures_dir):
    frame = parse(fixtures_dir / SOURCE_ID / "ai_policy_milestones.csv")
    assert list(frame.columns) == PARSER_COLUMNS
    assert set(frame["period"]) == {"2026"} and set(frame["year"]) == {2026}  # the file's reference date

    # milestone with a value: year (raw) + flag 1, citation and status in the note
    year = one(frame, "JPN", "national_ai_strategy_year")
    assert year["value"] == 2016 and year["unit"] == "calendar year" and year["raw_row"] == "2"
    assert year["note"].startswith("status=verified; source=https://example.org/jpn-strategy; quote=Japan published")
    assert "remark=Made-up strategy note, with a comma." in year["note"]
    assert one(frame, "JPN", "national_ai_strategy_year:flag")["value"] == 1

    # unverified = missing, never 0
    assert absent(frame, "JPN", "ai_safety_institute_year") and absent(frame, "JPN", "ai_safety_institute_year:flag")
    assert absent(frame, "KEN", "hiroshima_process_friends_group")

    # comprehensive law: the type decides the flag; a sectoral rule is 0 and gives no law year
    law = one(frame, "JPN", "comprehensive_ai_law_year:flag")
    assert law["value"] == 1 and "value=framework_statute" in law["note"] and law["raw_row"] == "4"
    assert one(frame, "JPN", "comprehensive_ai_law_year")["value"] == 2022
    assert one(frame, "CHN", "comprehensive_ai_law_year:flag")["value"] == 0
    assert "value=sectoral_rule" in one(frame, "CHN", "comprehensive_ai_law_year:flag")["note"]
    assert absent(frame, "CHN", "comprehensive_ai_law_year")

    # memberships: flag as published + year joined when given
    gpai = one(frame, "JPN", "gpai_member")
    assert gpai["value"] == 1 and gpai["note"].startswith("status=secondary;")
    assert one(frame, "JPN", "gpai_member:year")["value"] == 2021
    assert one(frame, "JPN", "hiroshima_process_friends_group")["value"] == 1
    assert absent(frame, "JPN", "hiroshima_process_friends_group:year")  # no year in the file
    assert one(frame, "CHN", "gpai_member")["value"] == 0 and absent(frame, "CHN", "gpai_member:year")
    assert one(frame, "KEN", "intl_aisi_network_member")["value"] == 0
    assert one(frame, "ARG", "oecd_ai_principles_adherent:year")["raw_row"] == "10"

    # empty value with a confirming status and a citation = confirmed absence: flag 0, no year
    arg = one(frame, "ARG", "national_ai_strategy_year:flag")
    assert arg["value"] == 0 and arg["raw_row"] == "9" and "source=https://example.org/arg" in arg["note"]
    assert absent(frame, "ARG", "national_ai_strategy_year")

    assert len(frame) == 13


def test_real_japan(mirror_dir):
    path = mirror_dir / SOURCE_ID / CSV_PATH
    frame = parse(path)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    numbered = list(enumerate(rows, start=2))
    japan = [(line, r) for line, r in numbered if r["iso3"] == "JPN"]
    assert len(japan) == len(options()["milestones"]) + len(options()["memberships"])
    for line, r in japan:
        code = r["indicator_code"]
        assert r["status"] != "unverified"
        if code in options()["milestones"]:
            assert one(frame, "JPN", code)["value"] == float(r["year"])
            assert one(frame, "JPN", f"{code}:flag")["value"] == 1
            assert one(frame, "JPN", code)["raw_row"] == str(line)
        else:
            flag = one(frame, "JPN", code)
            assert flag["value"] == float(r["value"]) and flag["raw_row"] == str(line)
            assert f"status={r['status']}" in flag["note"] and r["citation_url"] in flag["note"]
            if r["year"]:
                assert one(frame, "JPN", f"{code}:year")["value"] == float(r["year"])
    # every unverified cell is dropped; nothing is emitted for it
    unverified = {str(line) for line, r in numbered if r["status"] == "unverified"}
    assert not set(frame["raw_row"]) & unverified
    # every confirmed absence (empty value, confirming status) is a 0 flag, never a year
    absences = {str(line) for line, r in numbered if r["status"] != "unverified" and r["value"] == ""}
    zero_rows = frame[frame["raw_row"].isin(absences)]
    assert len(zero_rows) == len(absences) and set(zero_rows["value"]) == {0.0}
    assert frame["raw_row"].nunique() == sum(1 for _, r in numbered if r["status"] != "unverified")
    assert frame["entity_code"].nunique() == len({r["iso3"] for r in rows})


HEADER = ",".join(POLICY_HEADER) + "\n"
GOOD = "JPN,Japan,gpai_member,1,2020,n,https://example.org,q,verified\n"


@pytest.mark.parametrize("content, rule, row", [
    ("", "non_empty", 1),
    (HEADER.replace("status", "state") + GOOD, "expected_columns", 1),
    (HEADER + GOOD + "JPN,Japan,gpai_member,1,2020,n,https://exa", "field_count", 3),
    (HEADER + "JPN,Japan,gpai_member,1,2020,n,https://example.org,q,confirmed\n", "known_status", 2),
    (HEADER + "JPN,Japan,gpai_member,yes,2020,n,https://example.org,q,verified\n", "known_value", 2),
    (HEADER + "JPN,Japan,comprehensive_ai_law_year,statute,2020,n,https://example.org,q,verified\n", "known_value",
     2),
    (HEADER + "JPN,Japan,ai_readiness_score,1,2020,n,https://example.org,q,verified\n", "known_indicator", 2),
    (HEADER + "JPN,Japan,gpai_member,1,20x0,n,https://example.org,q,verified\n", "year_format", 2),
    (HEADER + "JPN,Japan,national_ai_strategy_year,,,none,,,secondary\n", "absence_cited", 2),
    (HEADER + ",,gpai_member,1,2020,n,https://example.org,q,verified\n", "entity_present", 2),
    (HEADER + GOOD + GOOD, "unique_entity_period", 3),
    ("<html><body>Sign in</body></html>\n", "expected_columns", 1),
])
def test_bad_inputs(tmp_path, content, rule, row):
    path = tmp_path / "ai_policy_milestones.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ParseError) as caught:
        parse(path)
    message = str(caught.value)
    assert f"file={path}" in message and f"row={row}," in message and f"rule={rule}" in message, message


def test_wrong_encoding(tmp_path):
    path = tmp_path / "ai_policy_milestones.csv"
    path.write_bytes((HEADER + GOOD + "TUR,Türkiye,gpai_member,1,2022,n,https://example.org,q,verified\n")
                     .encode("cp1252"))
    with pytest.raises(ParseError) as caught:
        parse(path)
    assert "row=3," in str(caught.value) and "rule=encoding" in str(caught.value)
