"""scikit-learn's own estimator checks, every one, each as its own test.

No check is expected to fail. One runs under different settings: the check that integer
sample weights act exactly like repeated rows (`check_sample_weight_equivalence_on_dense_
data`). With minibatches, repeating a row changes which rows share a batch and how many
steps an epoch has, so no minibatch SGD trainer can pass it (scikit-learn runs its own
MLPRegressor through it with full batches for the same reason). With full batches and no
validation split the property holds exactly in the mathematics, and that is what this
test checks: the weighted mean cost equals the repeated-rows cost, the weighted
standardizers equal the repeated-rows ones, and rows of weight 0 are left out.

`check_array_api_input` (NumPy inputs with array-API dispatch switched on must give the same
results) skips itself unless SCIPY_ARRAY_API=1 is set; the test sets it for that check so
that it runs instead of being skipped.

The estimators get few epochs here (parameters, not weaker defaults), to keep this fast.
"""

from __future__ import annotations

from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from descent.sklearn import NeuralNetClassifier, NeuralNetRegressor

FAST = dict(epochs=30, random_state=0, ensemble=2)  # 2 members: the merged path, quickly
FULL_BATCH_CHECKS = {"check_sample_weight_equivalence_on_dense_data"}


def _check_name(check) -> str:
    while hasattr(check, "func"):
        check = check.func
    return check.__name__


@parametrize_with_checks([NeuralNetRegressor(**FAST), NeuralNetClassifier(**FAST)])
def test_sklearn_check(estimator, check, monkeypatch):
    if _check_name(check) == "check_array_api_input":
        monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    if _check_name(check) in FULL_BATCH_CHECKS:
        estimator = clone(estimator).set_params(batch_size=10_000, early_stopping=False)
    check(estimator)
