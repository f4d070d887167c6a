"""semtool.report.plots: orders, colour scales, what each figure draws, the files it writes."""

from __future__ import annotations

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.measure.attack_metrics import attack_metrics
from semtool.report import _style, plots
from semtool.report import curves as curves_module
from tests.report import _files as F
from tests.report._files import assert_real_image


# ------------------------------------------------------------------ array helpers

def test_offdiag_limits_span_all_matrices_without_diagonal(rng):
    a = rng.uniform(0.2, 0.5, (6, 6))
    b = rng.uniform(-0.3, 0.4, (6, 6))
    np.fill_diagonal(a, 1.0)
    np.fill_diagonal(b, 1.0)
    b[0, 1] = np.nan
    mask = ~np.eye(6, dtype=bool)
    want = (min(a[mask].min(), np.nanmin(b[mask])), max(a[mask].max(), np.nanmax(b[mask])))
    assert plots.offdiag_limits([a, b]) == pytest.approx(want)
    assert plots.offdiag_limits([a, b])[1] < 1.0  # the diagonal does not set the top


def test_csm_panels_share_one_colour_scale(rng):
    classes = F.FASHION
    a = F.planted_blocks(F.FASHION_GROUPS, rng)
    b = 0.3 * F.planted_blocks(F.FASHION_GROUPS, rng) - 0.2
    panels = [plots.CSMPanel(a, classes, "ncsm", "cosine", name="a"),
              plots.CSMPanel(b, classes, "ncsm", "cosine", name="b")]
    fig = plots.csm_figure(panels, order="none", scale="shared")
    clims = [ax.images[0].get_clim() for ax in fig.axes if ax.images]
    assert len(clims) == 2 and clims[0] == clims[1]
    assert clims[0] == pytest.approx(plots.offdiag_limits([a, b]))
    fig = plots.csm_figure(panels, order="none", scale="minmax")
    assert all(ax.images[0].get_clim() == (0.0, 1.0) for ax in fig.axes if ax.images)
    # auto: one measure over comparable ranges shares a scale; b spans 0.3 of a's range, so
    # each panel gets its own (a shared one would wash b out), as it does once the measures differ
    comparable = [panels[0], plots.CSMPanel(0.8 * a + 0.1, classes, "ncsm", "cosine", name="c")]
    shared = [ax.images[0].get_clim() for ax in plots.csm_figure(comparable, order="none").axes if ax.images]
    assert shared[0] == shared[1] == pytest.approx(plots.offdiag_limits([a, 0.8 * a + 0.1]))
    for which in (panels, [panels[0], plots.CSMPanel(b, classes, "wordnet", "path", name="w")]):
        auto = plots.csm_figure(which, order="none")
        assert [ax.images[0].get_clim() for ax in auto.axes if ax.images] == \
            [pytest.approx(plots.offdiag_limits([p.matrix])) for p in which]
        assert len([ax for ax in auto.axes if not ax.images]) == 2  # a colour bar each
    panels[1].source, panels[1].measure = "wordnet", "path"


def test_csm_panels_label_every_axis(rng):
    m = F.planted_blocks(F.FASHION_GROUPS, rng)
    panels = [plots.CSMPanel(m, F.FASHION, "ncsm", "cosine", name="a"),
              plots.CSMPanel(m / 2, F.FASHION, "ccsm", "confusion", name="b")]
    axes = [ax for ax in plots.csm_figure(panels, order="none").axes if ax.images]
    assert [(ax.get_xlabel(), ax.get_ylabel()) for ax in axes] == [("class", "class"),
                                                                     ("predicted class", "true class")]


def test_group_order_sorts_stably_with_ungrouped_last():
    groups = np.array([2, 0, -1, 1, 0, 2, -1])
    order, starts = plots.group_order(groups)
    assert order.tolist() == [1, 4, 3, 0, 5, 2, 6]
    assert starts == [0, 2, 3, 5]


