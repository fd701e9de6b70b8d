"""With --pinned the raw step refuses a file whose sha256 differs from the registry, naming the file and both
checksums; without it, the file is a new vintage (tests/test_fetch.py, tests/test_vintages.py)."""

import shutil

import pytest

from pipelines.base.errors import ChecksumMismatch, FetchError
from pipelines.sources.fetch import fetch_source, sha256_of
from pipelines.sources.registry import load_registry


@pytest.fixture()
def wdi_mirror_copy(tmp_path, mirror_dir):
    shutil.copytree(mirror_dir / "worldbank_wdi", tmp_path / "mirror" / "worldbank_wdi")
    return tmp_path / "mirror"


def test_mirror_copy_is_verified(tmp_path, wdi_mirror_copy):
    source = load_registry()["worldbank_wdi"]
    fetched = fetch_source(source, tmp_path / "raw", wdi_mirror_copy)
    assert len(fetched) == len(source.files)
    for item in fetched:
        assert sha256_of(item.local_path) == item.sha256


def test_sha256_mismatch_names_file_and_both_checksums(tmp_path, wdi_mirror_copy, monkeypatch):
    monkeypatch.setenv("AI_READINESS_PINNED", "1")
    source = load_registry()["worldbank_wdi"]
    target = next(f for f in source.files if f.path.endswith("sp.pop.totl/data.csv"))
    corrupted = wdi_mirror_copy / "worldbank_wdi" / target.path
    with corrupted.open("a", encoding="utf-8") as handle:
        handle.write("Japan,JPN,2099,1\n")
    with pytest.raises(ChecksumMismatch) as caught:
        fetch_source(source, tmp_path / "raw", wdi_mirror_copy)
    message = str(caught.value)
    assert target.path in message and "worldbank_wdi" in message
    assert target.sha256 in message and sha256_of(corrupted) in message
    assert not (tmp_path / "raw" / "worldbank_wdi" / target.path).exists()


def test_missing_mirror_file_is_named(tmp_path, wdi_mirror_copy):
    source = load_registry()["worldbank_wdi"]
    target = source.files[0]
    (wdi_mirror_copy / "worldbank_wdi" / target.path).unlink()
    with pytest.raises(FetchError, match=target.path.replace(".", r"\.")):
        fetch_source(source, tmp_path / "raw", wdi_mirror_copy)
