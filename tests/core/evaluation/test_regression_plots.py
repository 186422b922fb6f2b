"""The regression figures: valid SVG, labelled axes, no NaN, a size bounded at any row count, exact streamed bins."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from flyte.core.evaluation.regression_plots import DISPLAY, ResidualSketch, regression_plots, sketch_plots


def _rows(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return 3 * x + rng.standard_t(4, n) + 50, 2.8 * x + 50.2  # actual, predicted


def _svg(figure: str) -> ET.Element:
    root = ET.fromstring(f"<div>{figure}</div>")  # a figure is its <svg> and a caption paragraph
    return root.find("svg")


def _check(figure: str) -> ET.Element:
    svg = _svg(figure)
    assert svg is not None
    assert not re.search(r"\b(nan|inf)\b", figure, re.IGNORECASE), figure[:200]
    _, _, width, height = (float(v) for v in svg.get("viewBox").split())
    for shape in svg.iter():  # every mark inside the picture
        for name, limit in (("x", width), ("cx", width), ("y", height), ("cy", height)):
            if shape.get(name) is not None:
                assert -1 <= float(shape.get(name)) <= limit + 1, (shape.tag, shape.attrib)
    return svg


@pytest.mark.parametrize("n", [300, 1_000_000], ids=["points", "cells"])
def test_figures_are_valid_svg_with_labelled_axes(n):
    actual, predicted = _rows(n)
    figures = regression_plots(actual, predicted, target="price")
    texts = ["".join(_check(f).itertext()) for f in figures]
    assert "predicted price" in texts[0] and "actual price" in texts[0]
    assert "residual (actual - predicted price)" in texts[1] and "rows" in texts[1]
    assert "predicted price" in texts[2] and "residual (actual - predicted)" in texts[2]
    marks = [len(_svg(f).findall("circle")) for f in figures]
    assert marks == ([300, 0, 300] if n == 300 else [0, 0, 0])


def test_size_is_bounded_at_a_million_rows_however_they_arrive():
    actual, predicted = _rows(1_000_000, seed=1)
    sketch = ResidualSketch()
    for start in range(0, 1_000_000, 65_536):
        sketch.add(actual[start : start + 65_536], predicted[start : start + 65_536])
    figures = sketch_plots(sketch)
    assert sketch.points is None and sketch.rows == 1_000_000
    for figure in figures:
        _check(figure)
        assert len(figure) < 250_000
        assert len(_svg(figure).findall("rect")) <= DISPLAY * DISPLAY + 1
    # The worst case, cells filling the whole square, stays bounded too.
    rng = np.random.default_rng(2)
    wide = regression_plots(rng.uniform(0, 1, 1_000_000), rng.uniform(0, 1, 1_000_000))
    assert max(len(f) for f in wide) < 250_000
    assert 900 < len(_svg(wide.predicted_vs_actual).findall("rect")) <= DISPLAY * DISPLAY + 1  # full, yet capped


def test_streamed_bins_are_those_of_the_final_grid():
    # Batches that widen the range both ways force the grid to double and merge; the counts must be exactly a
    # histogram of every row on the final grid.
    rng = np.random.default_rng(3)
    batches = [rng.integers(-2**k, 2**k, 1000).astype(np.float64) / 8 for k in (3, 6, 2, 9, 5)]
    sketch = ResidualSketch(bins=16, max_points=10)
    for b in batches:
        sketch.add(b, b / 2)
    actual = np.concatenate(batches)
    axis = sketch.value
    expected = np.bincount(((actual - axis.lo) / axis.width).astype(int), minlength=16)
    assert (sketch.actual_by_predicted.sum(axis=0) == expected).all()
    assert sketch.residual_by_predicted.sum() == 5000 and sketch.residual_sum.sum() == pytest.approx((actual / 2).sum())


def test_points_are_kept_only_up_to_the_limit():
    sketch = ResidualSketch(max_points=5)
    sketch.add([1.0, 2.0, 3.0], [1.5, 2.0, 2.0])
    assert sketch.points is not None and len(sketch.points[0]) == 3
    sketch.add([4.0, 5.0, 6.0], [4.0, 5.0, 6.0])
    assert sketch.points is None
    for figure in sketch_plots(sketch):
        _check(figure)


def test_constant_and_empty_inputs_draw_without_nan():
    for figure in regression_plots(np.full(50, 3.0), np.full(50, 3.0)):
        _check(figure)
    for figure in regression_plots(np.full(5000, 3.0), np.full(5000, 3.0)):
        _check(figure)
    for figure in sketch_plots(ResidualSketch()):
        assert "No rows to plot." in figure
        _check(figure)


def test_the_target_name_is_escaped():
    figure = regression_plots(np.arange(10.0), np.arange(10.0) + 1, target='<b>&"x"').predicted_vs_actual
    assert "predicted <b>&\"x\"" in "".join(_check(figure).itertext())


@pytest.mark.parametrize("actual, predicted, message", [
    ([1.0, 2.0], [1.0], "2 actual values but 1 predictions"),
    ([1.0, np.nan], [1.0, 2.0], "finite"),
])  # fmt: skip
def test_bad_rows_are_refused(actual, predicted, message):
    with pytest.raises(ValueError, match=message):
        ResidualSketch().add(actual, predicted)


def test_odd_bins_are_refused():
    with pytest.raises(ValueError, match="even"):
        ResidualSketch(bins=9)