def test_cluster_order_puts_planted_blocks_together(rng):
    g = np.repeat(np.arange(6), 4)
    perm = rng.permutation(g.size)
    m = F.planted_blocks(g[perm], rng, noise=0.08)
    order = plots.cluster_order(m)
    assert sorted(order.tolist()) == list(range(g.size))
    seen = g[perm][order]
    # each block is one contiguous run: the group changes exactly 5 times along the order
    assert int((seen[1:] != seen[:-1]).sum()) == 5


def test_cluster_order_copes_with_asymmetric_and_nan():
    m = np.array([[1, 0.9, 0.1, 0.0], [0.7, 1, 0.0, np.nan], [0.1, 0.0, 1, 0.8], [0.0, 0.1, 0.9, 1]])
    order = plots.cluster_order(m).tolist()
    assert {frozenset(order[:2]), frozenset(order[2:])} == {frozenset({0, 1}), frozenset({2, 3})}


def test_match_classes_by_name_and_mismatch():
    assert plots.match_classes(["a", "b", "c"], ["c", "a", "b"], "x").tolist() == [1, 2, 0]
    with pytest.raises(UserError, match="lacks c"):
        plots.match_classes(["a", "b", "c"], ["a", "b", "d"], "x")


def test_label_font_shrinks_and_stops_past_60():
    sizes = [_style.label_fontsize(n) for n in (10, 30, 60)]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] >= 4
    assert _style.label_fontsize(61) is None


# ------------------------------------------------------------------------- CSM

def test_group_order_in_figure_matches_groups(tmp_path, rng):
    m = F.planted_blocks(F.FASHION_GROUPS, rng)
    path = F.write_csm(tmp_path / "c.h5", m, F.FASHION, groups=F.FASHION_GROUPS,
                       group_names=F.FASHION_GROUP_NAMES)
    fig = plots.csm_figure([plots.load_csm(path)])  # auto -> groups
    ax = next(a for a in fig.axes if a.images)
    shown = [t.get_text() for t in ax.get_yticklabels()]
    order, _ = plots.group_order(F.FASHION_GROUPS)
    assert shown == [F.FASHION[i] for i in order]
    data = np.asarray(ax.images[0].get_array())
    want = m[np.ix_(order, order)]
    off = ~np.eye(10, dtype=bool)
    np.testing.assert_allclose(data[off], want[off])
    assert np.ma.getmaskarray(ax.images[0].get_array())[np.eye(10, dtype=bool)].all()  # diagonal masked


def test_second_file_is_matched_by_class_name(tmp_path, rng):
    m = F.planted_blocks(F.FASHION_GROUPS, rng)
    rev = m[::-1, ::-1].copy()
    a = F.write_csm(tmp_path / "a.h5", m, F.FASHION)
    b = F.write_csm(tmp_path / "b.h5", rev, F.FASHION[::-1], source="wordnet", measure="path")
    fig = plots.csm_figure([plots.load_csm(a), plots.load_csm(b)], order="none")
    imgs = [np.asarray(ax.images[0].get_array().filled(np.nan)) for ax in fig.axes if ax.images]
    np.testing.assert_allclose(imgs[0], imgs[1], equal_nan=True)
    assert "WordNet" in fig.axes[1].get_title()


