"""Campaign configs: the TOML of the issue works as written, the grid expands with stable ids,
bad keys and values are refused naming the key."""
import pytest

from glasslens.campaign import Campaign

ISSUE_TOML = """
[data]
dataset = "digits"
n_train = 500
[train]
replicas = 4
epochs = 5
[grid]
hidden = [[8], [16]]
seed = [0, 1]
[protocols.replicas]
n_null = 9
"""


def test_issue_config_works_as_written(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(ISSUE_TOML)
    c = Campaign.from_toml(p)
    cells = c.cells()
    assert c.dims == ["hidden", "seed"]
    assert [x.coords for x in cells] == [{"hidden": "8", "seed": 0}, {"hidden": "8", "seed": 1},
                                         {"hidden": "16", "seed": 0}, {"hidden": "16", "seed": 1}]
    assert cells[2].train["hidden"] == [16] and cells[2].train["seed"] == 0
    assert cells[2].train["replicas"] == 4 and cells[2].train["epochs"] == 5
    assert cells[0].data == {"dataset": "digits", "n_train": 500, "seed": 0}
    assert cells[0].protocols == {"replicas": {"n_null": 9}}
    # the dict form is the same campaign
    import tomllib

    assert Campaign.from_dict(tomllib.loads(ISSUE_TOML)).hash == c.hash


def test_cell_ids_are_stable_and_depend_on_the_settings():
    a = Campaign(train={"epochs": 1}, grid={"lr": [0.1, 0.2]})
    b = Campaign(train={"epochs": 1}, grid={"lr": [0.2, 0.1]})
    assert {c.id for c in a.cells()} == {c.id for c in b.cells()}
    assert a.hash != b.hash  # order is part of the description (the dataset's coordinate order)
    ids = [c.id for c in a.cells()]
    assert len(set(ids)) == 2 and all(len(i) == 16 for i in ids)
    # a fixed value: the id of a known cell never changes (hash of canonical settings)
    c = Campaign(train={"epochs": 1}, grid={"lr": [0.1]}).cells()[0]
    assert c.id == ids[0]
    # the run section does not change the campaign
    assert Campaign(train={"epochs": 1}, grid={"lr": [0.1, 0.2]},
                    run={"workers": 3}).hash == a.hash


def test_points_and_qualified_keys():
    c = Campaign(grid={"hidden": [[8]], "seed": [0, 1]},
                 points=[{"hidden": [32], "seed": 0, "data.seed": 3}, {"hidden": [8], "seed": 1}])
    cells = c.cells()
    assert len(cells) == 3  # the second point repeats a grid cell
    assert c.dims == ["hidden", "train_seed", "data_seed"]  # both seeds swept: qualified
    assert cells[0].coords == {"hidden": "8", "train_seed": 0, "data_seed": 0}
    assert cells[2].data["seed"] == 3 and cells[2].train["hidden"] == [32]
    assert c.coords()["hidden"] == ["8", "32"]


@pytest.mark.parametrize("cfg, key", [
    ({"trian": {}}, "trian"),
    ({"train": {"lrr": 0.1}}, "train.lrr"),
    ({"train": {"lr": -1.0}}, "lr"),
    ({"grid": {"lr": 0.1}}, "grid.lr"),
    ({"grid": {"lr": []}}, "grid.lr"),
    ({"grid": {"lr": [0.1, 0.1]}}, "grid.lr"),
    ({"grid": {"widht": [1]}}, "grid.widht"),
    ({"grid": {"hidden": [[8], [-1]]}}, "hidden"),
    ({"data": {"dataset": "cifar"}}, "data.dataset"),
    ({"data": {"n_train": 0}}, "n_train"),
    ({"protocols": {"replica": {}}}, "protocols.replica"),
    ({"protocols": {"replicas": {"n_nul": 9}}}, "protocols.replicas.n_nul"),
    ({"protocols": {"flatness": {"max_replicas": 0}}}, "protocols.flatness.max_replicas"),
    ({"run": {"workers": -1}}, "run.workers"),
    ({"grid": {"replicas": [2, 4]}, "protocols": {"replicas": {}}}, "replicas=2 replicas"),
    ({"train": {"replicas": 1}, "protocols": {"symmetry": {}}}, "needs at least 2 replicas"),
    ({"run": {"speed": 1}}, "run.speed"),
    ({"points": [{"lrr": 1}]}, "points[0].lrr"),
])
def test_bad_config_names_the_key(cfg, key):
    with pytest.raises(ValueError, match=key.replace("[", r"\[").replace("]", r"\]")):
        Campaign.from_dict(cfg)


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Campaign.from_toml(tmp_path / "nope.toml")
    p = tmp_path / "bad.toml"
    p.write_text("[data\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        Campaign.from_toml(p)
