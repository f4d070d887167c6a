"""``semtool rsm FEATURES --layer L``: spatio-semantic or semantic RSMs over all samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semtool.cli._common import (DeviceOpt, ForceOpt, JsonOpt, OptionalOutputOpt, SeedOpt, complete, guarded,
                                 print_table, wrote)


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
    from semtool.analyse.files import rsm_file
    from semtool.measure.matching import get_matcher
    from semtool.measure.rsm import SIGMAS, check_kernel

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
    run = rsm_file(features, layer, kernel=kernel, sigma=sigma_value, semantic=semantic, matcher=spec,
                   samples=samples, evaluate=evaluate, predictions=predictions, workers=workers,
                   quality_pairs=quality_pairs, seed=seed, device=device)
    matrix, labels, index, classes, layer, res, info = (run.matrix, run.labels, run.index, run.classes, run.layer,
                                                        run.result, run.info)

    if output is not None:
        params = {"layer": layer, "kernel": kernel, "sigma": sigma, "semantic": semantic, "matcher": spec, "samples": samples,
                  "seed": seed, "device": device, "workers": workers, "quality_pairs": quality_pairs}
        inputs = [features] + ([predictions] if predictions is not None else [])
        run.record(output).write(output, force=force, command="rsm", parameters=params, inputs=inputs)
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
