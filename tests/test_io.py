"""The one .npz / JSON layer (_lib._io): files written by the old code paths (generated here with
plain numpy in the 0.1 layout) still load, and nothing is ever unpickled."""
import json

import numpy as np
import pytest

import glasslens as gl
from glasslens._lib import _io
from glasslens.maxent import Ising


def _old_savez(path, meta, **arrays):
    # the 0.1 writers: np.savez(path, __meta__=np.array(json.dumps(meta)), **arrays)
    np.savez(path, __meta__=np.array(json.dumps(meta)), **arrays)


def test_old_mlp_and_ensemble_files_load(tmp_path):
    rng = np.random.default_rng(0)
    W0, b0 = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    W1, b1 = rng.normal(size=(2, 4)).astype(np.float32), rng.normal(size=2).astype(np.float32)
    _old_savez(tmp_path / "net.npz", {"format": "glasslens-network-v1", "kind": "MLP",
                                      "widths": [3, 4, 2], "bias": True},
               W0=W0, b0=b0, W1=W1, b1=b1)
    net = gl.MLP.load(tmp_path / "net.npz")
    assert net.widths == [3, 4, 2]
    assert np.array_equal(net.weights[0], W0) and np.array_equal(net.biases[1], b1)

    R = 3
    meta = {"format": "glasslens-network-v1", "kind": "Ensemble", "widths": [3, 4, 2],
            "bias": False, "meta": {"seed": 7}, "history": ["epoch"], "metrics": ["train_loss"]}
    _old_savez(tmp_path / "ens.npz", meta, W0=np.stack([W0] * R), W1=np.stack([W1] * R),
               **{"history/epoch": np.arange(2), "metrics/train_loss": np.ones(R)})
    ens = gl.nn.Ensemble.load(tmp_path / "ens.npz")
    assert ens.n_replicas == R and not ens.has_bias and ens.meta == {"seed": 7}
    assert np.array_equal(ens.history["epoch"], np.arange(2))
    # and what the new writer produces is the same layout
    ens.save(tmp_path / "again.npz")
    with np.load(tmp_path / "again.npz", allow_pickle=False) as z:
        assert sorted(z.files) == sorted(["__meta__", "W0", "W1", "history/epoch",
                                          "metrics/train_loss"])
        assert json.loads(str(z["__meta__"]))["kind"] == "Ensemble"


def test_old_dataset_ising_binary_files_load(tmp_path):
    rng = np.random.default_rng(1)
    X, Xt = rng.normal(size=(6, 2)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)
    y, yt = np.array([0, 1, 0, 1, 1, 0]), np.array([1, 0, 1])
    with open(tmp_path / "ds.npz", "wb") as fh:
        _old_savez(fh, {"format": "glasslens-dataset-v1", "name": "toy", "n_classes": 2,
                        "meta": {"a": 1}, "teacher": None},
                   X_train=X, y_train=y, X_test=Xt, y_test=yt)
    ds = gl.datasets.Dataset.load(tmp_path / "ds.npz")
    assert ds.name == "toy" and ds.n_classes == 2 and np.array_equal(ds.X_test, Xt)

    h, J = rng.normal(size=3), np.zeros((3, 3))
    J[0, 1] = J[1, 0] = 0.5
    _old_savez(tmp_path / "ising.npz", {"format": "glasslens-ising-v1", "kind": "Ising", "n": 3},
               h=h, J=J)
    m = Ising.load(tmp_path / "ising.npz")
    assert np.array_equal(m.h, h) and np.array_equal(m.J, J)

    cfg = np.where(rng.random((4, 5)) < 0.5, 1, -1).astype(np.int8)
    _old_savez(tmp_path / "s.npz", {"format": "glasslens-binarynet-v1", "kind": "BinarySamples",
                                    "widths": None},
               configurations=cfg, accuracy=np.full(4, 0.5), network=np.arange(4))
    s = gl.effective_model.BinarySamples.load(tmp_path / "s.npz")
    assert np.array_equal(s.configurations, cfg) and s.network.dtype == np.int64


def test_load_npz_never_unpickles_and_checks_header_and_members(tmp_path):
    p = tmp_path / "obj.npz"
    np.savez(p, __meta__=np.array(json.dumps({"format": "glasslens-network-v1", "kind": "MLP",
                                              "widths": [1, 1], "bias": False})),
             W0=np.array([[object()]], dtype=object))
    with pytest.raises(ValueError, match="obj.npz is not a glasslens MLP file"):
        gl.MLP.load(p)
    q = tmp_path / "extra.npz"
    _old_savez(q, {"format": "glasslens-network-v1", "kind": "MLP", "widths": [1, 1],
                   "bias": False}, W0=np.ones((1, 1), np.float32), junk=np.ones(2))
    with pytest.raises(ValueError, match="unexpected member 'junk'"):
        gl.MLP.load(q)
    with pytest.raises(ValueError, match=r"not a glasslens Ensemble file \(found 'MLP'\)"):
        gl.nn.Ensemble.load(tmp_path / "extra.npz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        _io.load_npz(tmp_path / "none.npz", "MLP", format="x")


def test_write_json_and_to_jsonable(tmp_path):
    _io.write_json(tmp_path / "a.json", {"x": np.float32(1.5), "n": np.nan, "b": np.bool_(True),
                                          "arr": np.arange(3)}, atomic=True)
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1.5, "n": None, "b": True,
                                                             "arr": [0, 1, 2]}
    assert not (tmp_path / "a.json.tmp").exists()
    assert gl.report.to_jsonable is _io.to_jsonable


def test_inconsistent_headers_and_junk_members_are_refused_before_reading(tmp_path):
    """A "bias": false header with bias arrays used to load a network without its biases; a
    small archive with a huge junk member used to be decompressed whole."""
    import zipfile

    net = gl.MLP.init([3, 2, 2], seed=0)
    p = tmp_path / "net.npz"
    net.save(p)
    q = tmp_path / "nobias-header.npz"
    _old_savez(q, {"format": "glasslens-network-v1", "kind": "MLP", "widths": [3, 2, 2],
                   "bias": False}, W0=net.weights[0], W1=net.weights[1], b0=net.biases[0],
               b1=net.biases[1])
    with pytest.raises(ValueError, match="unexpected member 'b0' for its header"):
        gl.MLP.load(q)
    # a junk member of 1 GiB of zeros (a few MiB compressed) is refused without being read
    r = tmp_path / "bomb.npz"
    with zipfile.ZipFile(p) as src, zipfile.ZipFile(r, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        with dst.open("W7.npy", "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(64):
                f.write(block)
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="unexpected member 'W7'"):
        gl.MLP.load(r)
    assert time.perf_counter() - t0 < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 32 * 1024


def test_declared_sizes_beyond_memory_are_refused(tmp_path, monkeypatch):
    from glasslens._lib import _limits

    net = gl.MLP.init([30, 20, 2], seed=0)
    p = tmp_path / "net.npz"
    net.save(p)
    monkeypatch.setattr(_limits, "physical_memory_bytes", lambda: 1000)
    with pytest.raises(ValueError, match="more than this machine's memory"):
        gl.MLP.load(p)
