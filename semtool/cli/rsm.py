"""``semtool rsm FEATURES --layer L``: spatio-semantic or semantic RSMs over all samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer

from semtool.cli._common import (DeviceOpt, ForceOpt, JsonOpt, OptionalOutputOpt, SeedOpt, complete, guarded,
                                 print_table, wrote)


def read_probabilities(path: str, n: int) -> np.ndarray:
    """Predicted class probabilities (N, C): softmax of a predictions file's clean logits.

    The file is validated by the shared reader; an attack file's ε = 0 row is used; the
    sample count must be ``n``.
    """
    from semtool.errors import UserError
    from semtool.kinds.predictions import Predictions, pick_epsilon
    from semtool.measure.rsm import softmax

    pred = Predictions.read(path, logits=True)
    if pred.labels.size != n:
        raise UserError(f"--predictions {pred.path}: {pred.labels.size} samples, but the features hold {n}")
    row = pick_epsilon(pred, None)
    if pred.logits is None:
        raise UserError(f"--predictions {pred.path}: holds no logits (needed for class probabilities)")
    return softmax(pred.logits if pred.logits.ndim == 2 else pred.logits[row])


# ------------------------------------------------------------------------ command
@guarded
def rsm(
    features: Annotated[Path, typer.Argument(help="A features file (from `semtool features`).", show_default=False)],
    layer: Annotated[Optional[str], typer.Option(
        "--layer", "-l", help="Layer to compare (optional when the file holds one; a wrong name lists them).")] = None,
    output: OptionalOutputOpt = None,
    kernel: Annotated[str, typer.Option(
        "--kernel", autocompletion=complete("rsm --kernel"), help="inner (⟨Z_i, Z_j⟩), cosine (over Frobenius norms) or rbf (σ by the median "
        "heuristic over the matrix's distances).")] = "cosine",
    sigma: Annotated[str, typer.Option(
        "--sigma", help="rbf's σ (Wald et al. 2024 do not state it): median (√ of the median nonzero squared "
        "distance), authors (√ of the lower median + 0.001, as their code's own_rbf), or a number.")] = "median",
    semantic: Annotated[bool, typer.Option(
        "--semantic", help="Permutation-invariant: match the S spatial/token vectors of each pair first "
        "(needs maps: 'semtool features --pool none'; a pooled layer is refused) "
        "(Wald et al. 2024); without it, the spatio-semantic RSM of the flattened maps.")] = False,
    matcher: Annotated[str, typer.Option(
        "--matcher", autocompletion=complete("rsm --matcher"), help="With --semantic: optimal (exact, SciPy linear_sum_assignment), batch-optimal:K "
        "(sort both sets by norm, solve blocks of K exactly) or greedy (rows by best entry take their best "
        "free column). Approximate matchers record their fraction of the optimum.")] = "optimal",
    samples: Annotated[Optional[int], typer.Option(
        "--samples", help="Use a random subset of this many samples (seeded by --seed).", min=2)] = None,
    evaluate: Annotated[bool, typer.Option(
        "--evaluate", help="Print retrieval top-1 and F1@1 (nearest other sample shares the label; single-label: "
        "a query's relevant set is the rest of its class, so a hit scores 2/n_c) and, with "
        "--predictions, Pearson/Spearman between the RSM and the Jensen–Shannon similarity of the "
        "predicted class probabilities.")] = False,
    predictions: Annotated[Optional[Path], typer.Option(
        "--predictions", help="Clean predictions of the same samples (logits), e.g. `features --predictions`.")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", help="CPU processes for the pairwise matching (each computes and matches its own blocks "
        "of pairs); 1 computes the products on --device.",
        min=1)] = 1,
    quality_pairs: Annotated[int, typer.Option(
        "--quality-pairs", help="Pairs sampled to measure an approximate matcher against the optimum "
        "(each costs one exact assignment; 0 skips it).", min=0)] = 200,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Representational similarity matrix over all N samples of one layer (one N×N matrix).

    A sample's output (C, H, W) or (T, D) is a set of S vectors. The spatio-semantic RSM
    compares flattened maps; --semantic first finds the permutation of one set that
    maximises the matched inner product, then applies the kernel. Writes an 'rsm' file
    (matrix (N, N), labels, attrs layer/kernel/matcher) and/or prints --evaluate metrics.
    """
    from semtool import store
    from semtool.errors import UserError
    from semtool.measure.matching import check_optimal_size, get_matcher
    from semtool.analyse.rsm import semantic_rsm, spatio_semantic_rsm
    from semtool.kinds import Rsm
    from semtool.kinds.features import layer_shape, pick_layer, read_layer
    from semtool.measure.rsm import SIGMAS, check_kernel, prediction_correlation, retrieval
    from semtool._progress import progress

    if output is None and not evaluate:
        raise UserError("nothing to do: give -o FILE and/or --evaluate")
    check_kernel(kernel)  # before reading the data
    if sigma not in SIGMAS:
        try:
            sigma_value: float | str = float(sigma)
        except ValueError:
            raise UserError(f"--sigma: expected {', '.join(SIGMAS)} or a positive number, got '{sigma}'") from None
        if not sigma_value > 0:
            raise UserError(f"--sigma: expected a positive number, got {sigma}")
    else:
        sigma_value = sigma
    if kernel != "rbf" and sigma != "median":
        raise UserError("--sigma is the rbf kernel's; add --kernel rbf")
    if not semantic and matcher != "optimal":
        raise UserError("--matcher is used by --semantic; add --semantic")
    spec = get_matcher(matcher).name if semantic else "none"
    if predictions is not None and not evaluate:
        raise UserError("--predictions is used by --evaluate; add --evaluate")
    if output is not None:
        store.check_output(output, force=force, kind="rsm")
    layer = pick_layer(features, layer)
    if semantic:  # before reading the data: only its shape is needed
        shape = layer_shape(features, layer)
        set_size = int(np.prod(shape[2:])) if len(shape) == 4 else (shape[1] if len(shape) == 3 else 1)
        if set_size == 1:
            raise UserError(f"--semantic: layer '{layer}' of {store.display_name(features)} holds one vector per "
                            "sample (pooled), so there is nothing to match and the result would equal the plain "
                            "RSM; extract the maps with 'semtool features --pool none'")
        if spec == "optimal":
            check_optimal_size(set_size)
    x, labels, classes = read_layer(str(features), layer)
    n = len(x)
    probs = read_probabilities(str(predictions), n) if predictions is not None else None
    index = np.arange(n)
    if samples is not None and samples < n:
        index = np.sort(np.random.default_rng(seed).choice(n, size=samples, replace=False))
        x, labels = x[index], labels[index]

    info: dict[str, Any] = {}
    if semantic:
        total = len(x) * (len(x) - 1) // 2
        with progress(total, f"rsm {spec}", unit="pairs") as bar:
            res = semantic_rsm(x, kernel=kernel, matcher=spec, device=device, workers=workers,
                               quality_pairs=quality_pairs, seed=seed, on_progress=bar.advance, sigma=sigma_value)
        matrix = res.matrix
        if res.quality_fraction.size:
            info["matcher_fraction_mean"] = float(np.nanmean(res.quality_fraction))
            info["matcher_fraction_min"] = float(np.nanmin(res.quality_fraction))
    else:
        res = None
        matrix = spatio_semantic_rsm(x, kernel=kernel, device=device, sigma=sigma_value)
    if evaluate:
        info.update({k: v for k, v in retrieval(matrix, labels).items()})
        if probs is not None:
            info.update(prediction_correlation(matrix, probs[index]))

    if output is not None:
        params = {"layer": layer, "kernel": kernel, "sigma": sigma, "semantic": semantic, "matcher": spec, "samples": samples,
                  "seed": seed, "device": device, "workers": workers, "quality_pairs": quality_pairs}
        inputs = [features] + ([predictions] if predictions is not None else [])
        Rsm(str(output), matrix, labels, classes, index, layer, kernel, spec, semantic,
            quality_pairs=None if res is None else res.quality_pairs,
            quality_fraction=None if res is None else res.quality_fraction, evaluation=info).write(
            output, force=force, command="rsm", parameters=params, inputs=inputs)
        wrote(output, f"{len(matrix)}×{len(matrix)}, {kernel}, matcher {spec}")
    if "matcher_fraction_mean" in info and not evaluate:
        from semtool import _runtime

        _runtime.log(f"{spec}: {info['matcher_fraction_mean']:.4f} of the optimal similarity "
                     f"(mean over {res.quality_fraction.size} sampled pairs)")
    if evaluate:
        rows = [[k, v] for k, v in info.items()]
        print_table(rows, ["metric", "value"], title=f"rsm {layer} ({kernel}, {spec})", as_json=as_json,
                    json_obj={"layer": layer, "kernel": kernel, "matcher": spec, "samples": len(matrix), **info})


def register(app: typer.Typer) -> None:
    app.command("rsm")(rsm)
