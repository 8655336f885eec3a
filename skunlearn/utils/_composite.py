"""Forwarding a request to the parts of a composite transformer, side by side.

A :class:`~skunlearn.compose.ColumnTransformer` or :class:`~skunlearn.pipeline.FeatureUnion`
fits each of its transformers on the same rows (different columns of them, or all of them) and
concatenates their outputs. No part feeds another, so forgetting rows is forwarding the
positions to every part that learned from them; nothing downstream inside the composite needs a
refit. Each part must be able to forget (a skunlearn unlearner) or learn nothing from the
rows' values ('drop', 'passthrough', stateless transformers): a part that learned from the rows
and cannot unlearn makes the request fail before anything changes.
"""

from __future__ import annotations

import copy

from skunlearn.base import is_unlearner
from skunlearn.utils._stateless import learns_from_rows

__all__ = ["check_parts", "part_kind", "unlearn_parts"]

_CANNOT_UNLEARN = (
    "{owner}'s transformer {name!r} ({cls}) is fitted but cannot unlearn: it learned from the "
    "rows to forget and would keep what it learned. Use a skunlearn drop-in for it (for "
    "instance skunlearn.preprocessing.StandardScaler, skunlearn.impute.SimpleImputer, "
    "skunlearn.preprocessing.OneHotEncoder, and skunlearn.pipeline.make_pipeline to chain "
    "them), a transformer that learns nothing from the rows (FunctionTransformer, "
    "PolynomialFeatures, SplineTransformer with fixed knots, 'passthrough', 'drop'), or put the "
    "whole model inside each shard of a sharded ensemble, where every step is refit exactly on "
    "its shard's retained rows. See the user guide page 'Unlearning preprocessing and "
    "pipelines'."
)


def part_kind(part) -> str:
    """'drop', 'passthrough', 'unlearner', 'stateless' or 'fitted' (cannot unlearn)."""
    if part is None or (isinstance(part, str) and part == "drop"):
        return "drop"
    if isinstance(part, str) and part == "passthrough":
        return "passthrough"
    if is_unlearner(part):
        return "unlearner"
    if not learns_from_rows(part):
        return "stateless"
    return "fitted"


def check_parts(owner: str, parts) -> None:
    """Raise ``ValueError`` naming the first of ``parts`` (``(name, transformer)`` pairs)
    that learned from the rows and cannot unlearn."""
    for name, part in parts:
        if part_kind(part) == "fitted":
            raise ValueError(
                _CANNOT_UNLEARN.format(owner=owner, name=name, cls=type(part).__name__)
            )


def unlearn_parts(parts, positions):
    """Forget ``positions`` in every unlearner of ``parts`` (``(name, transformer)`` pairs).

    The parts are updated as shallow copies (unlearners rebind their state and never mutate
    it), so the caller's current parts stay as they are until it swaps the new ones in.

    Returns
    -------
    new_parts : list of estimators or str
        The parts after the request, in order (the same objects where nothing was done).
    details : dict
        The report's entries: ``exact``, ``distance_bound``, ``transformers`` (what was done to
        each: 'unlearned', 'stateless', 'passthrough' or 'drop'), ``samples_retrained`` (summed
        over the parts, each of which retrains on its own), ``transform_changed`` and
        ``transformer_reports`` (each unlearned part's own report).
    """
    new_parts, actions, reports = [], {}, {}
    for name, part in parts:
        kind = part_kind(part)
        actions[name] = kind
        if kind == "unlearner":
            part = copy.copy(part)
            part.unlearn(positions)
            actions[name] = "unlearned"
            reports[name] = part.unlearn_report_
        new_parts.append(part)
    approximate = [name for name, report in reports.items() if not report.get("exact", True)]
    bound = None
    if len(approximate) == 1:
        bound = reports[approximate[0]].get("distance_bound")
    elif approximate:
        bound = float("inf")  # bounds on different parts' states do not add up to one
    return new_parts, {
        "exact": not approximate,
        "distance_bound": bound,
        "transformers": actions,
        "samples_retrained": sum(int(r.get("samples_retrained", 0)) for r in reports.values()),
        "transform_changed": any(r.get("transform_changed", True) for r in reports.values()),
        "transformer_reports": reports,
    }


def estimate_parts(parts, positions) -> dict:
    """What :func:`unlearn_parts` would retrain, changing nothing."""
    costs = {
        name: part.estimate_unlearn_cost(positions)
        for name, part in parts
        if part_kind(part) == "unlearner"
    }
    return {
        "samples_retrained": sum(int(c.get("samples_retrained", 0)) for c in costs.values()),
        "transformers": costs,
    }