def test_many_classes_drop_tick_labels(rng):
    c = 80
    m = F.planted_blocks(np.arange(c) // 8, rng)
    fig = plots.csm_figure([plots.CSMPanel(m, [f"k{i}" for i in range(c)], "ncsm", "cosine", name="m")])
    ax = next(a for a in fig.axes if a.images)
    assert len(ax.get_xticks()) == 0 and "80 classes" in ax.get_xlabel()


def test_stack_epoch_selection(tmp_path, rng):
    stack = np.stack([F.planted_blocks(F.FASHION_GROUPS, rng) * (k + 1) for k in range(3)])
    path = F.write_csm(tmp_path / "s.h5", stack, F.FASHION, epochs=np.array([0.5, 1.0, 2.0]))
    last = plots.load_csm(path)
    assert last.epoch == 2.0 and np.allclose(last.matrix, stack[-1])
    first = plots.load_csm(path, 0)
    assert first.epoch == 0.5 and np.allclose(first.matrix, stack[0])
    with pytest.raises(UserError, match="--epoch 3"):
        plots.load_csm(path, 3)


def test_plot_csm_writes_png_svg_pdf(tmp_path, rng):
    path = F.write_csm(tmp_path / "c.h5", F.planted_blocks(F.FASHION_GROUPS, rng), F.FASHION,
                       groups=F.FASHION_GROUPS, group_names=F.FASHION_GROUP_NAMES)
    out = plots.plot_csm([path], tmp_path / "c.png", size=(6, 5), dpi=40)
    assert_real_image(out, (240, 200))
    assert (tmp_path / "c.svg").exists() is False
    plots.plot_csm([path], tmp_path / "c.svg")
    assert b"<svg" in (tmp_path / "c.svg").read_bytes()[:500]
    plots.plot_csm([path], tmp_path / "c.pdf")
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")


def test_failed_plot_leaves_nothing(tmp_path, rng):
    a = F.write_csm(tmp_path / "a.h5", F.planted_blocks(F.FASHION_GROUPS, rng), F.FASHION)
    b = F.write_csm(tmp_path / "b.h5", np.eye(3), ["x", "y", "z"])
    before = set(tmp_path.iterdir())
    with pytest.raises(UserError, match="classes differ"):
        plots.plot_csm([a, b], tmp_path / "out.png")
    with pytest.raises(UserError, match="unknown figure extension"):
        plots.plot_csm([a], tmp_path / "out.jpg2")
    assert set(tmp_path.iterdir()) == before


# ----------------------------------------------------------------------- curves

def test_curve_panels_default_and_patterns(tmp_path, rng):
    e, s, _ = plots.load_curves(F.write_curves(tmp_path / "a.h5", rng))
    runs = [plots.Run("a", e, s)]
    panels = plots.curve_panels(runs, None)
    assert [p for p, _ in panels] == [p for p in plots.DEFAULT_CURVE_PANELS if p != "idm_errors"]  # none in the file
    assert curves_module._panel_text("idm_errors", ["idm_errors/network"])[0] == "IDM over mistakes only: network"
    assert set(panels[1][1]) == {"sai/wordnet/ccsm", "sai/wordnet/ncsm"}
    assert plots.curve_panels(runs, ["loss", "wsi/m?[xn]"]) == [("loss", ["loss"]), ("wsi/m?[xn]", ["wsi/max", "wsi/min"])]
    assert plots.curve_panels(runs, ["sai"]) == [("sai", panels[1][1])]  # a bare prefix means its folder
    with pytest.raises(UserError, match="--series 'nope'"):
        plots.curve_panels(runs, ["nope"])


def test_curves_figure_draws_each_run_and_skips_nan(tmp_path, rng):
    a = plots.load_curves(F.write_curves(tmp_path / "a.h5", rng))
    b = plots.load_curves(F.write_curves(tmp_path / "b.h5", rng, shift=0.05))
    runs = [plots.Run("a", a[0], a[1]), plots.Run("b", b[0], b[1])]
    fig = plots.curves_figure(runs, patterns=["accuracy/eval"])
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2
    ev = a[1]["accuracy/eval"]
    ok = np.isfinite(ev)
    np.testing.assert_allclose(lines[0].get_xdata(), a[0][ok])  # gaps joined, NaN dropped
    np.testing.assert_allclose(lines[0].get_ydata(), ev[ok])
    assert lines[0].get_color() != lines[1].get_color()


# ----------------------------------------------------------------------- attack

def test_attack_figure_shows_attack_metrics(tmp_path, rng):
    path = F.write_attack(tmp_path / "a.h5", rng, semantic_bias=0.7)
    eps, metrics, chance, _ = plots.load_attack(path)
    labels, preds, groups, visual, _ = F.attack_data(np.random.default_rng(0), semantic_bias=0.7)
    fig = plots.attack_figure([plots.Run("m", eps, metrics, chance)])
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert len(titles) == 4
    for ax in fig.axes:
        key = next(k for k, t, _ in plots.ATTACK_PANELS if t == ax.get_title())
        line = ax.get_lines()[0]
        np.testing.assert_allclose(line.get_xdata(), eps)
        np.testing.assert_allclose(line.get_ydata(), metrics[key])
    with __import__("h5py").File(path) as f:
        direct = attack_metrics(f["labels"][...], f["predictions"][...], f["groups"][...], f["visual_groups"][...])
    for k in direct:
        np.testing.assert_allclose(metrics[k], direct[k])
    assert chance["mistake_superclass_accuracy"] == pytest.approx(1 / 9)  # groups of 2 among 10 classes


def test_attack_needs_an_epsilon_axis(tmp_path, rng):
    path = F.write_attack(tmp_path / "clean.h5", rng, with_eps=False)
    with pytest.raises(UserError, match="no ε axis"):
        plots.load_attack(path)


def test_attack_without_visual_groups_drops_that_panel(tmp_path, rng):
    path = F.write_attack(tmp_path / "a.h5", rng, with_visual=False)
    eps, metrics, chance, _ = plots.load_attack(path)
    fig = plots.attack_figure([plots.Run("m", eps, metrics, chance)])
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert len(titles) == 3 and not any("visual" in t for t in titles)


# ---------------------------------------------------------------------- RSM, 2v2

def test_rsm_sorted_by_label(tmp_path, rng):
    path = F.write_rsm(tmp_path / "r.h5", rng)
    r = plots.load_rsm(path)
    fig = plots.rsm_figure([r])
    ax = next(a for a in fig.axes if a.images)
    order = np.argsort(r.labels, kind="stable")
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), r.matrix[np.ix_(order, order)])
    assert [t.get_text() for t in ax.get_xticklabels()] == F.FASHION[:5]
    assert "Semantic RSM" in ax.get_title() and "layer3" in ax.get_title()


