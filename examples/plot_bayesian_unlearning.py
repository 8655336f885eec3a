"""
=========================================================
Forgetting rows from a Bayesian posterior
=========================================================

:class:`skunlearn.bayes.VariationalUnlearnLogistic` keeps a Gaussian posterior over the weights
of a logistic regression. Forgetting rows updates that posterior, and the question is how close
the result is to the posterior refitted without those rows.

With two features and no intercept the posterior lives in the plane, so it can be drawn. We fit
it on two overlapping classes, forget a third of one class (the rows of that class lying
furthest along the first feature, a targeted deletion that moves the posterior), and draw the
posterior before unlearning, after unlearning by each method, and refitted on the retained
rows. The model keeps no training rows (``store_data=False``), as in Nguyen, Low & Jaillet's
setting: every method sees only the posterior and the forgotten rows.
"""

# %%
# Data, full posterior, and the rows to forget
# --------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse

from skunlearn.bayes import EffectiveSampleSizeWarning, VariationalUnlearnLogistic
from skunlearn.bayes._gaussian import gaussian_kl

rng = np.random.RandomState(0)
n = 120
y = np.repeat([0, 1], n // 2)
X = rng.randn(n, 2) + np.where(y[:, None] == 1, [0.8, 0.6], [-0.8, -0.6])

params = {"fit_intercept": False, "store_data": False, "random_state": 0}
full = VariationalUnlearnLogistic(**params).fit(X, y)

ones = np.flatnonzero(y == 1)
forget = ones[np.argsort(X[ones, 0])[-len(ones) // 3 :]]
keep = np.setdiff1d(np.arange(n), forget)
refit = VariationalUnlearnLogistic(**params, tol=1e-10).fit(X[keep], y[keep])

# %%
# Forget with each method
# -----------------------
# "site" subtracts the forgotten rows' Gaussian sites, "eubo" minimizes the evidence upper
# bound, "rkl" matches the moments of the posterior divided by the forgotten rows' likelihood.
posteriors = {"before unlearning": full, "refit on retained rows": refit}
for method in ("site", "eubo", "rkl"):
    model = VariationalUnlearnLogistic(**params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EffectiveSampleSizeWarning)  # would say if unreliable
        model.unlearn(forget, method=method, X_forget=X[forget], y_forget=y[forget])
    posteriors[method] = model


def kl_to_refit(model):
    return gaussian_kl(
        model.posterior_mean_,
        model.posterior_covariance_,
        refit.posterior_mean_,
        refit.posterior_covariance_,
    )


for name, model in posteriors.items():
    print(f"{name:>24}: KL(q || q_refit) = {kl_to_refit(model):.4f}")

# %%
# The posteriors in weight space, and the data
# --------------------------------------------
# Ellipses enclose 95% of each Gaussian posterior. Before unlearning (grey) the posterior is
# tighter and displaced along the first weight; every method moves it onto the refitted
# posterior (black, dashed), dividing the KL divergence by ten or more. In two dimensions the
# importance-sampling methods are at their best; with tens of parameters (see the benchmark)
# site subtraction is the most reliable.
styles = {
    "before unlearning": {"color": "0.6", "ls": "-"},
    "refit on retained rows": {"color": "k", "ls": "--"},
    "site": {"color": "tab:blue", "ls": "-"},
    "eubo": {"color": "tab:orange", "ls": "-"},
    "rkl": {"color": "tab:green", "ls": "-"},
}


def ellipse(mean, cov, **style):
    values, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    width, height = 2 * np.sqrt(5.991 * values[::-1])  # chi2(2) 95% quantile
    return Ellipse(mean, width, height, angle=angle, fill=False, lw=2, **style)


fig, (ax_w, ax_x) = plt.subplots(1, 2, figsize=(11, 6))
for name, model in posteriors.items():
    ax_w.add_patch(ellipse(model.posterior_mean_, model.posterior_covariance_, **styles[name]))
    ax_w.plot(*model.posterior_mean_, "o", color=styles[name]["color"], label=name)
ax_w.autoscale_view()
ax_w.set(xlabel="weight of feature 1", ylabel="weight of feature 2", title="Posterior (95%)")
# Legends under the panels, where they hide no ellipse, point or line.
below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.14)}
ax_w.legend(ncol=3, **below)

colors = np.where(y == 1, "tab:red", "tab:blue")
ax_x.scatter(*X[keep].T, c=colors[keep], s=18, alpha=0.7)
ax_x.scatter(*X[forget].T, c="tab:red", edgecolors="k", s=40, label="forgotten rows")
grid = np.linspace(-3.5, 3.5, 2)
for name in ("before unlearning", "refit on retained rows", "site"):
    w = posteriors[name].posterior_mean_
    ax_x.plot(grid, -w[0] * grid / w[1], label=f"boundary: {name}", lw=2, **styles[name])
ax_x.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), xlabel="feature 1", ylabel="feature 2")
ax_x.set_title("Data and posterior-mean decision boundaries")
ax_x.legend(ncol=2, **below)
fig.tight_layout()
plt.show()

# %%
# The figure of merit, ``KL(q_unlearned || q_refit)`` compared with
# ``KL(q_full || q_refit)``, is measured over several data sets, removal scenarios and seeds in
# ``benchmarks/bench_bayes.py``; see :ref:`bayesian`.
