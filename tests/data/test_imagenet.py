"""ImageNet layouts: WordNet-id class folders, torchvision's ImageNet (devkit + val archive), and the
stored resolution (torchvision's Resize + CenterCrop), written batch by batch."""

from __future__ import annotations

import hashlib
import io
import tarfile

import h5py
import numpy as np
import pytest

from semtool.data import folder as fl
from semtool.data.imageset import chunk_images, read_imageset, write_imageset
from semtool.errors import UserError
from semtool.semantics import wordnet as W
from tests.conftest import assert_user_error

needs_wordnet = pytest.mark.skipif(not W.where()["available"],
                                   reason="no WordNet: apt-get install wordnet-base wordnet-sense-index")
# three ImageNet-1k classes (tench, goldfish, crane bird) and one wnid outside it (object.n.01)
WNIDS = ["n01440764", "n01443537", "n02012849"]
OUTSIDE = "n00002684"


def _photo(rng, h, w):
    from PIL import Image

    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _torchvision_reference(path, size, crop, mode="RGB"):
    from PIL import Image
    from torchvision import transforms

    with Image.open(path) as im:
        out = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(crop)])(im.convert(mode))
    return np.asarray(out).reshape(out.size[1], out.size[0], -1)


@pytest.mark.parametrize("hw", [(37, 53), (53, 37), (40, 40), (17, 90), (91, 30)])
@pytest.mark.parametrize("size,crop", [(24, (20, 20)), (32, (32, 32)), (25, (16, 22))])
def test_resolution_is_torchvisions_resize_and_center_crop(tmp_path, hw, size, crop):
    path = tmp_path / "x.jpg"
    _photo(np.random.default_rng(sum(hw)), *hw).save(path, quality=90)
    np.testing.assert_array_equal(fl.Resolution(size, crop)(path), _torchvision_reference(path, size, crop))
    np.testing.assert_array_equal(fl.Resolution(size, crop, grayscale=True)(path),
                                  _torchvision_reference(path, size, crop, "L"))


def test_resolution_refusals(tmp_path):
    with pytest.raises(UserError, match=r"--crop: expected sizes from 1 to --size 16"):
        fl.Resolution(16, (20, 20))
    with pytest.raises(UserError, match=r"--size: with --crop give one number"):
        fl.Resolution((16, 12), (8, 8))


