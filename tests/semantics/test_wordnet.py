"""WordNet without a network: Debian's database through NLTK's own reader, and the presets."""

from __future__ import annotations

import pytest

from semtool.errors import UserError
from semtool.semantics import wordnet as W

pytestmark = pytest.mark.skipif(not W.where()["available"],
                                reason="no WordNet: apt-get install wordnet-base wordnet-sense-index")

CIFAR100 = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly "
    "camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup "
    "dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower "
    "leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid "
    "otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road "
    "rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower "
    "sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale "
    "willow_tree wolf woman worm"
).split()
FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(scope="module")
def wn():
    return W.wordnet()


@pytest.mark.parametrize("name,classes", [("cifar100", CIFAR100), ("cifar10", CIFAR10), ("fashion-mnist", FASHION)])
def test_every_preset_synset_exists_and_is_a_noun(wn, name, classes):
    table = W.preset_synsets(name)
    assert list(table) == classes
    for cls, syn in table.items():
        s = wn.synset(syn)
        assert s.pos() == "n", (cls, syn)
        assert s.name() == syn, (cls, syn)  # canonical names, so files compare as text


@pytest.mark.parametrize("cls,syn,fragment", [
    # The senses DESIGN.md warns about: wn.synsets(name)[0] is wrong for these.
    ("dolphin", "dolphin.n.02", "whales"), ("skunk", "skunk.n.04", "mammal"), ("trout", "trout.n.02", "fishes"),
    ("cloud", "cloud.n.02", "water"), ("television", "television_receiver.n.01", "receives"),
    ("ray", "ray.n.07", "fishes"), ("seal", "seal.n.09", "marine mammals"), ("whale", "whale.n.02", "cetacean"),
    ("turtle", "turtle.n.02", "reptiles"), ("plate", "plate.n.04", "food"), ("table", "table.n.02", "furniture"),
    ("palm_tree", "palm.n.03", "plant"), ("castle", "castle.n.02", "fortified"),
])
def test_cifar100_senses(wn, cls, syn, fragment):
    assert W.preset_synsets("cifar100")[cls] == syn
    assert fragment in wn.synset(syn).definition()
    assert wn.synsets(cls.split("_")[0], "n")[0].name() != syn  # the first sense would be wrong


def test_known_similarities(wn):
    # Reference values from NLTK's WordNet HOWTO (nltk/test/wordnet.doctest, WordNet 3.0).
    dog, cat = wn.synset("dog.n.01"), wn.synset("cat.n.01")
    assert dog.path_similarity(cat) == pytest.approx(0.2)
    assert dog.wup_similarity(cat) == pytest.approx(0.8571428571428571)
    assert dog.lch_similarity(cat) == pytest.approx(2.0281482472922856)
    assert wn.synset("hit.v.01").path_similarity(wn.synset("slap.v.01")) == pytest.approx(0.14285714285714285)
    assert [s.name() for s in wn.synsets("dog")][:3] == ["dog.n.01", "frump.n.01", "dog.n.03"]
    assert dog.lexname() == "noun.animal"
    assert wn.get_version() == "3.0"


def test_build_data_folder_gives_the_same_reader(tmp_path, wn):
    """A fresh build from /usr/share/wordnet reads exactly like the one in use."""
    if not (W.DEBIAN_WORDNET / "data.noun").is_file():
        pytest.skip("Debian's wordnet-base is not installed")
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    folder = W.build_data_folder(W.DEBIAN_WORDNET, tmp_path / "nltk_data")
    assert W.build_data_folder(W.DEBIAN_WORDNET, tmp_path / "nltk_data") == folder  # idempotent
    nltk.data.path.insert(0, str(folder))
    try:
        with pytest.warns(UserWarning, match="multilingual"):
            fresh = WordNetCorpusReader(nltk.data.find("corpora/wordnet"), None)
        pairs = [("dolphin.n.02", "whale.n.02"), ("bee.n.01", "beetle.n.01"), ("bus.n.01", "train.n.01")]
        for a, b in pairs:
            assert fresh.synset(a).path_similarity(fresh.synset(b)) == wn.synset(a).path_similarity(wn.synset(b))
        assert fresh.synset_from_pos_and_offset("n", 2084071).name() == "dog.n.01"
    finally:
        nltk.data.path.remove(str(folder))


def test_lexnames_from_man_page_match_the_table():
    if not W.LEXNAMES_MAN_PAGE.exists():
        pytest.skip("lexnames(5WN) man page not installed")
    rows = W.lexnames_table()
    assert len(rows) == 45 and [n for _, n, _ in rows] == W.LEXNAMES
    assert rows[3] == (3, "noun.Tops", 1) and rows[29] == (29, "verb.body", 2) and rows[44] == (44, "adj.ppl", 3)
    assert W.lexnames_text().splitlines()[2] == "02\tadv.all\t4"


def test_resolve_synset_by_name_and_wnid(wn):
    assert W.resolve_synset("dog.n.01") == W.resolve_synset("n02084071") == wn.synset("dog.n.01")
    with pytest.raises(UserError, match="unknown WordNet synset 'nosuch.n.01'"):
        W.resolve_synset("nosuch.n.01")
    with pytest.raises(UserError, match="unknown WordNet synset 'n99999999'"):
        W.resolve_synset("n99999999")
    with pytest.raises(UserError, match="not a noun"):
        W.resolve_synset("run.v.01")


def test_mapping_file_overrides_preset(tmp_path):
    m = tmp_path / "map.tsv"
    m.write_text("# my senses\nBag\tn02773037  # bag.n.01 by its id\nShirt\tshirt.n.01\n", encoding="utf-8")
    assert W.load_mapping(m) == {"Bag": "bag.n.01", "Shirt": "shirt.n.01"}
    syn = W.synsets_for(FASHION, preset="fashion-mnist", mapping=m)
    assert syn[8] == "bag.n.01" and syn[0] == "jersey.n.03"
    with pytest.raises(UserError, match="no synset for class Hat"):
        W.synsets_for(["Bag", "Hat"], mapping=m)


def test_bad_mapping_line_names_the_synset_and_line(tmp_path):
    m = tmp_path / "map.tsv"
    m.write_text("cat\tcat.n.01\ndog\tdgo.n.01\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"map.tsv:2: unknown WordNet synset 'dgo.n.01'"):
        W.load_mapping(m)
    m.write_text("cat\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"map.tsv:1: expected"):
        W.load_mapping(m)


def test_unknown_preset():
    with pytest.raises(UserError, match="unknown preset 'imagenet21k'"):
        W.preset_synsets("imagenet21k")


def test_unwritable_cache_is_a_user_error(tmp_path, monkeypatch):
    if not (W.DEBIAN_WORDNET / "data.noun").is_file():
        pytest.skip("Debian's wordnet-base is not installed")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SEMTOOL_CACHE_DIR", str(blocker))
    assert W.cache_dir() == blocker
    with pytest.raises(UserError, match="SEMTOOL_CACHE_DIR"):
        W.build_data_folder(W.DEBIAN_WORDNET)