def test_twovtwo_null_line_is_95th_percentile(tmp_path, rng):
    r = plots.load_twovtwo(F.write_twovtwo(tmp_path / "t.h5", rng))
    fig = plots.twovtwo_figure([r], labels=["minilm"])
    ax = fig.axes[0]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1
    np.testing.assert_allclose(dashed[0].get_ydata(), np.percentile(r.null, 95, axis=1))
    assert [t.get_text() for t in ax.get_xticklabels()] == r.layers
    assert plots.null_threshold(r.null).shape == (len(r.layers),)


def test_parse_size_and_labels():
    assert plots.parse_size("8x6") == (8.0, 6.0)
    assert plots.parse_size(None) is None
    with pytest.raises(UserError, match="--size"):
        plots.parse_size("big")
    assert plots.run_labels(["x/run.h5", "y/run.h5"], None) == ["x/run.h5", "y/run.h5"]
    assert plots.run_labels(["a.h5", "b.h5"], None, ["base", None]) == ["base", "b"]
    with pytest.raises(UserError, match="--label"):
        plots.run_labels(["a.h5", "b.h5"], ["one"])


def test_csm_from_curves_snapshots_first_vs_last(tmp_path, rng):
    path = F.write_curves(tmp_path / "run.h5", rng, snapshots=True)
    first = plots.load_csm(path, 0)
    last = plots.load_csm(path)
    assert first.source == "ncsm" and first.epoch == 0.0 and last.epoch == 11.0
    with __import__("h5py").File(path) as f:
        np.testing.assert_allclose(last.matrix, f["snapshots/ncsm"][-1])
    with pytest.raises(UserError, match="--snapshot ccsm"):
        plots.load_csm(path, snapshot="ccsm")
    out = plots.plot_csm([path, path], tmp_path / "fl.png", epoch=[0, -1], order="none", size=(8, 4), dpi=30)
    assert_real_image(out, (240, 120))
    with pytest.raises(UserError, match="--epoch: given 3 times"):
        plots.plot_csm([path, path], tmp_path / "x.png", epoch=[0, 1, 2])


