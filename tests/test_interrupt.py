"""Ctrl-C stops every long C++ kernel within about a second and raises KeyboardInterrupt.

Each case runs in a fresh interpreter: it sets up a call that would run for minutes, prints
READY, and the test sends SIGINT half a second later. The interpreter must exit with
KeyboardInterrupt well before the call could have finished, and a second, short call in the
same process (after catching the interrupt) must work normally.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

SETUP = """
import numpy as np
import glasslens as gl
ds = gl.load_dataset("digits", n_train=300, n_test=100)
net = gl.MLP.init([64, 32, 10], seed=0)
rng = np.random.default_rng(0)
"""

# name -> (setup, the long call, a short call that must still work afterwards)
CASES = {
    "random_walk": ("", "gl.probes.random_walk(net, ds, 10**9, 0.01, move='dense', n_walkers=2, "
                               "record_every=10**7)",
                    "gl.probes.random_walk(net, ds, 10, 0.01, n_walkers=1)"),
    "random_walk_sparse": ("", "gl.probes.random_walk(net, ds, 10**9, 0.01, move='weight', "
                               "n_walkers=2, record_every=10**7)", "gl.probes.random_walk(net, ds, 10, 0.01)"),
    "profile": ("", "gl.probes.profile(net, ds, np.linspace(0, 1, 4000), n_directions=4000)",
                "gl.probes.profile(net, ds, [0.0, 0.1], n_directions=2)"),
    "parallel_tempering": ("", "gl.spinmodels.parallel_tempering('sk', 256, [0.5, 0.8, 1.2], "
                               "n_replicas=2, n_samples=2, n_equilibrate=10**9, n_measure=10)",
                           "gl.spinmodels.parallel_tempering('sk', 16, [1.0], n_replicas=2, "
                           "n_samples=1, n_equilibrate=10, n_measure=10)"),
    "train_ensemble": ("", "gl.train_ensemble(ds, hidden=(32,), replicas=8, epochs=10**6, "
                           "progress=False)",
                       "gl.train_ensemble(ds, hidden=(8,), replicas=2, epochs=1)"),
    "pairwise_alignment": ("ens = gl.Ensemble.init([64, 256, 10], 400, seed=0)",
                           "gl.symmetry.pairwise_alignment(ens)",
                           "gl.symmetry.pairwise_alignment(gl.Ensemble.init([8, 4, 3], 3))"),
    "pairwise_alignment_tiles": ("ens = gl.Ensemble.init([64, 256, 10], 400, seed=0)",
                                 "gl.symmetry.pairwise_alignment(ens, block_size=50, "
                                 "return_perms=False)",
                                 "gl.symmetry.pairwise_alignment(gl.Ensemble.init([8, 4, 3], 3), "
                                 "block_size=2)"),
    "lsa_batch": ("C = rng.random((20000, 300, 300))",
                  "gl.symmetry.linear_sum_assignment_batch(C)",
                  "gl.symmetry.linear_sum_assignment(rng.random((5, 5)))"),
    "fit_pseudolikelihood": (
        "S = np.where(rng.random((6000, 1500)) < 0.5, -1, 1).astype(np.int8)",
        "gl.maxent.fit_pseudolikelihood(S, l1=1e-4, max_iter=10**8, tol=0.0)",
        "gl.maxent.fit_pseudolikelihood(S[:50, :5])"),
    "train_binary": ("d = (ds.X_train[:, :20], ds.y_train, ds.X_test[:, :20], ds.y_test)",
                     "gl.effective_model.train_binary(d, [20, 15, 10], replicas=4, "
                     "epochs=10**7)",
                     "gl.effective_model.train_binary(d, [20, 5, 10], replicas=1, epochs=1)"),
}


def _script(setup: str, call: str, short: str) -> str:
    return textwrap.dedent(SETUP) + setup + textwrap.dedent(f"""
import sys, time
print("READY", flush=True)
t0 = time.perf_counter()
try:
    {call}
    print("FINISHED", flush=True)
except KeyboardInterrupt:
    print(f"INTERRUPTED {{time.perf_counter() - t0:.3f}}", flush=True)
    {short}
    print("AGAIN OK", flush=True)
    raise
""")


@pytest.mark.parametrize("name", sorted(CASES))
def test_ctrl_c_stops_kernel(name, tmp_path):
    setup, call, short = CASES[name]
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable, "-c", _script(setup, call, short)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line.strip() == "READY", (line, p.stderr.read() if p.poll() is not None else "")
        time.sleep(0.7)
        t_sig = time.perf_counter()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        latency = time.perf_counter() - t_sig
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert "FINISHED" not in out
    assert "INTERRUPTED" in out, (out, err)
    assert "AGAIN OK" in out, (out, err)
    assert p.returncode != 0 and "KeyboardInterrupt" in err, err[-2000:]
    assert latency < 5.0, f"{name}: {latency:.2f} s from SIGINT to exit"
