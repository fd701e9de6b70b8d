"""Harmonise every country name/code to ISO 3166-1 alpha-3, and keep aggregates out of country facts.

Order of precedence for one published entity (name, code):
1. the source's own `entity_overrides` in config/sources/<source_id>.yaml (code first, then name);
2. the reviewed global table config/country_overrides.csv (what country_converter gets wrong or cannot know);
3. aggregates the publisher itself marks (e.g. a blank Region in the World Bank's country metadata);
4. a published 3-letter code that is an ISO3 code, or a 2-letter code that is an ISO2 code (GitHub, Eurostat);
5. country_converter's name matching.
Anything left over fails loudly, listing every unmapped entity.

Name and code must agree: where a source gives both and the code decided the economy (rules 4), the name must not
map to a different economy (rule `country_name_code_agree`); a disagreement is refused, naming both values, unless
config/country_name_code_exceptions.csv lists the pair with the reason it was reviewed.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from functools import cache

import pandas as pd

from pipelines.base.errors import CountryMismatch, UnmappedCountries
from pipelines.base.settings import CONFIG_DIR

OVERRIDES_FILE = CONFIG_DIR / "country_overrides.csv"
NAME_CODE_EXCEPTIONS_FILE = CONFIG_DIR / "country_name_code_exceptions.csv"
AGGREGATE = "AGGREGATE"


@cache
def converter():
    """country_converter 1.3.2 cannot load its own table under pandas 3 (Namibia's ISO2 "NA" becomes NaN and
    breaks a regex), so read the table with NA detection off and hand it over."""
    import country_converter as coco

    logging.getLogger("country_converter").setLevel(logging.ERROR)
    table = coco.country_converter.COUNTRY_DATA_FILE
    data = pd.read_csv(table, sep="\t", encoding="utf-8", dtype=str, keep_default_na=False, na_values=[""])
    for column in ("ISOnumeric", "UNcode", "FAOcode", "GBDcode", "EURO", "UN", "UNmember", "obsolete", "GEOnumeric"):
        if column in data:
            data[column] = pd.to_numeric(data[column]).astype("Int64")
    return coco.CountryConverter(country_data=data)


@cache
def iso3_codes() -> frozenset[str]:
    return frozenset(converter().data["ISO3"].dropna())


@cache
def iso2_to_iso3() -> dict[str, str]:
    """country_converter stores ISO2 as a regex ("^GB$|^UK$", "^GR$|^EL$"): every alternative maps, which also
    covers Eurostat's UK and EL."""
    import re

    data = converter().data.dropna(subset=["ISO2", "ISO3"])
    return {
        alternative: iso3
        for pattern, iso3 in zip(data["ISO2"], data["ISO3"])
        for alternative in re.findall(r"\^([A-Z]{2})\$", pattern) or [pattern]
    }


@dataclass(frozen=True)
class Override:
    key: str
    iso3: str | None  # None: an aggregate, not a country
    reason: str


@cache
def global_overrides() -> dict[str, Override]:
    """Keys are matched case-insensitively against both the published code and the published name."""
    overrides = {}
    with OVERRIDES_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            iso3 = row["iso3"].strip()
            overrides[row["name_or_code"].strip().casefold()] = Override(
                row["name_or_code"].strip(), None if iso3 == AGGREGATE else iso3, row["reason"].strip()
            )
    return overrides


@cache
def name_code_exceptions() -> frozenset[tuple[str, str, str]]:
    """Reviewed (source_id, name, code) pairs whose name and code legitimately map to different economies."""
    if not NAME_CODE_EXCEPTIONS_FILE.exists():
        return frozenset()
    with NAME_CODE_EXCEPTIONS_FILE.open(encoding="utf-8", newline="") as handle:
        return frozenset((row["source_id"].strip(), row["name"].strip().casefold(), row["code"].strip().casefold())
                         for row in csv.DictReader(handle))


def name_code_disagreements(out: pd.DataFrame, source_id: str) -> pd.DataFrame:
    """Pairs decided by their code whose published name maps (country_converter) to another economy."""
    by_code = out[out["matched_by"].isin(["iso3_code", "iso2_code"]) & out["entity_name"].notna()]
    by_code = by_code[by_code["entity_name"].astype(str).str.strip() != ""]
    if by_code.empty:
        return by_code.assign(name_iso3=pd.Series(dtype=object))
    names = [str(n).strip() for n in by_code["entity_name"]]
    converted = converter().convert(names, to="ISO3", not_found=None)
    converted = [converted] if isinstance(converted, str) else list(converted)
    by_code = by_code.assign(name_iso3=[c if isinstance(c, str) and c in iso3_codes() else None for c in converted])
    exceptions = name_code_exceptions()
    reviewed = [(source_id, str(n).strip().casefold(), str(c).strip().casefold()) in exceptions
                for n, c in by_code[["entity_name", "entity_code"]].itertuples(index=False)]
    disagree = by_code["name_iso3"].notna() & (by_code["name_iso3"] != by_code["iso3"]) & ~pd.Series(
        reviewed, index=by_code.index)
    return by_code[disagree]