def test_attack_from_logits_equals_from_predictions(tmp_path, rng):
    from semtool import store

    labels, preds, groups, visual, eps = F.attack_data(rng)
    logits = rng.standard_normal((*preds.shape, 10)).astype(np.float32)
    np.put_along_axis(logits, preds[..., None], 10.0, axis=-1)  # argmax = the prediction
    with store.create(tmp_path / "l.h5", "predictions", parameters={}) as f:
        f["labels"], f["epsilons"], f["logits"] = labels, eps, logits
        f["groups"], f["visual_groups"] = groups, visual
        store.write_strings(f, "classes", [str(i) for i in range(10)])
    _, got, _, _ = plots.load_attack(tmp_path / "l.h5")
    want = attack_metrics(labels, preds, groups, visual)
    for k in want:
        np.testing.assert_allclose(got[k], want[k])


# ------------------------------------------------------------------------- layout

LONG_LAYERS = ("features.denseblock4.denselayer16.conv2",
               "model.encoder.layers.11.self_attention.output_projection", "layer4.2.conv3")


def _extents(fig):
    """Display-space boxes of the drawn figure (after layout, at the saved resolution)."""
    renderer = fig.canvas.get_renderer()
    return renderer, fig.bbox


def _squash(text):
    return "".join(text.split())


def test_wrap_text_keeps_the_text_and_breaks_at_separators():
    src = "Semantic RSM (optimal matching), cosine\nrun_3 · layer model.encoder.layers.11.self_attention.output"
    out = plots.wrap_text(src, 20)
    assert all(len(line) <= 20 for line in out.split("\n"))
    assert _squash(out) == _squash(src)
    assert "model.encoder." in out.split("\n")  # a layer path breaks after a dot
    assert plots.wrap_text("short title", 40) == "short title"


@pytest.mark.parametrize("size", [None, (7.0, 3.5)])
def test_rsm_titles_fit_their_panels_and_the_figure(tmp_path, rng, size):
    import h5py

    rsms = []
    for i, layer in enumerate(LONG_LAYERS):
        path = F.write_rsm(tmp_path / f"a_rather_long_run_name_number_{i}.h5", rng, n=30)
        with h5py.File(path, "r+") as f:
            f.attrs["layer"] = layer
        rsms.append(plots.load_rsm(path))
    fig = plots.rsm_figure(rsms, size=size, title="Semantic RSMs of three networks, long names everywhere " * 2)
    plots.save_figure(fig, tmp_path / "r.png", dpi=60)
    renderer, page = _extents(fig)
    heat = [ax for ax in fig.axes if ax.images and ax.get_title()]
    boxes = [ax.title.get_window_extent(renderer) for ax in heat] + [fig.fitting.suptitle.get_window_extent(renderer)]
    for box in boxes:
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    for a, b in zip(boxes, boxes[1:len(heat)]):  # neighbours' titles do not run into each other
        assert a.x1 <= b.x0
    for ax, layer in zip(heat, LONG_LAYERS):
        assert _squash(layer) in _squash(ax.get_title())  # wrapped, not cut
        assert ax.title.get_window_extent(renderer).y0 >= ax.get_window_extent(renderer).y1  # above its heatmap


def _curves_with_many_series(path, k=8):
    from semtool import store

    e = np.arange(10.0)
    with store.create(path, "curves", parameters={}) as f:
        f["epochs"] = e
        for j in range(k):
            f[f"sai/reference_number_{j}_wordnet/ncsm"] = 0.1 * j + 0.5 * (1 - np.exp(-e / (1 + j)))
        f["idm/network"] = 0.6 + 0.01 * e
    return path


