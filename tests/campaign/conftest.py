"""Fixtures of the campaign tests: the reference store of the tiny campaign
(tests/campaign_tiny.py), computed once in this process."""
import pytest

pytest.importorskip("xarray")
pytest.importorskip("zarr")

from campaign_tiny import TINY  # noqa: E402


@pytest.fixture(scope="session")
def reference_store(tmp_path_factory):
    from glasslens import campaign

    path = tmp_path_factory.mktemp("campaign") / "ref"
    s = campaign.run(TINY, path, workers=0, threads=1, progress=False)
    assert s.complete, s.failed
    return path
