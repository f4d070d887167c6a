"""``semtool dataset …``: turn an image source into an ``imageset`` file."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from semtool.cli._common import ForceOpt, OutputOpt, guarded, wrote

group = typer.Typer(
    name="dataset", no_args_is_help=True,
    help=("Turn an image source into an imageset file: CIFAR-100 (torchvision folder), "
          "Fashion-MNIST (IDX files; offline from Debian's dataset-fashion-mnist), ImageNet-1k "
          "(torchvision's ImageNet layout) or a folder with one subfolder per class. Images are "
          "stored uint8 (N, H, W, C), chunked and compressed, with class names and WordNet synsets."),
)


class Split(str, enum.Enum):
    train = "train"
    test = "test"


class ImageNetSplit(str, enum.Enum):
    train = "train"
    val = "val"


LimitOpt = Annotated[Optional[int], typer.Option(
    "--limit-per-class", metavar="N", show_default=False,
    help="Keep at most N images per class, drawn at random (stratified; the same --seed gives the same images).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for --limit-per-class.", min=0)]
SplitOpt = Annotated[Split, typer.Option("--split", help="Which part of the dataset: train or test (these "
                                                         "datasets publish no separate validation split).")]
SynsetsOpt = Annotated[Optional[str], typer.Option(
    "--synsets", metavar="PRESET|FILE", show_default=False,
    help=("Class -> WordNet synset: a preset (cifar100, cifar10, fashion-mnist, imagenet), 'none', or a file of "
          "'class<TAB>synset' lines (dog.n.01 or n02084071; '#' comments) that overrides the "
          "dataset's own preset."))]


def _with_synsets(data, synsets: str | None, default_preset: str | None):
    """Set ``data.synsets`` from the --synsets choice (the dataset's preset when not given)."""
    from semtool.semantics import wordnet

    if synsets is None:
        return data
    if synsets == "none":
        data.synsets = None
    elif synsets in wordnet.PRESETS:
        data.synsets = wordnet.synsets_for(data.classes, preset=synsets)
    else:
        data.synsets = wordnet.synsets_for(data.classes, preset=default_preset, mapping=Path(synsets))
    return data


def _finish(data, output: Path, *, force: bool, limit_per_class: int | None, seed: int,
            synsets: str | None, default_preset: str | None, command: str, parameters: dict[str, Any],
            inputs: list[str] = ()) -> None:
    from semtool.data.imageset import limit_per_class as _limit, summary, write_imageset

    data = _with_synsets(data, synsets, default_preset)
    if limit_per_class is not None:
        data = data.subset(_limit(data.labels, limit_per_class, seed))
    write_imageset(output, data, force=force, command=command, parameters=parameters, inputs=inputs)
    wrote(output, summary(data))


CropOpt = Annotated[Optional[str], typer.Option(
    "--crop", metavar="S|HxW", show_default=False,
    help="Centre-crop S×S or H×W pixels after resizing the shorter side to --size (torchvision's "
         "Resize(size) + CenterCrop(crop), the ImageNet evaluation recipe 256 → 224).")]


def _hw(text: str, option: str) -> tuple[int, int]:
    """'32' -> (32, 32), '64x48' -> (64, 48), with a one-line error naming the option."""
    from semtool.errors import UserError

    try:
        hw = tuple(int(t) for t in text.lower().split("x"))
    except ValueError:
        hw = ()
    if len(hw) not in (1, 2):
        raise UserError(f"{option}: expected S or HxW (e.g. 32 or 64x48), got '{text}'")
    return hw * 2 if len(hw) == 1 else hw


def _resolution(size: str, crop: str | None) -> tuple[int | tuple[int, int], tuple[int, int] | None]:
    """--size and --crop as (size, crop): with a crop, size is the shorter side (one number)."""
    from semtool.errors import UserError

    hw = _hw(size, "--size")
    if crop is None:
        return hw, None
    if "x" in size.lower():
        raise UserError(f"--size: with --crop give one number (the shorter side), got '{size}'")
    return hw[0], _hw(crop, "--crop")


def _check_early(output: Path, force: bool, limit_per_class: int | None) -> None:
    from semtool import store
    from semtool.errors import UserError

    if limit_per_class is not None and limit_per_class < 1:
        raise UserError(f"--limit-per-class: expected a number of images ≥ 1, got {limit_per_class}")
    store.check_output(output, force=force, kind="imageset")


@group.command("fashion-mnist")
@guarded
def fashion_mnist(
    output: OutputOpt,
    split: SplitOpt = Split.train,
    root: Annotated[Optional[Path], typer.Option(
        "--root", show_default="/usr/share/datasets/fashion-mnist",
        help="Folder with the IDX .gz files (Debian's dataset-fashion-mnist puts them in the default).")] = None,
    download: Annotated[bool, typer.Option("--download", help="Download through torchvision into --root (needs a network).")] = False,
    limit_per_class: LimitOpt = None,
    seed: SeedOpt = 0,
    synsets: SynsetsOpt = None,
    force: ForceOpt = False,
) -> None:
    """Fashion-MNIST (Xiao, Rasul, Vollgraf 2017): 60,000 train / 10,000 test 28×28 grey images, 10 classes.

    Reads the IDX files, checking magic numbers and lengths. Class names are those of
    torchvision ('T-shirt/top', …, 'Ankle boot'); synsets come from the fashion-mnist preset.
    """
    from semtool.data import fashion_mnist as fm
    from semtool.errors import UserError

    _check_early(output, force, limit_per_class)
    if download:
        if root is None:
            raise UserError("--download: give --root FOLDER to download into")
        folder = fm.download(root)
    else:
        folder = root
    data = fm.load(split.value, folder)
    _finish(data, output, force=force, limit_per_class=limit_per_class, seed=seed, synsets=synsets,
            default_preset="fashion-mnist", command="dataset fashion-mnist",
            parameters={"split": split.value, "root": str(folder or fm.DEBIAN_ROOT), "download": download,
                        "limit_per_class": limit_per_class, "seed": seed, "synsets": synsets})


@group.command("cifar100")
@guarded
def cifar100(
    root: Annotated[Path, typer.Argument(metavar="ROOT", help="Folder holding cifar-100-python/{train,test,meta} (torchvision's layout).", show_default=False)],
    output: OutputOpt,
    split: SplitOpt = Split.train,
    download: Annotated[bool, typer.Option("--download", help="Download through torchvision into ROOT first (needs a network).")] = False,
    limit_per_class: LimitOpt = None,
    seed: SeedOpt = 0,
    synsets: SynsetsOpt = None,
    force: ForceOpt = False,
) -> None:
    """CIFAR-100 (Krizhevsky 2009): 50,000 train / 10,000 test 32×32 colour images, 100 classes.

    Keeps the fine labels and names as classes and the 20 superclasses as coarse_labels /
    coarse_classes (what 'regroup --latin' and 'regroup --preset abreu2023' use); synsets
    from the cifar100 preset.
    """
    from semtool.data import cifar

    _check_early(output, force, limit_per_class)
    if download:
        root.mkdir(parents=True, exist_ok=True)
        cifar.download(root)
    data = cifar.load(root, split.value)
    _finish(data, output, force=force, limit_per_class=limit_per_class, seed=seed, synsets=synsets,
            default_preset="cifar100", command="dataset cifar100",
            parameters={"root": str(root), "split": split.value, "download": download,
                        "limit_per_class": limit_per_class, "seed": seed, "synsets": synsets})


@group.command("folder")
@guarded
def folder(
    root: Annotated[Path, typer.Argument(metavar="ROOT", help="Folder with one subfolder of images per class.", show_default=False)],
    output: OutputOpt,
    size: Annotated[str, typer.Option("--size", metavar="S|HxW", help="Resize every image to S×S or H×W pixels "
                                      "(aspect ratio not kept); with --crop, resize its shorter side to S.")] = "32",
    crop: CropOpt = None,
    grayscale: Annotated[bool, typer.Option("--grayscale", help="Store one grey channel instead of RGB.")] = False,
    split: Annotated[str, typer.Option("--split", help="Split name stored in the file.")] = "train",
    limit_per_class: LimitOpt = None,
    seed: SeedOpt = 0,
    synsets: SynsetsOpt = None,
    force: ForceOpt = False,
) -> None:
    """An image folder (ROOT/<class>/<images>), read with Pillow and resized to --size.

    Classes are the subfolder names in sorted order. Subfolders named by WordNet ids
    (n01440764: the ILSVRC train layout, and the val layout torchvision's ImageNet prepares)
    are recognised: each class takes its ImageNet-1k name (torchvision's), else its synset's
    first lemma, and records the synset at the wnid's offset. Otherwise give --synsets to
    attach WordNet synsets (needed by 'csm wordnet'). Images are decoded batch by batch while
    the file is written, so 50,000 of them need no more memory than one batch.
    """
    from semtool.data import folder as fl

    _check_early(output, force, limit_per_class)
    hw, cut = _resolution(size, crop)
    data = fl.load(root, size=hw, crop=cut, grayscale=grayscale, limit_per_class=limit_per_class, seed=seed,
                   split=split, lazy=True)
    _finish(data, output, force=force, limit_per_class=None, seed=seed, synsets=synsets, default_preset=None,
            command="dataset folder",
            parameters={"root": str(root), "size": hw, "crop": cut, "grayscale": grayscale, "split": split,
                        "limit_per_class": limit_per_class, "seed": seed, "synsets": synsets})


@group.command("imagenet")
@guarded
def imagenet(
    root: Annotated[Path, typer.Option("--root", metavar="DIR", show_default=False,
                                       help="torchvision's ImageNet folder: ILSVRC2012_devkit_t12.tar.gz (or the "
                                            "meta.bin torchvision made from it) and the split's folder or archive "
                                            "(val/ or ILSVRC2012_img_val.tar; train/ or ILSVRC2012_img_train.tar).")],
    output: OutputOpt,
    split: Annotated[ImageNetSplit, typer.Option("--split", help="Which part of the dataset.")] = ImageNetSplit.val,
    size: Annotated[int, typer.Option("--size", metavar="S", help="Resize each image's shorter side to S pixels.",
                                      min=1)] = 256,
    crop: Annotated[str, typer.Option("--crop", metavar="S|HxW", help="Then centre-crop S×S or H×W pixels "
                                      "(torchvision's evaluation recipe: 256 → 224).")] = "224",
    limit_per_class: LimitOpt = None,
    seed: SeedOpt = 0,
    synsets: SynsetsOpt = None,
    force: ForceOpt = False,
) -> None:
    """ImageNet-1k (ILSVRC 2012; Russakovsky et al. 2015) through torchvision's own ImageNet dataset.

    1,281,167 train / 50,000 val images, 1000 classes in torchvision's index order (the
    sorted wnids), named as torchvision's weights name them, with the synset at each wnid's
    offset. As torchvision does, the first run parses the devkit into ROOT/meta.bin and
    extracts an archive into ROOT/val (sorted into wnid folders) or ROOT/train. Images are
    decoded batch by batch while the file is written; at 224×224 the 50,000 val images take
    about 7.5 GB before compression (--size 73 --crop 64 about 0.6 GB; --limit-per-class 10: 10,000 images).
    """
    from semtool.data import imagenet as inet

    _check_early(output, force, limit_per_class)
    hw, cut = _resolution(str(size), crop)
    data = inet.load(root, split.value, size=hw, crop=cut, limit_per_class=limit_per_class, seed=seed, lazy=True)
    _finish(data, output, force=force, limit_per_class=None, seed=seed, synsets=synsets, default_preset="imagenet",
            command="dataset imagenet",
            parameters={"root": str(root), "split": split.value, "size": size, "crop": cut,
                        "limit_per_class": limit_per_class, "seed": seed, "synsets": synsets})


def register(app: typer.Typer) -> None:
    app.add_typer(group)