@pytest.mark.parametrize("k", [1, 8])
def test_curve_legends_sit_outside_every_axes(tmp_path, rng, k):
    path = _curves_with_many_series(tmp_path / "c.h5", k)
    out = tmp_path / "c.png"
    e, s, _ = plots.load_curves(path)
    fig = plots.curves_figure([plots.Run("one", e, s)], patterns=["sai", "idm"])
    plots.save_figure(fig, out, dpi=60)
    renderer, page = _extents(fig)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    legends = [ax.get_legend() for ax in axes if ax.get_legend() is not None]
    assert len(legends) == (1 if k > 1 else 0)  # a panel of one series names it in its title
    if k == 1:
        assert [_squash(ax.get_title()) for ax in axes] == [
            _squash("SAI: similarity alignment index: reference_number_0_wordnet/ncsm"),
            _squash("IDM: inverse dissimilarity metric: network")]
    for leg in legends:
        assert len(leg.get_texts()) == k
        box = leg.get_window_extent(renderer)
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
        for ax in axes:  # covers no plotting area, its own or a neighbour's
            assert not box.overlaps(ax.get_window_extent(renderer))
    assert_real_image(out)


def test_curve_legends_of_several_runs_stay_outside(tmp_path, rng):
    runs = []
    for i in range(8):
        e, s, _ = plots.load_curves(F.write_curves(tmp_path / f"r{i}.h5", rng, shift=0.01 * i))
        runs.append(plots.Run(f"run {i}: a fairly long label", e, s))
    fig = plots.curves_figure(runs, title="eight runs")
    plots.save_figure(fig, tmp_path / "r.png", dpi=60)
    renderer, page = _extents(fig)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    legends = [ax.get_legend() for ax in axes if ax.get_legend() is not None] + list(fig.legends)
    assert len(fig.legends) == 1 and len(legends) == 4  # runs; dashes of accuracy, SAI, WSI
    for leg in legends:
        box = leg.get_window_extent(renderer)
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
        for ax in axes:
            assert not box.overlaps(ax.get_window_extent(renderer))


def _inside(box, page):
    return page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1


@pytest.mark.parametrize("size", [None, (5.0, 3.5)])
def test_twovtwo_legend_sits_outside_the_axes(tmp_path, rng, size):
    names = ["a_rather_long_run_name_for_a_densenet_trained_with_hybrids", "baseline"]
    results = [plots.load_twovtwo(F.write_twovtwo(tmp_path / f"{n}.h5", rng, layers=LONG_LAYERS)) for n in names]
    fig = plots.twovtwo_figure(results, size=size, title="2 vs 2 of two networks with long layer names " * 2)
    plots.save_figure(fig, tmp_path / "t.png", dpi=60)
    renderer, page = _extents(fig)
    (ax,) = fig.axes
    leg = ax.get_legend()
    shown = [_squash(t.get_text()) for t in leg.get_texts()]
    assert shown[:2] == [_squash(n) for n in names]  # wrapped, not cut
    box = leg.get_window_extent(renderer)
    assert _inside(box, page) and not box.overlaps(ax.get_window_extent(renderer))
    assert _inside(ax.title.get_window_extent(renderer), page)
    ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
    assert [_squash(t.get_text()) for t in ax.get_xticklabels()] == list(LONG_LAYERS)
    assert not any(a.overlaps(b) for a, b in zip(ticks, ticks[1:]))  # layer names readable
    assert all(_inside(t, page) for t in ticks)