def test_image_files_decode_only_what_is_indexed_and_write_in_small_chunks(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(7):
        paths.append(tmp_path / f"{i}.png")
        _photo(rng, 30 + i, 41).save(paths[-1])
    res = fl.Resolution(28, (24, 24))
    lazy = fl.ImageFiles(paths, res)
    eager = np.stack([res(p) for p in paths])
    assert lazy.shape == eager.shape == (7, 24, 24, 3)
    np.testing.assert_array_equal(lazy[2:5], eager[2:5])
    np.testing.assert_array_equal(lazy[np.array([6, 0])], eager[[6, 0]])
    np.testing.assert_array_equal(np.asarray(lazy), eager)
    paths[3].write_bytes(b"not an image")
    with pytest.raises(UserError, match=r"3\.png: not a readable image"):
        lazy[:]
    np.testing.assert_array_equal(lazy[4:], eager[4:])  # the other files still decode
    # 224×224×3 images: 6 per HDF5 chunk, so one chunk fits HDF5's 1 MiB chunk cache
    assert chunk_images(224, 224, 3) == 6 and chunk_images(32, 32, 3) == 256 and chunk_images(28, 28, 1) == 256


def _wnid_tree(root, rng, wnids, per_class=3):
    for k, wnid in enumerate(wnids):
        (root / wnid).mkdir(parents=True)
        for i in range(per_class):
            ext = "JPEG" if i % 2 else "png"
            _photo(rng, 30 + 5 * i, 44 - 3 * k).save(root / wnid / f"{wnid}_{i}.{ext}")


@needs_wordnet
def test_dataset_folder_recognises_wnid_folders(cli, tmp_path):
    wn = W.wordnet()
    _wnid_tree(tmp_path / "train", np.random.default_rng(1), WNIDS + [OUTSIDE], per_class=4)
    out = tmp_path / "t.h5"
    proc = cli("dataset", "folder", tmp_path / "train", "--size", "26", "--crop", "24x20", "--limit-per-class", "3",
               "-o", out)
    assert proc.returncode == 0, proc.stderr.decode()
    data = read_imageset(out)
    wnids = sorted(WNIDS + [OUTSIDE])
    assert data.synsets == [wn.synset_from_pos_and_offset("n", int(w[1:])).name() for w in wnids]
    assert data.classes == ["object", "tench", "goldfish", "crane bird"]  # torchvision's names; else the lemma
    assert list(data.counts()) == [3, 3, 3, 3] and data.images.shape == (12, 24, 20, 3)
    # every stored image is torchvision's Resize(26) + CenterCrop((24, 20)) of one file of its class
    for img, lab in zip(data.images, data.labels):
        refs = [_torchvision_reference(p, 26, (24, 20)) for p in sorted((tmp_path / "train" / wnids[lab]).iterdir())]
        assert any(np.array_equal(img, r) for r in refs)
    with h5py.File(out) as f:
        assert f["images"].compression == "gzip"
    # folders that are not all wnids stay plain names, without synsets
    (tmp_path / "train" / "misc").mkdir()
    _photo(np.random.default_rng(2), 9, 9).save(tmp_path / "train" / "misc" / "a.png")
    plain = fl.load(tmp_path / "train", size=(8, 8))
    assert plain.classes == ["misc", *wnids] and plain.synsets is None


def _meta_mat(path, wnids, ids):
    """The devkit's data/meta.mat as scipy.io.loadmat(squeeze_me=True)["synsets"] gives it to torchvision:
    a struct array (ILSVRC2012_ID, WNID, words, gloss, num_children, wordnet_height, num_train_images);
    leaves (num_children 0) are the classes, an inner node is there to be dropped."""
    import scipy.io as sio

    fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "wordnet_height", "num_train_images"]
    rows = [(i, w, f"words of {w}, more words", "a gloss", 0, 0, 1300) for i, w in zip(ids, wnids)]
    rows.append((len(wnids) + 1, "n00001740", "entity", "the root", len(wnids), 18, 0))
    arr = np.array(rows, dtype=[(f, "O") for f in fields])
    sio.savemat(path, {"synsets": arr})


def _add(tar, name, data: bytes):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _imagenet_root(root, rng, per_class=3):
    """A minimal ILSVRC 2012 root: devkit archive (meta.mat + val ground truth) and a flat val archive.

    ILSVRC2012_IDs are deliberately not in wnid order (as in the real devkit); each val image's
    red channel is 40 × its class index, so labels can be checked from the pixels."""
    root.mkdir()
    ids = [3, 1, 2]  # WNIDS[k] has ILSVRC2012_ID ids[k]
    labels = [k for _ in range(per_class) for k in (2, 0, 1)]
    meta = root / "meta.mat"
    _meta_mat(meta, WNIDS, ids)
    with tarfile.open(root / "ILSVRC2012_devkit_t12.tar.gz", "w:gz") as tar:
        _add(tar, "ILSVRC2012_devkit_t12/data/meta.mat", meta.read_bytes())
        _add(tar, "ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt",
             "".join(f"{ids[k]}\n" for k in labels).encode())
    meta.unlink()
    with tarfile.open(root / "ILSVRC2012_img_val.tar", "w") as tar:
        for n, k in enumerate(labels, 1):
            img = rng.integers(0, 256, (30 + n, 36, 3), dtype=np.uint8)
            img[..., 0] = 40 * k
            buf = io.BytesIO()
            from PIL import Image

            Image.fromarray(img).save(buf, format="PNG")
            _add(tar, f"ILSVRC2012_val_{n:08d}.JPEG", buf.getvalue())  # a PNG under ILSVRC's name: Pillow sniffs
    return labels


