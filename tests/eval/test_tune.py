"""The weight search's pieces: drawing weight sets and cross-validating the search."""

from __future__ import annotations

import random
from dataclasses import asdict

import numpy as np

from eval import tune


def test_a_drawn_weight_set_takes_every_value_from_the_grid() -> None:
    drawn = asdict(tune.sample(random.Random(0)))
    assert drawn.keys() == tune.GRID.keys()
    assert all(value in tune.GRID[key] for key, value in drawn.items())


def test_cross_validation_scores_the_set_chosen_on_the_other_folds() -> None:
    # Set 0 is right on every question, set 1 on none: whatever the folds, set 0 is chosen.
    hits = np.array([[1.0] * 12, [0.0] * 12])
    assert tune.cross_validate(hits) == (1.0, 0.0)


def test_cross_validation_pays_for_choosing_on_noise() -> None:
    # Each set is right on exactly one question: the best on the training folds is never
    # right on the held-out fold, which the in-sample best (1 of 8) hides.
    hits = np.eye(8)
    mean, _ = tune.cross_validate(hits)
    assert mean == 0.0
