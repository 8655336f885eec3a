"""Membership inference: can an attacker tell the rows a model was trained on from other rows?

After unlearning, the forgotten rows should be indistinguishable from rows the model never saw:
an attack's AUC on forgotten rows against unseen rows should be 0.5, while on retained rows it
shows how much the model memorizes at all (the baseline the forgotten rows came down from).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.validation import check_is_fitted

from skunlearn.metrics._outputs import PROBA_FLOOR, kind_of, true_class_proba

__all__ = ["MembershipInferenceAttack", "membership_inference_auc"]

_ATTACKS = ("loss", "confidence", "shadow")


def _needs_proba(model, attack: str) -> None:
    if not hasattr(model, "predict_proba"):
        raise ValueError(
            f"attack={attack!r} reads predicted probabilities, and {type(model).__name__} has no "
            "predict_proba (a hard-voting ensemble, or an SVC without probability=True). Use a "
            "model with predict_proba, or attack='loss' on a regressor."
        )


def _loss_scores(model, X, y) -> np.ndarray:
    """Minus the per-row loss: log-likelihood of the label, or minus the squared error."""
    if kind_of(model) == "regressor":
        residual = np.asarray(model.predict(X), dtype=float) - np.asarray(y, dtype=float)
        return -(residual.reshape(residual.shape[0], -1) ** 2).sum(axis=1)
    _needs_proba(model, "loss")
    return np.log(np.maximum(true_class_proba(model, X, y), PROBA_FLOOR))


def _confidence_scores(model, X) -> np.ndarray:
    """The largest predicted class probability (the label is not needed)."""
    _needs_proba(model, "confidence")
    return np.max(np.asarray(model.predict_proba(X), dtype=float), axis=1)


def _shadow_features(model, X, y) -> np.ndarray:
    """What the shadow attack looks at: how sure and how right the model is on each row."""
    _needs_proba(model, "shadow")
    proba = np.asarray(model.predict_proba(X), dtype=float)
    p_true = np.maximum(true_class_proba(model, X, y, proba), PROBA_FLOOR)
    proba = np.maximum(proba, PROBA_FLOOR)
    entropy = -np.sum(proba * np.log(proba), axis=1)
    return np.column_stack(
        [
            np.log(p_true),
            np.log(np.maximum(1.0 - p_true, PROBA_FLOOR)),  # separates 0.999 from 0.99
            np.log(proba.max(axis=1)),
            entropy,
        ]
    )


def _check_rows(X, y, suffix: str = ""):
    """Labels as an array, checked against ``X``; ``suffix`` names the arguments in errors."""
    x_name, y_name = f"X{suffix}", f"y{suffix}"
    if y is None:
        raise ValueError(f"{y_name} is required: the attacks score each row with its label.")
    n_x = X.shape[0] if hasattr(X, "shape") else len(X)
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != n_x:
        raise ValueError(
            f"{x_name} and {y_name} have different numbers of rows: {n_x} and "
            f"{y.shape[0] if y.ndim else 'a scalar'}."
        )
    if n_x == 0:
        raise ValueError(f"{x_name} is empty; an AUC needs at least one row on each side.")
    return y


class MembershipInferenceAttack:
    """A membership-inference attack on a fitted model.

    Scores each row by how much it looks like a training row of the model (higher: more
    likely a member), and decides membership with a threshold calibrated on held-out rows.

    - ``"loss"`` (Yeom et al., 2018): the score is minus the row's loss, i.e. the
      log-probability the model gives the row's label (classifiers) or minus its squared error
      (regressors). Overfit models have lower loss on their training rows.
    - ``"confidence"`` (Salem et al., 2019): the largest predicted class probability; needs no
      label.
    - ``"shadow"`` (Shokri et al., 2017): ``n_shadow_models`` shadow models, clones of the
      target (or of ``shadow_estimator``), are trained on random halves of the attacker's own
      held-out rows; an attack classifier learns to tell their training halves from their
      other halves from the loss, confidence and entropy of their predictions, and is then
      applied to the target.

    Read more in the :ref:`User Guide <audit>`.

    Parameters
    ----------
    attack : {"loss", "confidence", "shadow"}, default="loss"
        The attack.
    fpr : float, default=0.05
        For ``"loss"`` and ``"confidence"``: :meth:`fit` sets the threshold so that this share
        of the held-out (non-member) rows is wrongly called a member.
    shadow_estimator : estimator, default=None
        Unfitted estimator the shadow models are cloned from; None means a clone of the
        attacked model (the attacker knows the training algorithm).
    n_shadow_models : int, default=4
        Number of shadow models.
    attack_estimator : classifier, default=None
        Classifier trained on the shadow models' outputs; None means a standardized logistic
        regression.
    random_state : int, RandomState instance or None, default=None
        Controls the random halves the shadow models are trained on.

    Attributes
    ----------
    threshold_ : float
        Rows scoring above it are called members. For ``"shadow"``, 0.5 on the attack
        classifier's probability.
    attack_model_ : classifier
        The fitted attack classifier (``"shadow"`` only).

    See Also
    --------
    membership_inference_auc : The attack's AUC on members against non-members.

    Notes
    -----
    The AUC of an attack does not depend on the threshold; :meth:`fit` matters for
    :meth:`predict` (a yes/no answer at a known false-positive rate) and is required for the
    shadow attack. Shadow models see half the held-out rows each, which may be fewer than the
    target saw: give them at least as many rows as the target's training set when possible.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from skunlearn.metrics import MembershipInferenceAttack
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = DecisionTreeClassifier(random_state=0).fit(X[:300], y[:300])
    >>> attack = MembershipInferenceAttack("loss", fpr=0.05).fit(model, X[300:450], y[300:450])
    >>> called_member = attack.predict(model, X[450:], y[450:])  # unseen rows
    >>> bool(called_member.mean() <= 0.1)
    True
    """

    def __init__(
        self,
        attack="loss",
        *,
        fpr=0.05,
        shadow_estimator=None,
        n_shadow_models=4,
        attack_estimator=None,
        random_state=None,
    ):
        self.attack = attack
        self.fpr = fpr
        self.shadow_estimator = shadow_estimator
        self.n_shadow_models = n_shadow_models
        self.attack_estimator = attack_estimator
        self.random_state = random_state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(attack={self.attack!r})"

    def _check_params(self) -> None:
        if self.attack not in _ATTACKS:
            raise ValueError(f"attack must be one of {_ATTACKS}, got {self.attack!r}.")
        if not isinstance(self.fpr, Real) or not 0 <= self.fpr <= 1:
            raise ValueError(f"fpr must be a number in [0, 1], got {self.fpr!r}.")
        if (
            not isinstance(self.n_shadow_models, Integral)
            or isinstance(self.n_shadow_models, bool)
            or self.n_shadow_models < 1
        ):
            raise ValueError(
                f"n_shadow_models must be a positive integer, got {self.n_shadow_models!r}."
            )

    def fit(self, model, X_heldout, y_heldout):
        """Calibrate the attack on rows the attacked model did not train on.

        Parameters
        ----------
        model : estimator
            The fitted model under attack (for ``"shadow"``, also the template of the shadow
            models unless ``shadow_estimator`` is given).
        X_heldout : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows known not to be members, from the same distribution as the training rows.
        y_heldout : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        self : MembershipInferenceAttack
            The calibrated attack.
        """
        self._check_params()
        check_is_fitted(model)
        y_heldout = _check_rows(X_heldout, y_heldout, "_heldout")
        if self.attack != "shadow":
            scores = self._threshold_scores(model, X_heldout, y_heldout)
            self.threshold_ = float(np.quantile(scores, 1.0 - self.fpr))
            return self

        n = y_heldout.shape[0]
        if n < 4:
            raise ValueError(f"The shadow attack needs at least 4 held-out rows, got {n}.")
        rng = check_random_state(self.random_state)
        template = model if self.shadow_estimator is None else self.shadow_estimator
        features, labels = [], []
        for _ in range(self.n_shadow_models):
            order = rng.permutation(n)
            inside, outside = order[: n // 2], order[n // 2 :]
            shadow = clone(template).fit(_safe_indexing(X_heldout, inside), y_heldout[inside])
            for rows, member in ((inside, 1), (outside, 0)):
                features.append(
                    _shadow_features(shadow, _safe_indexing(X_heldout, rows), y_heldout[rows])
                )
                labels.append(np.full(rows.size, member))
        attack_model = self.attack_estimator
        if attack_model is None:
            attack_model = make_pipeline(StandardScaler(), LogisticRegression())
        self.attack_model_ = clone(attack_model).fit(np.vstack(features), np.concatenate(labels))
        self.threshold_ = 0.5
        return self

    def _check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise NotFittedError(
                f"This {type(self).__name__}(attack={self.attack!r}) is not calibrated yet: "
                "call fit(model, X_heldout, y_heldout) first."
            )

    def _threshold_scores(self, model, X, y):
        if self.attack == "loss":
            return _loss_scores(model, X, y)
        return _confidence_scores(model, X)

    def score_samples(self, model, X, y):
        """Membership score of each row: the higher, the more it looks like a training row.

        Parameters
        ----------
        model : estimator
            The fitted model under attack (the one :meth:`fit` saw, or the same model after
            unlearning).
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            For ``"loss"`` and ``"confidence"`` no :meth:`fit` is needed.
        """
        self._check_params()
        check_is_fitted(model)
        y = _check_rows(X, y)
        if self.attack != "shadow":
            return self._threshold_scores(model, X, y)
        self._check_fitted("attack_model_")
        proba = self.attack_model_.predict_proba(_shadow_features(model, X, y))
        return proba[:, list(self.attack_model_.classes_).index(1)]

    def predict(self, model, X, y):
        """Call each row a member (True) or not, at the threshold calibrated by :meth:`fit`.

        Parameters
        ----------
        model : estimator
            The fitted model under attack.
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to classify.
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        is_member : ndarray of bool, shape (n_samples,)
        """
        self._check_fitted("threshold_")
        return self.score_samples(model, X, y) > self.threshold_


def membership_inference_auc(
    model,
    X_members,
    y_members,
    X_nonmembers,
    y_nonmembers,
    *,
    attack="loss",
    X_shadow=None,
    y_shadow=None,
    random_state=None,
) -> float:
    """AUC of a membership-inference attack telling two sets of rows apart.

    To audit unlearning, compute it twice against the same never-seen rows: on the forgotten
    rows (0.5 is ideal: they look exactly like rows the model never saw) and on the retained
    rows (the baseline: how much the model memorizes its training rows at all).

    Parameters
    ----------
    model : estimator
        The fitted model under attack.
    X_members, y_members : array-like
        Rows labelled "member" (e.g. forgotten rows, or retained rows).
    X_nonmembers, y_nonmembers : array-like
        Rows the model never trained on, from the same distribution.
    attack : {"loss", "confidence", "shadow"} or MembershipInferenceAttack, default="loss"
        The attack (see :class:`MembershipInferenceAttack`); an attack instance is used as is
        (a shadow attack must already be fitted).
    X_shadow, y_shadow : array-like, default=None
        The attacker's own rows, disjoint from both sets, to train the shadow models
        (``attack="shadow"`` only).
    random_state : int, RandomState instance or None, default=None
        Randomness of the shadow attack.

    Returns
    -------
    auc : float
        Area under the ROC curve of the membership scores (1 for members, 0 for
        non-members). 0.5 means the attack does no better than chance; below 0.5, the
        members look *less* like training rows than unseen rows do.

    See Also
    --------
    MembershipInferenceAttack : The attacks themselves.
    verify_unlearning : Reports these AUCs among its audit figures.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from skunlearn.metrics import membership_inference_auc
    >>> X, y = make_classification(400, flip_y=0.2, random_state=0)
    >>> model = KNeighborsClassifier(5, weights="distance").fit(X[:200], y[:200])
    >>> auc = membership_inference_auc(model, X[:200], y[:200], X[200:], y[200:])
    >>> bool(auc > 0.7)  # memorized training rows are easy to recognise
    True
    """
    y_members = _check_rows(X_members, y_members, "_members")
    y_nonmembers = _check_rows(X_nonmembers, y_nonmembers, "_nonmembers")
    if isinstance(attack, MembershipInferenceAttack):
        attacker = attack
    elif attack in _ATTACKS:
        attacker = MembershipInferenceAttack(attack, random_state=random_state)
        if attack == "shadow":
            if X_shadow is None or y_shadow is None:
                raise ValueError(
                    "attack='shadow' trains shadow models on the attacker's own rows: pass "
                    "X_shadow and y_shadow (rows disjoint from both sets)."
                )
            attacker.fit(model, X_shadow, y_shadow)
    else:
        raise ValueError(
            f"attack must be one of {_ATTACKS} or a MembershipInferenceAttack, got {attack!r}."
        )
    scores = np.concatenate(
        [
            attacker.score_samples(model, X_members, y_members),
            attacker.score_samples(model, X_nonmembers, y_nonmembers),
        ]
    )
    truth = np.concatenate([np.ones(y_members.shape[0]), np.zeros(y_nonmembers.shape[0])])
    return float(roc_auc_score(truth, scores))