def _lookup(mapping: dict, *keys: str | None):
    for key in keys:
        if key is not None and not pd.isna(key) and key.casefold() in mapping:
            return mapping[key.casefold()]
    return None


def harmonise(
    entities: pd.DataFrame,
    *,
    source_id: str,
    source_overrides: dict | None = None,
    publisher_aggregates: set[str] | frozenset[str] = frozenset(),
    file: str | None = None,
) -> pd.DataFrame:
    """Map unique (entity_name, entity_code) pairs to iso3 and is_aggregate, plus how each was decided.

    Returns one row per input pair: entity_name, entity_code, iso3 (None for aggregates), is_aggregate, matched_by.
    """
    source_map = {str(k).casefold(): v for k, v in (source_overrides or {}).items()}
    aggregates = {code.casefold() for code in publisher_aggregates}
    pairs = entities[["entity_name", "entity_code"]].drop_duplicates().reset_index(drop=True)
    results: list[tuple[str | None, bool, str]] = []
    by_name: list[int] = []
    for index, (name, code) in enumerate(pairs.itertuples(index=False)):
        name = None if pd.isna(name) else str(name).strip()
        code = None if pd.isna(code) else str(code).strip()
        if (key := next((k for k in (code, name) if k and k.casefold() in source_map), None)) is not None:
            iso3 = source_map[key.casefold()]
            results.append((iso3, iso3 is None, "source_override"))
        elif (override := _lookup(global_overrides(), code, name)) is not None:
            results.append((override.iso3, override.iso3 is None, "global_override"))
        elif code and code.casefold() in aggregates:
            results.append((None, True, "publisher_aggregate"))
        elif code and len(code) == 3 and code.upper() in iso3_codes():
            results.append((code.upper(), False, "iso3_code"))
        elif code and len(code) == 2 and code.upper() in iso2_to_iso3():
            results.append((iso2_to_iso3()[code.upper()], False, "iso2_code"))
        else:
            results.append((None, False, "unmapped"))
            by_name.append(index)
    if by_name:
        names = [pairs.loc[i, "entity_name"] for i in by_name]
        usable = [i for i, n in zip(by_name, names) if n is not None and not pd.isna(n) and str(n).strip()]
        converted = converter().convert([str(pairs.loc[i, "entity_name"]).strip() for i in usable], to="ISO3",
                                        not_found=None)
        if isinstance(converted, str):
            converted = [converted]
        for i, iso3 in zip(usable, converted):
            if isinstance(iso3, str) and iso3 in iso3_codes():
                results[i] = (iso3, False, "name_match")
    out = pairs.assign(
        iso3=[r[0] for r in results], is_aggregate=[r[1] for r in results], matched_by=[r[2] for r in results]
    )
    unmapped = out[out["matched_by"] == "unmapped"]
    if not unmapped.empty:
        listed = "; ".join(f"{n!r} (code {c!r})" for n, c in unmapped[["entity_name", "entity_code"]].itertuples(index=False))
        raise UnmappedCountries(
            f"{len(unmapped)} entities are neither a country nor a known aggregate: {listed}. "
            "Add them to config/country_overrides.csv or the source's entity_overrides.",
            source_id=source_id, file=file, rule="country_harmonisation",
        )
    disagree = name_code_disagreements(out, source_id)
    if not disagree.empty:
        listed = "; ".join(f"name {n!r} is {ni} but code {c!r} is {ci}" for n, c, ci, ni in
                           disagree[["entity_name", "entity_code", "iso3", "name_iso3"]].itertuples(index=False))
        raise CountryMismatch(
            f"{len(disagree)} rows name one economy and code another: {listed}. Fix the source, or list the pair "
            "with its reason in config/country_name_code_exceptions.csv after review.",
            source_id=source_id, file=file, rule="country_name_code_agree",
        )
    return out


def country_dimension() -> pd.DataFrame:
    """Every ISO3 country country_converter knows, with names and the memberships peer groups are built from."""
    data = converter().data
    frame = pd.DataFrame({
        "iso3": data["ISO3"],
        "iso2": data["ISO2"],
        "name": data["name_short"],
        "name_official": data["name_official"],
        "continent": data["continent"],
        "un_region": data["UNregion"],
        "is_g7": data["G7"].notna(),
        # country_converter's G20 column marks every EU member (the EU is a G20 member): G20 is listed in config.
        "is_eu27": data["EU27"].notna(),
        "oecd_since": pd.to_numeric(data["OECD"], errors="coerce").astype("Int64"),
    })
    return frame.dropna(subset=["iso3"]).drop_duplicates("iso3").sort_values("iso3").reset_index(drop=True)
