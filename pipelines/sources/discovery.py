"""Which file is the publisher's newest? For publishers that name each release as a new file (Microsoft's
`AI_Diffusion_<quarter>_Update.csv`), the registry declares how to find it instead of naming it:

    live.files.<pinned path>:
      url: 'https://raw.githubusercontent.com/<owner>/<repo>/main/data/{name}'
      discover:
        listing: 'https://api.github.com/repos/<owner>/<repo>/contents/data?ref=main'
        pattern: 'AI_Diffusion_Q(?P<quarter>[1-4])(?P<year>\\d{4})_Update\\.csv'
        newest_by: [year, quarter]

The listing is the GitHub REST "get repository content" answer for a folder: a JSON array with one object per entry
(`type`, `name`, `path`, `sha`, `size`, `download_url`; https://docs.github.com/en/rest/repos/contents). Of the
`file` entries whose name matches `pattern` in full, the one with the largest `newest_by` groups (as integers) is
taken; its name fills `{name}` in the registered URL, so the host and folder still come from the registry and only a
name the pattern allows comes from the network. The file is fetched as the next vintage of the pinned path, and the
snapshot records which name it was (pipelines.sources.vintages).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import quote

from pipelines.base.errors import FetchError
from pipelines.sources.registry import RawFile


@dataclass(frozen=True)
class Discovered:
    name: str  # the publisher's file name, e.g. AI_Diffusion_Q22026_Update.csv
    url: str  # the registered live URL with {name} filled in
    listing: str
    git_sha: str | None  # the listing's blob sha of that file (GitHub: git blob sha1)

    def as_metadata(self) -> dict:
        return {"name": self.name, "listing": self.listing, "git_sha": self.git_sha}


def discovers(raw: RawFile) -> bool:
    return bool(raw.live_discover)


def newest_file(listing: bytes, raw: RawFile, *, source_id: str) -> Discovered:
    """The newest file the listing names under the registry's rule (see the module docstring); FetchError naming
    source, file and rule when the listing is not a JSON array or no entry matches."""
    rule = raw.live_discover
    where = dict(source_id=source_id, file=raw.path, rule="live_discover")
    try:
        entries = json.loads(listing.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchError(f"the listing {rule['listing']} is not JSON ({exc})", **where) from None
    if not isinstance(entries, list):
        raise FetchError(f"the listing {rule['listing']} is a JSON {type(entries).__name__}, not an array of "
                         "entries (GitHub contents API of a folder)", **where)
    pattern = re.compile(rule["pattern"])
    ranked = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != "file" or not isinstance(entry.get("name"), str):
            continue
        match = pattern.fullmatch(entry["name"])
        if match:
            ranked.append((tuple(int(match.group(g)) for g in rule["newest_by"]), entry))
    if not ranked:
        names = sorted(str(e.get("name")) for e in entries if isinstance(e, dict))
        raise FetchError(f"no file in the listing {rule['listing']} matches {rule['pattern']!r} "
                         f"({len(names)} entries: {names[:10]})", **where)
    ranked.sort(key=lambda item: item[0])
    key, newest = ranked[-1]
    tied = [e["name"] for k, e in ranked if k == key]
    if len(tied) > 1:
        raise FetchError(f"files {tied} of the listing {rule['listing']} rank equal by {rule['newest_by']}: "
                         "which is newest is ambiguous", **where)
    name = newest["name"]
    if "/" in name or "\\" in name or name in (".", ".."):
        raise FetchError(f"the listing names {name!r}, not a plain file name", **where)
    return Discovered(name=name, url=raw.live_url.replace("{name}", quote(name)), listing=rule["listing"],
                      git_sha=newest.get("sha") if isinstance(newest.get("sha"), str) else None)
