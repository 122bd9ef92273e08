"""A robust random cut forest in numpy: building the trees and scoring points.

The forest is the one of Guha, Mishra, Roy and Schrijvers, "Robust Random Cut Forest
Based Anomaly Detection on Streams" (ICML 2016): each tree is a random cut tree over a
uniform sample (without replacement) of ``num_samples_per_tree`` training points. A node
over a set of points picks a dimension with probability proportional to that dimension's
range in the node's bounding box, cuts it at a uniform value of the range, sends points
``x[dim] <= cut`` left and the rest right, and stops at a single (possibly repeated) point.

The score is AWS's (``AnomalyScoreVisitor`` of github.com/aws/random-cut-forest-by-aws,
the library behind SageMaker's RCF): the expected change in the tree's complexity, in
depth terms, if the point were inserted. Walking the point's path from the root (depth 0)
to the leaf it falls in, with nodes ``n_0 .. n_L``:

- at an internal node ``n_i`` with bounding box ``[lo, hi]`` the chance a random cut of
  the box widened to take in ``x`` separates ``x`` from it is
  ``p_i = sum_d(max(lo_d - x_d, 0) + max(x_d - hi_d, 0)) / sum_d(max(hi_d, x_d) - min(lo_d, x_d))``
  (0 when ``x`` lies inside the box); separated there, ``x`` would sit at depth ``i + 1``;
- at the leaf (depth ``L``, ``m`` copies of its point), a point that is not the leaf's
  point scores ``1 / (L + 1)``; the leaf's own point scores
  ``(1 - m / (2 M)) / (L + log2(m + 1))`` for a tree of ``M`` sample points;
- leaf to root, ``s <- p_i / (i + 1) + (1 - p_i) s``, i.e.
  ``s = sum_i w_i p_i / (i + 1) + w_L s_leaf`` with ``w_i = prod_{j < i} (1 - p_j)``;
- the tree's score is ``s * log2(M + 1)``; the point's score the mean over trees.

Typical points score near 1 and outliers several times that. Both building and scoring go
level by level over all trees at once: every array operation covers every tree (and, when
scoring, every point) at that depth, so Python loops only over depths.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from sagebrush.algorithms.artifacts import load_arrays, save_arrays

# Scoring works on (point, tree) pairs; batches this small keep each level's arrays in cache.
_PAIRS_PER_CHUNK = 1 << 15


@dataclass(frozen=True)
class Forest:
    """All trees' nodes in flat arrays; leaves have ``dim == -1``.

    Nodes are numbered depth by depth (all roots, then all nodes of depth 1, ...), so a
    child's id is always larger than its parent's; ``roots[t]`` is tree ``t``'s root.
    """

    dim: np.ndarray  # int32 (nodes,): the cut dimension
    cut: np.ndarray  # float64 (nodes,): x[dim] <= cut goes left
    left: np.ndarray  # int32 (nodes,)
    right: np.ndarray  # int32 (nodes,)
    lo: np.ndarray  # float32 (nodes, features): the node's bounding box
    hi: np.ndarray  # float32 (nodes, features)
    mass: np.ndarray  # int32 (nodes,): sample points under the node
    depth: np.ndarray  # int32 (nodes,): the root is at depth 0
    roots: np.ndarray  # int32 (trees,)

    @property
    def trees(self) -> int:
        return len(self.roots)

    @property
    def features(self) -> int:
        return int(self.lo.shape[1])

    @cached_property
    def _derived(self) -> _Derived:
        return _Derived.of(self)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Forest:
        return cls(**{name: np.asarray(arrays[name]) for name in _FIELDS})

    def score(self, points: np.ndarray) -> np.ndarray:
        """The anomaly score of each row of ``points`` (float64)."""
        rows = np.asarray(points, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self.features:
            raise ValueError(f"points must have {self.features} columns")
        derived = self._derived
        chunk = max(1, _PAIRS_PER_CHUNK // self.trees)
        parts = [
            self._score_chunk(rows[i : i + chunk], derived) for i in range(0, len(rows), chunk)
        ]
        return np.concatenate(parts) if parts else np.empty(0)

    def _score_chunk(self, rows: np.ndarray, derived: _Derived) -> np.ndarray:
        trees, count = self.trees, len(rows)
        node = np.tile(self.roots, count)  # pair i is (point i // trees, tree i % trees)
        x = np.repeat(rows, trees, axis=0)
        total = np.zeros(len(node))
        weight = np.ones(len(node))
        active = np.arange(len(node))
        while active.size:
            at = node[active]
            lo, hi = np.take(self.lo, at, axis=0), np.take(self.hi, at, axis=0)
            # How far x lies outside the box, per dimension: max(lo - x, x - hi, 0), in place.
            np.subtract(lo, x, out=lo)
            np.subtract(x, hi, out=hi)
            np.maximum(lo, hi, out=lo)
            np.maximum(lo, 0, out=lo)
            grown = lo.sum(axis=1).astype(np.float64)
            # A zero widened range means x is the leaf's own point: p is 0 then.
            p = grown / np.maximum(derived.box_range[at] + grown, np.finfo(np.float64).tiny)
            # Internal nodes have seen == 0; at a leaf p is 1 unless x is its point.
            step = np.where(grown == 0, derived.seen[at], p * derived.unseen[at])
            w = weight[active]
            total[active] += w * step
            weight[active] = w * (1.0 - p)
            inner = self.dim[at] >= 0
            active, at, x = active[inner], at[inner], x[inner]
            goes_left = x[np.arange(len(at)), self.dim[at]] <= self.cut[at]
            node[active] = np.where(goes_left, self.left[at], self.right[at])
        per_tree = total.reshape(count, trees) * np.log2(derived.tree_mass + 1.0)
        return np.asarray(per_tree.mean(axis=1))


@dataclass(frozen=True)
class _Derived:
    """Per-node constants of the score, computed once per forest."""

    box_range: np.ndarray  # sum over dimensions of hi - lo
    unseen: np.ndarray  # 1 / (depth + 1)
    seen: np.ndarray  # a leaf's own point: (1 - m / 2M) / (depth + log2(m + 1)); 0 inside
    tree_mass: np.ndarray  # (trees,)

    @classmethod
    def of(cls, forest: Forest) -> _Derived:
        mass = forest.mass.astype(np.float64)
        depth = forest.depth.astype(np.float64)
        tree_mass = mass[forest.roots]
        owner = _tree_of(forest)
        seen = (1.0 - mass / (2.0 * tree_mass[owner])) / (depth + np.log2(mass + 1.0))
        return cls(
            box_range=(forest.hi.astype(np.float64) - forest.lo).sum(axis=1),
            unseen=1.0 / (depth + 1.0),
            seen=np.where(forest.dim < 0, seen, 0.0),
            tree_mass=tree_mass,
        )


def _tree_of(forest: Forest) -> np.ndarray:
    """The tree each node belongs to, handed down from parents one depth at a time."""
    owner = np.zeros(len(forest.dim), dtype=np.int64)
    owner[forest.roots] = np.arange(forest.trees)
    # Nodes are numbered depth by depth, so each depth is a contiguous run of ids.
    bounds = np.searchsorted(forest.depth, np.arange(int(forest.depth.max()) + 2))
    for start, stop in itertools.pairwise(bounds):
        parents = start + np.flatnonzero(forest.dim[start:stop] >= 0)
        owner[forest.left[parents]] = owner[parents]
        owner[forest.right[parents]] = owner[parents]
    return owner


_FIELDS = ("dim", "cut", "left", "right", "lo", "hi", "mass", "depth", "roots")


def sample_indices(rows: int, trees: int, per_tree: int, rng: np.random.Generator) -> np.ndarray:
    """(trees, n) row indices: a uniform sample without replacement for each tree."""
    size = min(rows, per_tree)
    if size == rows:
        return np.tile(np.arange(rows), (trees, 1))
    return np.stack([np.sort(rng.choice(rows, size, replace=False)) for _ in range(trees)])


def build(samples: np.ndarray, rng: np.random.Generator) -> Forest:
    """One random cut tree per ``samples[t]`` (trees x points x features)."""
    trees, size, features = samples.shape
    points = samples.reshape(trees * size, features).astype(np.float32, copy=False)
    levels: list[_Level] = []
    lengths = np.full(trees, size, dtype=np.int64)
    next_id = trees
    while len(lengths):
        level, points, lengths = _split(points, lengths, next_id, rng)
        levels.append(level)
        next_id += 2 * int((level.dim >= 0).sum())
    return Forest(
        dim=np.concatenate([lv.dim for lv in levels]),
        cut=np.concatenate([lv.cut for lv in levels]),
        left=np.concatenate([lv.left for lv in levels]),
        right=np.concatenate([lv.right for lv in levels]),
        lo=np.concatenate([lv.lo for lv in levels]),
        hi=np.concatenate([lv.hi for lv in levels]),
        mass=np.concatenate([lv.mass for lv in levels]),
        depth=np.concatenate([np.full(len(lv.dim), d, np.int32) for d, lv in enumerate(levels)]),
        roots=np.arange(trees, dtype=np.int32),
    )


@dataclass(frozen=True)
class _Level:
    """The nodes of one depth, in node-id order."""

    dim: np.ndarray
    cut: np.ndarray
    left: np.ndarray
    right: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    mass: np.ndarray


def _split(
    points: np.ndarray, lengths: np.ndarray, next_id: int, rng: np.random.Generator
) -> tuple[_Level, np.ndarray, np.ndarray]:
    """Cut every node of one depth; each node's points are a contiguous run of ``points``."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    lo = np.minimum.reduceat(points, starts, axis=0)
    hi = np.maximum.reduceat(points, starts, axis=0)
    spans = hi.astype(np.float64) - lo
    total = spans.sum(axis=1)
    inner = total > 0
    count = len(lengths)
    dim = np.full(count, -1, dtype=np.int32)
    cut = np.full(count, np.nan)
    left = np.full(count, -1, dtype=np.int32)
    right = np.full(count, -1, dtype=np.int32)

    cuts = int(inner.sum())
    # The dimension: the first whose running sum of ranges passes a uniform draw below the total.
    draw = rng.random(cuts) * total[inner]
    chosen = (np.cumsum(spans[inner], axis=1) > draw[:, None]).argmax(axis=1)
    rows = np.flatnonzero(inner)
    low = lo[rows, chosen].astype(np.float64)
    high = hi[rows, chosen].astype(np.float64)
    # A cut in [low, high): the lowest point always goes left, the highest right.
    value = np.minimum(low + rng.random(cuts) * (high - low), np.nextafter(high, -np.inf))
    dim[inner], cut[inner] = chosen, value
    children = next_id + np.arange(2 * cuts, dtype=np.int32)
    left[inner], right[inner] = children[0::2], children[1::2]
    level = _Level(dim, cut, left, right, lo, hi, lengths.astype(np.int32))

    # Drop finished leaves; order each cut node's points left part first, then right.
    node_of = np.repeat(np.arange(count), lengths)
    keep = inner[node_of]
    kept, owner = points[keep], node_of[keep]
    goes_left = kept[np.arange(len(kept)), dim[owner]] <= cut[owner]
    order = np.argsort(owner * 2 + (~goes_left), kind="stable")
    lefts = np.bincount(owner, weights=goes_left, minlength=count)[inner].astype(np.int64)
    new_lengths = np.column_stack([lefts, lengths[inner] - lefts]).ravel()
    return level, kept[order], new_lengths


# -- the artifact ------------------------------------------------------------------------


def save(forest: Forest, model_dir: Path, **meta: int | float | str) -> None:
    """The forest's arrays (and ``meta`` scalars) as the model file in ``model_dir``."""
    save_arrays(model_dir, {**forest.arrays(), **meta})


def load(model_dir: Path) -> Forest:
    return Forest.from_arrays(load_arrays(model_dir, "Random Cut Forest"))
