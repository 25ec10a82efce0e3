"""Tune the composer's ranking weights on the dev split, and estimate how well that tuning
carries over to questions it did not see.

    python -m eval.tune [--samples 400] [--seed 1]

A seeded random search draws weight sets from GRID and scores each by the share of dev
answerable questions whose answer cites a gold span. The estimate is a repeated 4-fold
cross-validation of the search itself: pick the best set on three quarters of dev, score
it on the fourth. The test split is never read. Nothing is written: the chosen weights
are the constants at the top of service/answer.py, set from this output.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import asdict, fields

import numpy as np

from eval import dataset, metrics
from eval.dataset import Question
from index.encoder import load_encoder
from service.answer import Weights
from service.engine import Engine, Evidence
from service.settings import get_settings

# The values each weight is drawn from (see service/answer.py for what each does).
GRID: dict[str, tuple[float, ...]] = {
    "dense": (0.4, 0.6, 0.8, 1.0),
    "terms": (0.0, 0.1, 0.2, 0.3, 0.5),
    "passage": (0.0, 0.05, 0.1, 0.2),
    "context": (0.0, 0.2, 0.4, 0.6),
    "type_bonus": (0.0, 0.05, 0.1, 0.15, 0.25),
    "question": (0.1, 0.25, 0.5),
    "short": (0.0, 0.05, 0.1),
    "filler": (0.0, 0.05, 0.1, 0.2),
    "lead_in": (0.1, 0.2, 0.4),
    "margin": (0.05, 0.1, 0.15),
    "list_margin": (0.15, 0.22, 0.3),
}
FOLDS = 4
REPEATS = 20


def sample(rng: random.Random) -> Weights:
    """Given a random generator, return a weight set drawn from GRID."""
    return Weights(**{f.name: rng.choice(GRID[f.name]) for f in fields(Weights)})


def cites_gold(engine: Engine, found: Evidence, question: Question, weights: Weights) -> bool:
    """Whether the answer composed with `weights` cites a span of the question's gold."""
    answer = engine.compose(found, weights)
    gold = [(g.document, g.start, g.end) for g in question.gold]
    return not answer.abstained and any(
        metrics.overlaps((c.document_id, c.start, c.end), g) for c in answer.citations for g in gold
    )


def cross_validate(hits: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Given hits (weight sets x questions), return the mean and standard deviation over
    repeats of the held-out share cited when the best set is chosen on the other folds."""
    rng = np.random.default_rng(seed)
    n = hits.shape[1]
    scores = []
    for _ in range(REPEATS):
        order = rng.permutation(n)
        held = 0.0
        for fold in np.array_split(order, FOLDS):
            train = np.setdiff1d(order, fold)
            best = int(np.argmax(hits[:, train].mean(axis=1)))
            held += float(hits[best, fold].sum())
        scores.append(held / n)
    return float(np.mean(scores)), float(np.std(scores))


def tune(engine: Engine, questions: Sequence[Question], samples: int, seed: int) -> None:
    """Run the search and print the defaults' score, the best set and the estimate."""
    answerable = [q for q in questions if q.answerable]
    evidence = [engine.evidence(q.question) for q in answerable]
    rng = random.Random(seed)  # noqa: S311 - a search, not cryptography
    candidates = [Weights(), *(sample(rng) for _ in range(samples))]
    hits = np.array(
        [
            [cites_gold(engine, e, q, w) for e, q in zip(evidence, answerable, strict=True)]
            for w in candidates
        ],
        dtype=np.float64,
    )
    means = hits.mean(axis=1)
    best = int(np.argmax(means))
    print(f"dev answerable questions: {len(answerable)}; weight sets tried: {len(candidates)}")
    print(f"current weights: gold cited {means[0]:.3f} on dev (in sample)")
    print(f"best weights:    gold cited {means[best]:.3f} on dev (in sample)")
    print(f"  {asdict(candidates[best])}")
    if samples:
        # The current weights were themselves picked on dev: only the random sets take part.
        mean, sd = cross_validate(hits[1:])
        print(f"the search, cross-validated ({FOLDS} folds x {REPEATS}): {mean:.3f} +- {sd:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    settings = get_settings()
    encoder = load_encoder(settings.model, settings.data_dir / "models")
    engine = Engine(settings.data_dir, encoder)
    texts = engine.state.generation.texts
    questions = dataset.select(dataset.locate(dataset.load(), texts), "dev")
    tune(engine, questions, args.samples, args.seed)


if __name__ == "__main__":
    main()