@pytest.mark.parametrize("size", [None, (7.0, 5.5)])
def test_attack_titles_and_legend_fit_the_figure(tmp_path, rng, size):
    long = ["a_rather_long_run_name_for_a_densenet_trained_with_hybrids_seed_000",
            "baseline_resnet50_cifar100_without_any_semantic_regularisation", "short"]
    runs = []
    for i, name in enumerate(long):
        eps, metrics, chance, _ = plots.load_attack(F.write_attack(tmp_path / f"{i}.h5", rng, semantic_bias=0.2 * i))
        runs.append(plots.Run(name, eps, metrics, chance))
    fig = plots.attack_figure(runs, size=size, title="Mistake severity of three networks with long names "
                              "under an L2 PGD attack sweep" * (1 if size else 3))
    plots.save_figure(fig, tmp_path / "a.png", dpi=60)
    renderer, page = _extents(fig)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    titles = [ax.title.get_window_extent(renderer) for ax in axes]
    for box in titles + [fig.fitting.suptitle.get_window_extent(renderer)]:
        assert _inside(box, page)
    for i, a in enumerate(titles):  # no title runs into another, nor into a plotting area
        assert not any(a.overlaps(b) for b in titles[i + 1:])
        assert not any(a.overlaps(ax.get_window_extent(renderer)) for ax in axes)
    for ax in axes:  # axis labels no longer than their panels
        frame = ax.get_window_extent(renderer)
        assert ax.yaxis.label.get_window_extent(renderer).height <= frame.height + 1
        assert ax.xaxis.label.get_window_extent(renderer).width <= frame.width + 1
        assert _inside(ax.xaxis.label.get_window_extent(renderer), page)
    (leg,) = fig.legends
    box = leg.get_window_extent(renderer)
    assert _inside(box, page) and not any(box.overlaps(ax.get_window_extent(renderer)) for ax in axes)
    assert [_squash(t.get_text()) for t in leg.get_texts()][:3] == [_squash(n) for n in long]


def test_curves_series_differ_by_marker_and_colour_and_one_epoch_has_an_integer_tick(capsys):
    """Two runs: colour names the run, marker and dash the series, so a one-epoch run (one
    point per series, no dash to see) stays readable beside a six-epoch one."""
    one = plots.Run("one", np.array([1.0]), {"wsi/max": np.array([0.3]), "wsi/min": np.array([-0.2])})
    six = plots.Run("six", np.arange(1.0, 7.0), {"wsi/max": np.linspace(0.3, 0.5, 6),
                                                 "wsi/min": np.linspace(-0.2, -0.4, 6)})
    fig = plots.curves_figure([one, six], patterns=["wsi"])
    lines = {(ln.get_color(), ln.get_marker(), str(ln.get_linestyle())) for ln in fig.axes[0].get_lines()}
    assert len(lines) == 4
    assert len({m for _, m, _ in lines}) == 2 and len({c for c, _, _ in lines}) == 2
    fig = plots.curves_figure([one])
    ticks = [t for ax in fig.axes if ax.get_lines() for t in ax.get_xticks()]
    assert 1.0 in ticks and all(t == round(t) for t in ticks)  # epochs, not 0.95 … 1.05


def test_absent_series_are_left_out_and_said_once(capsys):
    """A run without --eval/--track-against has no SAI or IDM: their panels are left out with
    one note; a run lacking a series another has is named in the same note."""
    run = plots.Run("solo", np.arange(1.0, 4.0), {"accuracy/train": np.array([0.2, 0.3, 0.4]),
                                                  "wsi/mean": np.zeros(3)})
    fig = plots.curves_figure([run])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["Accuracy: train", "WSI: weight similarity indices: mean"]
    err = capsys.readouterr().err
    assert err.count("note:") == 1 and "no SAI, IDM" in err
    other = plots.Run("full", np.arange(1.0, 4.0), {**run.series, "sai/wordnet/ncsm": np.ones(3)})
    plots.curves_figure([run, other], patterns=["sai", "wsi"])
    err = capsys.readouterr().err
    assert err.count("note:") == 1 and "solo: sai/wordnet/ncsm" in err
