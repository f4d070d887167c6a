"""``semtool rsm FEATURES --layer L``: spatio-semantic or semantic RSMs over all samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer

from semtool.cli._common import (DeviceOpt, ForceOpt, JsonOpt, OptionalOutputOpt, SeedOpt, complete, guarded,
                                 print_table, wrote)


# ------------------------------------------------------------ reading features files
def layer_names(path: str) -> list[str]:
    """The layer names of a features file, in file order."""
    from semtool import store

    with store.open_file(path, "features") as f:
        return list(f["layers"].keys()) if "layers" in f else []


def select_layers(path: str, spec: str | None) -> list[str]:
    """'all' (or None) -> every layer; 'a,b' -> those, each checked; one line listing the layers otherwise."""
    from semtool import store
    from semtool.errors import UserError

    names = layer_names(path)
    if not names:
        raise UserError(f"{store.display_name(path)}: features file holds no layers")
    if spec is None or spec.strip() == "all":
        return names
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    for w in wanted:
        if w not in names:
            raise UserError(f"{store.display_name(path)}: no layer '{w}' (layers: {', '.join(names)})")
    return wanted


def read_layer(path: str, layer: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features (N, ...), labels (N,), classes) of one layer of a features file."""
    from semtool import store
    from semtool.errors import UserError

    select_layers(path, layer)
    with store.open_file(path, "features") as f:
        x = f["layers"][layer][...]
        labels = f["labels"][...].astype(np.int64)
        classes = store.read_strings(f["classes"])
    if len(x) != len(labels):
        raise UserError(f"{store.display_name(path)}: layer '{layer}' has {len(x)} samples but {len(labels)} labels")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise UserError(f"{store.display_name(path)}: layer '{layer}' holds NaN or inf features")
    return x, labels, classes


def read_probabilities(path: str, n: int) -> np.ndarray:
    """Predicted class probabilities (N, C): softmax of a predictions file's clean logits.

    The file is validated by the shared reader; an attack file's ε = 0 row is used; the
    sample count must be ``n``.
    """
    from semtool import store
    from semtool.data.csmio import pick_epsilon, read_predictions
    from semtool.errors import UserError
    from semtool.measure.rsm import softmax

    pred = read_predictions(path)
    if pred.labels.size != n:
        raise UserError(f"--predictions {pred.path}: {pred.labels.size} samples, but the features hold {n}")
    row = pick_epsilon(pred, None)
    with store.open_file(path, "predictions") as f:
        if "logits" not in f:
            raise UserError(f"--predictions {pred.path}: holds no logits (needed for class probabilities)")
        logits = f["logits"][...]
    return softmax(logits if logits.ndim == 2 else logits[row])


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
    from semtool.measure.rsm import (KERNELS, SIGMAS, prediction_correlation, retrieval, semantic_rsm,
                                     spatio_semantic_rsm)
    from semtool.report.progress import progress

    if output is None and not evaluate:
        raise UserError("nothing to do: give -o FILE and/or --evaluate")
    if kernel not in KERNELS:
        raise UserError(f"--kernel: unknown kernel '{kernel}' (choose {', '.join(KERNELS)})")
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
    names = layer_names(str(features))
    if layer is None:
        if len(names) != 1:
            raise UserError(f"--layer: choose one of the layers ({', '.join(names)})")
        layer = names[0]
    select_layers(str(features), layer)
    if semantic:  # before reading the data: only its shape is needed
        with store.open_file(features, "features") as f:
            shape = f["layers"][layer].shape
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
        with store.create(output, "rsm", force=force, command="rsm", parameters=params, inputs=inputs) as f:
            f.create_dataset("matrix", data=matrix)
            f.create_dataset("labels", data=labels)
            f.create_dataset("indices", data=index)
            store.write_strings(f, "classes", classes)
            f.attrs["layer"] = layer
            f.attrs["kernel"] = kernel
            f.attrs["matcher"] = spec
            f.attrs["semantic"] = semantic
            if res is not None and res.quality_fraction.size:
                g = f.create_group("matcher_quality")
                g.create_dataset("pairs", data=res.quality_pairs)
                g.create_dataset("fraction", data=res.quality_fraction)
            for k, v in info.items():
                f.attrs[f"eval_{k}"] = v
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
