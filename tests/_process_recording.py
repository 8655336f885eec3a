"""An estimator that records the process that trained it, for the cluster-backend tests."""

import os

from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.tree import DecisionTreeClassifier


class TreeRecordingProcess(ClassifierMixin, BaseEstimator):
    """A seeded decision tree that remembers the process that trained it."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        self.tree_ = DecisionTreeClassifier(random_state=self.random_state).fit(X, y)
        self.classes_ = self.tree_.classes_
        self.pid_ = os.getpid()
        return self

    def predict(self, X):
        return self.tree_.predict(X)

    def predict_proba(self, X):
        return self.tree_.predict_proba(X)
