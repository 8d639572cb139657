"""The tiny campaign of the campaign tests (digits, 200 examples, 3 replicas, 1 epoch, 4 cells)
and a helper; imported by name (tests/ is on sys.path)."""

TINY = {
    "data": {"dataset": "digits", "n_train": 200, "n_test": 100},
    "train": {"replicas": 3, "epochs": 1, "batch_size": 32},
    "grid": {"hidden": [[8], [12]], "seed": [0, 1]},
    "protocols": {"replicas": {"n_null": 9}, "symmetry": {"n_points": 11},
                  "probes": {"n_directions": 4, "radii": [0.0, 0.25, 0.5, 1.0]},
                  "flatness": {"which": ["local_energy", "hessian_top"]}},
}


def results(store):
    """The store's Dataset without the wall-time variables (bit-identical across runs)."""
    from glasslens import campaign
    from glasslens.campaign._store import TIMING_VARS

    return campaign.load(store).drop_vars(TIMING_VARS)