@needs_wordnet
def test_dataset_imagenet_through_torchvisions_own_dataset(tmp_path, monkeypatch):
    import torchvision.datasets.imagenet as tv_imagenet
    from typer.testing import CliRunner

    from semtool.cli.app import app

    labels = _imagenet_root(tmp_path / "inet", np.random.default_rng(3))
    # torchvision checks the archives' MD5 against the real ones; point it at these instead
    for key in ("devkit", "val"):
        name = tv_imagenet.ARCHIVE_META[key][0]
        monkeypatch.setitem(tv_imagenet.ARCHIVE_META, key,
                            (name, hashlib.md5((tmp_path / "inet" / name).read_bytes()).hexdigest()))
    out = tmp_path / "val.h5"
    res = CliRunner().invoke(app, ["dataset", "imagenet", "--root", str(tmp_path / "inet"), "--split", "val",
                                   "--size", "32", "--crop", "28", "--limit-per-class", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    data = read_imageset(out)
    assert data.classes == ["tench", "goldfish", "crane bird"]
    assert data.synsets == ["tench.n.01", "goldfish.n.01", "crane.n.05"]
    assert data.images.shape == (6, 28, 28, 3) and list(data.counts()) == [2, 2, 2] and data.split == "val"
    np.testing.assert_array_equal(data.images[..., 0].reshape(6, -1).mean(1), 40 * data.labels)
    assert sorted(p.name for p in (tmp_path / "inet" / "val").iterdir()) == WNIDS  # torchvision sorted them
    assert sorted(labels) == sorted(k for k in range(3) for _ in range(3))
    # a second run reads the meta.bin and val/ torchvision left behind: the same images
    res = CliRunner().invoke(app, ["dataset", "imagenet", "--root", str(tmp_path / "inet"), "--size", "32",
                                   "--crop", "28", "--limit-per-class", "2", "-o", str(out), "--force"])
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(read_imageset(out).images, data.images)


def test_dataset_imagenet_refusals(cli, tmp_path):
    out = tmp_path / "o.h5"
    root = tmp_path / "inet"
    root.mkdir()
    assert_user_error(cli("dataset", "imagenet", "--root", root, "-o", out), "ILSVRC2012_devkit_t12.tar.gz", str(root))
    (root / "ILSVRC2012_devkit_t12.tar.gz").write_bytes(b"not the devkit")
    assert_user_error(cli("dataset", "imagenet", "--root", root, "-o", out), "ILSVRC2012_img_val.tar")
    assert_user_error(cli("dataset", "imagenet", "--root", root, "--split", "train", "-o", out),
                      "ILSVRC2012_img_train.tar")
    (root / "val").mkdir()
    # torchvision's own MD5 check of the devkit: its words, on one line
    assert_user_error(cli("dataset", "imagenet", "--root", root, "-o", out), "ILSVRC2012_devkit_t12.tar.gz",
                      "corrupted")
    assert_user_error(cli("dataset", "imagenet", "--root", tmp_path / "nope", "-o", out), "no such folder")
    assert_user_error(cli("dataset", "imagenet", "--root", root, "--size", "64", "--crop", "80", "-o", out), "--crop")
    assert_user_error(cli("dataset", "imagenet", "--root", root, "--crop", "big", "-o", out), "--crop", "S or HxW")
    assert not out.exists()


def test_dataset_folder_resolution_refusals(cli, tmp_path):
    _wnid_tree(tmp_path / "t", np.random.default_rng(0), WNIDS[:2], per_class=1)
    out = tmp_path / "o.h5"
    assert_user_error(cli("dataset", "folder", tmp_path / "t", "--size", "32x24", "--crop", "16", "-o", out),
                      "--size", "one number")
    assert_user_error(cli("dataset", "folder", tmp_path / "t", "--size", "16", "--crop", "20", "-o", out), "--crop")
    assert_user_error(cli("dataset", "folder", tmp_path / "t", "--size", "x", "-o", out), "--size", "S or HxW")
    (tmp_path / "t" / WNIDS[0] / "broken.png").write_bytes(b"no image")
    assert_user_error(cli("dataset", "folder", tmp_path / "t", "-o", out), "broken.png", "not a readable image")
    assert not out.exists() and not list(tmp_path.glob(".*o.h5*"))
