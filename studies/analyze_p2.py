"""Study 2 analysis: barrier (raw / aligned) vs hidden width from a campaign store.

Usage: python3 studies/analyze_p2.py STORE OUTDIR [--min-width W]

Writes OUTDIR/pairs.csv (one row per cell and replica pair), OUTDIR/summary.json and
OUTDIR/barrier_vs_width.png. The exponent of ``barrier ~ m^alpha`` is a least-squares fit of
log(mean barrier over the pairs of a cell) on log(width), done separately for every seed; the
reported value is the mean over seeds with a 95% t-interval across seeds (seeds are the
independent repetitions: each seed is its own ensemble of replicas), and a 95% bootstrap
interval over pairs (resampling pairs within each cell, 2,000 draws) as a second check.

The training-loss confound (wider students reach lower training loss in the same budget, and a
barrier in loss units shrinks with the loss scale) is checked two ways: the exponent of the
RELATIVE barrier (each pair's barrier divided by the mean training loss of its two end
points), and the width coefficient of a multiple regression log(barrier) ~ a log(m) +
b log(train loss) + c over all cells (per-cell means; 95% interval from a bootstrap over
seeds).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))


def fit_exponent(widths, y):
    """Slope and intercept of log(y) on log(widths) (least squares)."""
    res = stats.linregress(np.log(widths), np.log(y))
    return float(res.slope), float(res.intercept)


def analyse(ds, min_width, n_boot=2000, seed=0):
    widths = np.asarray(ds["width"].values, dtype=float)
    sel = widths >= min_width
    out = {"min_width_fit": min_width, "widths": widths.tolist(), "n_seeds": int(ds.sizes["seed"]),
           "n_pairs_per_cell": int(ds.sizes["pair"])}
    rng = np.random.default_rng(seed)
    for kind in ("raw", "aligned"):
        b = ds[f"barrier_{kind}"].values  # (width, seed, pair)
        cell_mean = np.nanmean(b, axis=2)  # (width, seed)
        slopes = np.array([fit_exponent(widths[sel], cell_mean[sel, s])[0]
                           for s in range(cell_mean.shape[1])])
        n = len(slopes)
        half = stats.t.ppf(0.975, n - 1) * slopes.std(ddof=1) / np.sqrt(n)
        # bootstrap over pairs within every cell, pooled over seeds
        boots = []
        for _ in range(n_boot):
            idx = rng.integers(0, b.shape[2], size=b.shape[2])
            m = np.nanmean(np.nanmean(b[:, :, idx], axis=2), axis=1)
            boots.append(fit_exponent(widths[sel], m[sel])[0])
        pooled = np.nanmean(cell_mean, axis=1)
        seed_sd = cell_mean.std(axis=1, ddof=1)
        out[kind] = {
            "mean_barrier_per_width": pooled.tolist(),
            "seed_sd_per_width": seed_sd.tolist(),
            "ci95_per_width": (stats.t.ppf(0.975, n - 1) * seed_sd / np.sqrt(n)).tolist(),
            "exponent_per_seed": slopes.tolist(),
            "exponent_mean": float(slopes.mean()),
            "exponent_ci95_seeds": [float(slopes.mean() - half), float(slopes.mean() + half)],
            "exponent_pooled": fit_exponent(widths[sel], pooled[sel])[0],
            "exponent_ci95_bootstrap_pairs": [float(np.percentile(boots, 2.5)),
                                              float(np.percentile(boots, 97.5))],
        }
    # the training-loss confound
    tl = ds["train_loss"].values  # (width, seed, replica)
    pa = ds["pair_a"].values.astype(int)  # (width, seed, pair)
    pb = ds["pair_b"].values.astype(int)
    ends = 0.5 * (np.take_along_axis(tl, pa, axis=2) + np.take_along_axis(tl, pb, axis=2))
    cell_loss = np.nanmean(tl, axis=2)  # (width, seed)
    W = np.broadcast_to(widths[:, None], cell_loss.shape)
    for kind in ("raw", "aligned"):
        b = ds[f"barrier_{kind}"].values
        rel = np.nanmean(b / ends, axis=2)  # (width, seed)
        slopes = np.array([fit_exponent(widths[sel], rel[sel, s])[0]
                           for s in range(rel.shape[1])])
        n = len(slopes)
        half = stats.t.ppf(0.975, n - 1) * slopes.std(ddof=1) / np.sqrt(n)
        cm = np.nanmean(b, axis=2)

        def coef(cols):
            y = np.log(cm[sel][:, cols].ravel())
            X = np.column_stack([np.log(W[sel][:, cols].ravel()),
                                 np.log(cell_loss[sel][:, cols].ravel()), np.ones(y.size)])
            return np.linalg.lstsq(X, y, rcond=None)[0]

        full = coef(np.arange(cm.shape[1]))
        bs = np.array([coef(rng.integers(0, cm.shape[1], cm.shape[1])) for _ in range(n_boot)])
        out[kind].update({
            "relative_barrier_per_width": np.nanmean(rel, axis=1).tolist(),
            "relative_exponent_mean": float(slopes.mean()),
            "relative_exponent_ci95_seeds": [float(slopes.mean() - half),
                                             float(slopes.mean() + half)],
            "width_coef_given_loss": float(full[0]),
            "width_coef_given_loss_ci95": [float(np.percentile(bs[:, 0], 2.5)),
                                           float(np.percentile(bs[:, 0], 97.5))],
            "loss_coef": float(full[1]),
            "loss_coef_ci95": [float(np.percentile(bs[:, 1], 2.5)),
                               float(np.percentile(bs[:, 1], 97.5))],
        })
    out["train_loss_per_width"] = np.nanmean(cell_loss, axis=1).tolist()
    acc = ds["test_acc"].values  # (width, seed, replica)
    out["test_acc_per_width"] = np.nanmean(acc, axis=(1, 2)).tolist()
    out["train_acc_per_width"] = np.nanmean(ds["train_acc"].values, axis=(1, 2)).tolist()
    out["cell_seconds_total"] = float(np.nansum(ds["cell_seconds"].values))
    return out


def plot(summary, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.0))
    ax = fig.add_subplot()
    w = np.asarray(summary["widths"])
    for kind, c in (("raw", "C0"), ("aligned", "C1")):
        s = summary[kind]
        ax.errorbar(w, s["mean_barrier_per_width"], yerr=s["ci95_per_width"], fmt="o-",
                    color=c, capsize=3,
                    label=f"{kind}: slope {s['exponent_mean']:.2f} "
                          f"[{s['exponent_ci95_seeds'][0]:.2f}, {s['exponent_ci95_seeds'][1]:.2f}]")
    s = summary["aligned"]
    sel = w >= summary["min_width_fit"]
    ref = np.asarray(s["mean_barrier_per_width"])[sel][0] * (w[sel] / w[sel][0]) ** -0.5
    ax.plot(w[sel], ref, "k--", label="m^-1/2 (arXiv:2503.06001)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("hidden width m")
    ax.set_ylabel("barrier (train loss, mean over pairs)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("outdir")
    ap.add_argument("--min-width", type=int, default=16)
    a = ap.parse_args(argv)
    from glasslens import campaign

    ds = campaign.load(a.store)
    out = Path(a.outdir)
    out.mkdir(parents=True, exist_ok=True)
    campaign.to_dataframe(ds, inner="pair").to_csv(out / "pairs.csv", index=False)
    summary = {f"fit_min_width_{mw}": analyse(ds, mw) for mw in sorted({a.min_width, int(ds["width"].min())})}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    plot(summary[f"fit_min_width_{a.min_width}"], out / "barrier_vs_width.png")
    for k, s in summary.items():
        print(k)
        for kind in ("raw", "aligned"):
            t = s[kind]
            print(f"  {kind:8s} exponent {t['exponent_mean']:+.3f} CI95(seeds) "
                  f"[{t['exponent_ci95_seeds'][0]:+.3f}, {t['exponent_ci95_seeds'][1]:+.3f}] "
                  f"boot(pairs) [{t['exponent_ci95_bootstrap_pairs'][0]:+.3f}, "
                  f"{t['exponent_ci95_bootstrap_pairs'][1]:+.3f}]")
            print(f"  {'':8s} relative barrier exponent {t['relative_exponent_mean']:+.3f} "
                  f"[{t['relative_exponent_ci95_seeds'][0]:+.3f}, "
                  f"{t['relative_exponent_ci95_seeds'][1]:+.3f}]; given train loss: width "
                  f"{t['width_coef_given_loss']:+.3f} [{t['width_coef_given_loss_ci95'][0]:+.3f}, "
                  f"{t['width_coef_given_loss_ci95'][1]:+.3f}], loss {t['loss_coef']:+.3f} "
                  f"[{t['loss_coef_ci95'][0]:+.3f}, {t['loss_coef_ci95'][1]:+.3f}]")
    s = summary[f"fit_min_width_{a.min_width}"]
    for i, w in enumerate(s["widths"]):
        print(f"  m={int(w):5d} raw {s['raw']['mean_barrier_per_width'][i]:.4f} "
              f"+-{s['raw']['ci95_per_width'][i]:.4f}  aligned "
              f"{s['aligned']['mean_barrier_per_width'][i]:.4f} +-{s['aligned']['ci95_per_width'][i]:.4f}"
              f"  train_loss {s['train_loss_per_width'][i]:.4f} train_acc {s['train_acc_per_width'][i]:.3f} test_acc {s['test_acc_per_width'][i]:.3f}")


if __name__ == "__main__":
    main()
