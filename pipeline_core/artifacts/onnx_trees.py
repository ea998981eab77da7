"""Histogram gradient boosting as an ONNX graph that computes what scikit-learn computes, in float64.

skl2onnx's own converter for these models never produced a graph here: with onnx 1.23 it stops on
a Python ``False`` among the tree attributes ("Expected an int, got a boolean"), and where it does
convert it runs the trees in float32, while scikit-learn compares float64 features with float64
thresholds. This writes the fitted trees into ONNX-ML's ``TreeEnsemble`` (ai.onnx.ml opset 5),
which takes float64 features, thresholds and leaf values, routes missing values the way each
split learned, and sums the trees; the graph then adds the baseline and applies the same link
(and, for classifiers, the same label rule: ``raw > 0`` for two classes, the first largest score
otherwise) as the model's ``predict``/``predict_proba``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

TREE_ENSEMBLE_OPSET = 5  # ai.onnx.ml: the first version with float64 splits and leaves
# skl2onnx 1.20 refuses to write an ai.onnx.ml version above 3, so the node is declared at 3 and
# :func:`raise_ml_opset` lifts the finished model's import to 5 (every other ML op we emit exists there).
DECLARED_OPSET = 3
LOG_LINK_LOSSES = ("poisson", "gamma")  # predict = exp(raw) for these; the identity for the others


@dataclass
class _Trees:
    """Flat ``TreeEnsemble`` attributes for many trees (node and leaf arrays, one root per tree)."""

    roots: list[int]
    features: list[int]
    splits: list[float]
    true_ids: list[int]
    true_leafs: list[int]
    false_ids: list[int]
    false_leafs: list[int]
    missing_true: list[int]
    leaf_targets: list[int]
    leaf_weights: list[float]
    modes: list[int] = field(default_factory=list)  # 0: x <= split; 6: x is one of the node's members
    members: list[float] = field(default_factory=list)  # each member node's set, in node order, NaN after each


BRANCH_LEQ, BRANCH_MEMBER = 0, 6


class OnnxBoosting(BaseEstimator):
    """Stand-in for a fitted ``HistGradientBoostingClassifier``/``Regressor``.

    Splits on category codes become set-membership splits: the categories that go one way are listed,
    and a category the model never saw takes the missing-value branch, as in scikit-learn.
    """

    def __init__(self, predictors: list[list[Any]], baseline: np.ndarray, classes: np.ndarray | None,
                 log_link: bool, known: dict[int, set[int]]):
        self.predictors, self.baseline, self.classes, self.log_link = predictors, baseline, classes, log_link
        self.known = known

    @classmethod
    def from_fitted(cls, model: Any) -> OnnxBoosting:
        # ``_predictors``, ``_baseline_prediction`` and ``_bin_mapper`` are the fitted trees, the starting
        # score and the known categories: scikit-learn has no public way to read them (skl2onnx's
        # converter reads the same attributes).
        classes = getattr(model, "classes_", None)
        known: dict[int, set[int]] = {}
        if getattr(model, "is_categorical_", None) is not None:
            bitsets, index = model._bin_mapper.make_known_categories_bitsets()
            known = {int(f): _bits(bitsets[index[f]]) for f in np.flatnonzero(model.is_categorical_)}
        return cls(model._predictors, np.asarray(model._baseline_prediction, dtype=np.float64).reshape(-1),
                   classes, getattr(model, "loss", "") in LOG_LINK_LOSSES, known)

    @property
    def n_targets(self) -> int:
        return len(self.baseline)

    def ensemble(self) -> _Trees:
        out = _Trees([], [], [], [], [], [], [], [], [], [])
        for iteration in self.predictors:
            for target, predictor in enumerate(iteration):
                self._add_tree(out, predictor, target)
        return out

    def _add_tree(self, out: _Trees, predictor: Any, target: int) -> None:
        """Append one predictor: its numeric splits, then its category splits turned into member splits."""
        nodes, first = predictor.nodes, len(out.features)
        _add_nodes(out, nodes["is_leaf"].astype(bool), nodes["left"], nodes["right"], nodes["feature_idx"],
                   nodes["num_threshold"], nodes["missing_go_to_left"], nodes["value"], target)
        internal = [i for i in range(len(nodes)) if not nodes[i]["is_leaf"]]
        for position, i in enumerate(internal):
            if nodes[i]["is_categorical"]:
                left = _bits(predictor.raw_left_cat_bitsets[nodes[i]["bitset_idx"]])
                self._member_split(out, first + position, left, self.known[int(nodes[i]["feature_idx"])],
                                   bool(nodes[i]["missing_go_to_left"]))
        out.modes.extend(BRANCH_LEQ for _ in range(len(out.features) - len(out.modes)))

    @staticmethod
    def _member_split(out: _Trees, node: int, left: set[int], known: set[int], missing_left: bool) -> None:
        """scikit-learn sends missing and unknown categories one way; the listed set is the other way's, so
        anything not listed (an unseen category) follows the missing values. An empty set lists -1 (no code)."""
        out.modes.extend(BRANCH_LEQ for _ in range(node - len(out.modes)))
        out.modes.append(BRANCH_MEMBER)
        if missing_left:  # list the right-hand categories and make them the "true" side
            members = sorted(known - left)
            out.true_ids[node], out.false_ids[node] = out.false_ids[node], out.true_ids[node]
            out.true_leafs[node], out.false_leafs[node] = out.false_leafs[node], out.true_leafs[node]
        else:
            members = sorted(left)
        out.missing_true[node] = 0
        out.members.extend([*(float(m) for m in members or [-1]), float("nan")])


def _bits(words: np.ndarray) -> set[int]:
    """The values in a scikit-learn bitset (eight 32-bit words: value v is bit v % 32 of word v // 32)."""
    return {32 * w + b for w, word in enumerate(np.asarray(words, dtype=np.uint64)) for b in range(32)
            if (int(word) >> b) & 1}


def _add_nodes(out: _Trees, leaf: np.ndarray, left: np.ndarray, right: np.ndarray, feature: np.ndarray,
               threshold: np.ndarray, missing_left: np.ndarray, value: np.ndarray, target: int) -> None:
    """Append one tree: internal nodes become splits (``x <= threshold`` goes left), leaves leaf weights.

    Nodes keep their order; internal nodes and leaves are numbered separately (whole arrays at a time:
    a forest holds millions of nodes)."""
    leaf = np.asarray(leaf, dtype=bool)
    internal = ~leaf
    index = np.where(leaf, np.cumsum(leaf) - 1 + len(out.leaf_weights), np.cumsum(internal) - 1 + len(out.features))
    out.leaf_targets.extend([target] * int(leaf.sum()))
    out.leaf_weights.extend(np.asarray(value, dtype=np.float64)[leaf].tolist())
    if not internal.any():  # a tree that is one leaf: a split whose both sides reach it
        only = int(index[0])
        out.roots.append(len(out.features))
        _append_split(out, 0, 0.0, (only, 1), (only, 1), 0)
        return
    out.roots.append(int(index[0]))
    lefts, rights = np.asarray(left)[internal].astype(np.int64), np.asarray(right)[internal].astype(np.int64)
    out.features.extend(np.asarray(feature)[internal].astype(np.int64).tolist())
    out.splits.extend(np.asarray(threshold, dtype=np.float64)[internal].tolist())
    out.true_ids.extend(index[lefts].tolist())
    out.true_leafs.extend(leaf[lefts].astype(np.int64).tolist())
    out.false_ids.extend(index[rights].tolist())
    out.false_leafs.extend(leaf[rights].astype(np.int64).tolist())
    out.missing_true.extend(np.asarray(missing_left)[internal].astype(np.int64).tolist())


def _append_split(out: _Trees, feature: int, split: float, true: tuple[int, int], false: tuple[int, int],
                  missing_true: int) -> None:
    out.features.append(feature)
    out.splits.append(split)
    out.true_ids.append(true[0])
    out.true_leafs.append(true[1])
    out.false_ids.append(false[0])
    out.false_leafs.append(false[1])
    out.missing_true.append(missing_true)


def raise_ml_opset(onnx_model: Any) -> None:
    """Import ai.onnx.ml at :data:`TREE_ENSEMBLE_OPSET` when the graph holds a ``TreeEnsemble`` node."""
    if not any(n.op_type == "TreeEnsemble" and n.domain == "ai.onnx.ml" for n in onnx_model.graph.node):
        return
    for entry in onnx_model.opset_import:
        if entry.domain == "ai.onnx.ml":
            entry.version = max(entry.version, TREE_ENSEMBLE_OPSET)


class OnnxForest(BaseEstimator):
    """Stand-in for a fitted random forest, extra-trees or decision tree (one output).

    scikit-learn compares float32 features (the caller rounds them first) with float64 thresholds
    and averages the trees' float64 leaf values; so does the graph, which keeps tied class
    probabilities tied and picks the first class among them, as ``predict`` does.
    """

    def __init__(self, fitted_trees: list[Any], classes: np.ndarray | None):
        self.fitted_trees, self.classes = fitted_trees, classes

    @classmethod
    def from_fitted(cls, model: Any) -> OnnxForest | None:
        """``None`` for a multi-output model (the project trains none)."""
        if getattr(model, "n_outputs_", 1) != 1:
            return None
        trees = [e.tree_ for e in getattr(model, "estimators_", [model])]
        return cls(trees, getattr(model, "classes_", None))

    @property
    def n_targets(self) -> int:
        return 1 if self.classes is None else len(self.classes)

    def ensemble(self) -> _Trees:
        out = _Trees([], [], [], [], [], [], [], [], [], [])
        for tree in self.fitted_trees:
            values = tree.value[:, 0, :]
            if self.classes is not None:  # as ``DecisionTreeClassifier.predict_proba`` normalises them
                totals = values.sum(axis=1, keepdims=True)
                values = values / np.where(totals == 0.0, 1.0, totals)
            for target in range(self.n_targets):
                _add_nodes(out, tree.children_left == -1, tree.children_left, tree.children_right, tree.feature,
                           tree.threshold, tree.missing_go_to_left, values[:, target], target)
        return out


class OnnxIsolationFlag(BaseEstimator):
    """Stand-in for :class:`~pipeline_core.transformers.IsolationForestFlag`: its input, then 1.0 where the fitted
    isolation forest calls the row an outlier.

    Each tree's leaf holds scikit-learn's own per-leaf term (path length + average path length of the leaf's
    samples - 1), the trees read their features through the forest's feature subsets, the depths are summed
    in float64 and turned into the score and the offset comparison exactly as ``IsolationForest.predict``.
    """

    def __init__(self, forest: Any, n_features: int):
        self.forest, self.n_features = forest, n_features

    @classmethod
    def from_fitted(cls, flag: Any) -> OnnxIsolationFlag:
        return cls(flag.forest_, int(flag.n_features_in_))

    n_targets = 1

    def ensemble(self) -> _Trees:
        # ``_decision_path_lengths`` and ``_average_path_length_per_tree`` are the fitted per-leaf terms scikit-learn
        # adds up in ``score_samples``; there is no public way to read them.
        out = _Trees([], [], [], [], [], [], [], [], [], [])
        forest = self.forest
        for i, (tree, features) in enumerate(zip(forest.estimators_, forest.estimators_features_, strict=True)):
            t = tree.tree_
            leaf = t.children_left == -1
            term = forest._decision_path_lengths[i] + forest._average_path_length_per_tree[i] - 1.0
            feature = np.where(leaf, 0, np.asarray(features)[np.where(leaf, 0, t.feature)])
            _add_nodes(out, leaf, t.children_left, t.children_right, feature, t.threshold, t.missing_go_to_left,
                       term, 0)
        return out

    @property
    def n_out(self) -> int:
        return self.n_features + 1


def convert_isolation_flag(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from sklearn.ensemble._iforest import _average_path_length

    model: OnnxIsolationFlag = operator.raw_operator
    name = scope.get_unique_variable_name
    source = operator.inputs[0].full_name
    narrow, rounded, depths = name("narrow"), name("rounded"), name("depths")
    container.add_node("Cast", [source], [narrow], to=TensorProto.FLOAT, op_version=13)  # the forest reads float32
    container.add_node("Cast", [narrow], [rounded], to=TensorProto.DOUBLE, op_version=13)
    _tree_ensemble(scope, container, rounded, depths, model)
    forest = model.forest
    denominator = len(forest.estimators_) * float(_average_path_length([forest._max_samples])[0])
    constants = {"minus_denominator": -denominator, "two": 2.0, "offset": float(forest.offset_), "zero": 0.0}
    names = {key: name(key) for key in constants}
    for key, value in constants.items():
        container.add_initializer(names[key], TensorProto.DOUBLE, [], [value])
    exponent, power, score, decision, below, flag = (name(n) for n in ("exponent", "power", "score", "decision",
                                                                          "below", "flag"))
    container.add_node("Div", [depths, names["minus_denominator"]], [exponent], op_version=14)
    container.add_node("Pow", [names["two"], exponent], [power], op_version=15)
    container.add_node("Neg", [power], [score], op_version=13)
    container.add_node("Sub", [score, names["offset"]], [decision], op_version=14)
    container.add_node("Less", [decision, names["zero"]], [below], op_version=13)
    container.add_node("Cast", [below], [flag], to=TensorProto.DOUBLE, op_version=13)
    container.add_node("Concat", [source, flag], [operator.outputs[0].full_name], axis=1, op_version=13)


def convert_forest(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    model: OnnxForest = operator.raw_operator
    name = scope.get_unique_variable_name
    summed, count = name("tree_sum"), name("tree_count")
    _tree_ensemble(scope, container, operator.inputs[0].full_name, summed, model)
    container.add_initializer(count, TensorProto.DOUBLE, [], [float(len(model.fitted_trees))])
    average = operator.outputs[-1].full_name
    container.add_node("Div", [summed, count], [average], op_version=14)
    if model.classes is not None:
        index = name("class_index")
        container.add_node("ArgMax", [average], [index], axis=1, keepdims=1, select_last_index=0, op_version=13)
        class_labels(scope, operator, container, index, operator.outputs[0].full_name)


def _tree_ensemble(scope: Any, container: Any, source: str, output: str, model: Any) -> None:
    from onnx import numpy_helper

    trees = model.ensemble()
    members = {"membership_values": numpy_helper.from_array(np.asarray(trees.members))} if trees.members else {}
    container.add_node(
        "TreeEnsemble", [source], [output], op_domain="ai.onnx.ml",
        op_version=DECLARED_OPSET, name=scope.get_unique_operator_name("TreeEnsemble"),
        n_targets=model.n_targets, aggregate_function=1, post_transform=0, tree_roots=trees.roots,
        nodes_featureids=trees.features, nodes_splits=numpy_helper.from_array(np.asarray(trees.splits)),
        nodes_modes=numpy_helper.from_array(_modes(trees)),
        nodes_truenodeids=trees.true_ids, nodes_trueleafs=trees.true_leafs, nodes_falsenodeids=trees.false_ids,
        nodes_falseleafs=trees.false_leafs, nodes_missing_value_tracks_true=trees.missing_true,
        leaf_targetids=trees.leaf_targets, leaf_weights=numpy_helper.from_array(np.asarray(trees.leaf_weights)),
        **members)


def _modes(trees: _Trees) -> np.ndarray:
    modes = np.zeros(len(trees.features), dtype=np.uint8)  # BRANCH_LEQ unless a node was made a member split
    modes[: len(trees.modes)] = trees.modes
    return modes


def tree_parser(alias: str) -> Any:
    """A parser declaring ``label`` and ``probabilities`` (float64) for a classifier, ``variable`` for a regressor."""

    def parse(scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
        return _declare_outputs(scope, alias, model, inputs)

    return parse


def _declare_outputs(scope: Any, alias: str, model: Any, inputs: list[Any]) -> list[Any]:
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType, StringTensorType

    operator = scope.declare_local_operator(alias, model)
    operator.inputs = inputs
    if model.classes is None:
        operator.outputs.append(scope.declare_local_variable("variable", DoubleTensorType([None, 1])))
        return operator.outputs
    kind = np.asarray(model.classes).dtype.kind
    label = DoubleTensorType([None]) if kind == "f" else (
        Int64TensorType([None]) if kind in "biu" else StringTensorType([None]))
    operator.outputs.append(scope.declare_local_variable("label", label))
    operator.outputs.append(scope.declare_local_variable("probabilities", DoubleTensorType([None, len(model.classes)])))
    return operator.outputs


def shape_trees(operator: Any) -> None:
    """Types are declared by :func:`tree_parser`; only the row count is filled in."""
    rows = operator.inputs[0].get_first_dimension()
    for output in operator.outputs:
        output.type.shape = [rows, *output.type.shape[1:]]


def convert_boosting(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    model: OnnxBoosting = operator.raw_operator
    name = scope.get_unique_variable_name
    summed, baseline, raw = name("tree_sum"), name("baseline"), name("raw_score")
    _tree_ensemble(scope, container, operator.inputs[0].full_name, summed, model)
    container.add_initializer(baseline, TensorProto.DOUBLE, [1, model.n_targets], model.baseline.tolist())
    container.add_node("Add", [summed, baseline], [raw], op_version=14)
    if model.classes is None:
        container.add_node("Exp" if model.log_link else "Identity", [raw], [operator.outputs[0].full_name],
                           op_version=13)
        return
    _classify(scope, operator, container, raw, len(model.classes))


def _classify(scope: Any, operator: Any, container: Any, raw: str, n_classes: int) -> None:
    """Probabilities by the logistic or softmax link; the label by scikit-learn's rule on the raw scores."""
    from onnx import TensorProto

    name = scope.get_unique_variable_name
    label, probabilities = (o.full_name for o in operator.outputs)
    index = name("class_index")
    if n_classes == 2:
        positive, one, negative, zero, above = name("p1"), name("one"), name("p0"), name("zero"), name("above")
        container.add_node("Sigmoid", [raw], [positive], op_version=13)
        container.add_initializer(one, TensorProto.DOUBLE, [], [1.0])
        container.add_node("Sub", [one, positive], [negative], op_version=14)
        container.add_node("Concat", [negative, positive], [probabilities], axis=1, op_version=13)
        container.add_initializer(zero, TensorProto.DOUBLE, [], [0.0])
        container.add_node("Greater", [raw, zero], [above], op_version=13)  # np.argmax([.5, .5]) is 0: "> 0"
        container.add_node("Cast", [above], [index], to=TensorProto.INT64, op_version=13)
    else:
        container.add_node("Softmax", [raw], [probabilities], axis=1, op_version=13)
        container.add_node("ArgMax", [raw], [index], axis=1, keepdims=1, select_last_index=0, op_version=13)
    class_labels(scope, operator, container, index, label)


def class_labels(scope: Any, operator: Any, container: Any, index: str, label: str) -> None:
    """``label = classes[index]`` as a 1-D tensor, with the classes as numbers or strings."""
    from onnx import TensorProto

    name = scope.get_unique_variable_name
    classes = np.asarray(operator.raw_operator.classes)
    table, flat = name("classes"), name("flat_index")
    if classes.dtype.kind == "f":
        container.add_initializer(table, TensorProto.DOUBLE, [len(classes)], classes.astype(float).tolist())
    elif classes.dtype.kind in "biu":
        container.add_initializer(table, TensorProto.INT64, [len(classes)], classes.astype(np.int64).tolist())
    else:
        container.add_initializer(table, TensorProto.STRING, [len(classes)], [str(c).encode() for c in classes])
    shape = name("flat_shape")
    container.add_initializer(shape, TensorProto.INT64, [1], [-1])
    container.add_node("Reshape", [index, shape], [flat], op_version=14)
    container.add_node("Gather", [table, flat], [label], axis=0, op_version=13)
