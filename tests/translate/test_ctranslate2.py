"""The CTranslate2 backend on the tiny fixture models, through the real loading code.

The fixtures are built by ``scripts/build_tiny_model.py``: an OPUS-MT style directory
for xx -> yy and an Argos package for yy -> xx, both with random weights, so outputs are
nonsense but real: tokenised, decoded by CTranslate2 and detokenised.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from polynews.config import Settings
from polynews.errors import BackendUnavailable, TranslateError
from polynews.translate.base import TranslationBackend
from polynews.translate.ctranslate2_backend import CTranslate2Backend, create, models_dir
from polynews.translate.registry import load_backends

FIXTURES = Path(__file__).parent / "fixtures"
OPUS = FIXTURES / "opus-mt-xx-yy"
ARGOS = FIXTURES / "translate-yy_xx-1_0.argosmodel"


def install(settings: Settings, *items: Path) -> Path:
    """Copy fixture models into the settings' models directory."""
    target = models_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    for item in items:
        if item.is_dir():
            shutil.copytree(item, target / item.name)
        else:
            shutil.copy(item, target / item.name)
    return target


@pytest.fixture
def backend(settings: Settings) -> CTranslate2Backend:
    install(settings, OPUS, ARGOS)
    return create(settings)


def test_both_layouts_load_side_by_side(backend: CTranslate2Backend) -> None:
    assert isinstance(backend, TranslationBackend)
    assert backend.name == "ctranslate2"
    assert backend.kind == "neural"
    assert backend.directions() == {("xx", "yy"), ("yy", "xx")}
    packages = backend.packages
    assert packages[("xx", "yy")].layout == "opus-mt"
    assert packages[("yy", "xx")].layout == "argos"
    assert packages[("yy", "xx")].version == "1.0"  # package_version from metadata.json


def test_argos_package_is_unpacked_into_the_cache(settings: Settings) -> None:
    install(settings, ARGOS)
    backend = create(settings)
    package = backend.packages[("yy", "xx")]
    cache = Path(settings.data_dir) / "cache" / "ctranslate2"
    assert cache in package.model_dir.parents
    assert (package.model_dir / "model.bin").is_file()
    assert package.origin.name == ARGOS.name
    # A second start reuses the unpacked copy instead of unzipping again.
    stamp = package.model_dir.stat().st_mtime_ns
    again = create(settings).packages[("yy", "xx")]
    assert again.model_dir == package.model_dir
    assert again.model_dir.stat().st_mtime_ns == stamp


def test_unpacked_argos_directory_loads(settings: Settings, tmp_path: Path) -> None:
    with zipfile.ZipFile(ARGOS) as zf:
        zf.extractall(tmp_path / "unzipped")
    install(settings, tmp_path / "unzipped" / "translate-yy_xx-1_0")
    assert create(settings).directions() == {("yy", "xx")}


@pytest.mark.parametrize("direction", [("xx", "yy"), ("yy", "xx")])
def test_translation_keeps_paragraphs_one_to_one(
    backend: CTranslate2Backend, direction: tuple[str, str]
) -> None:
    segments = [
        "The council met on Monday. Dr. Smith spoke first.",
        "",
        "   ",
        "Prices rose by 4 % in October!",
        "A list:\nfirst line\nsecond line",
    ]
    out = backend.translate(segments, *direction)
    assert len(out) == len(segments)
    assert out[1] == "" and out[2] == "   "  # blank segments come back untouched
    assert all(text.strip() for i, text in enumerate(out) if i not in (1, 2))
    assert out[4].count("\n") == 2  # line breaks inside a paragraph survive


def test_paragraph_is_translated_sentence_by_sentence(backend: CTranslate2Backend) -> None:
    first, second = "The council met on Monday.", "Dr. Smith spoke first."
    whole = backend.translate([f"{first} {second}"], "xx", "yy")[0]
    parts = backend.translate([first, second], "xx", "yy")
    assert whole == f"{parts[0]} {parts[1]}"


def test_translation_is_deterministic(settings: Settings) -> None:
    install(settings, OPUS)
    text = ["Die Stadtverwaltung hat am Dienstag einen neuen Haushalt vorgestellt."] * 3
    first = create(settings).translate(text, "xx", "yy")
    second = create(settings).translate(text, "xx", "yy")
    assert first == second
    assert first[0] == first[1] == first[2]


def test_large_batch_keeps_order(backend: CTranslate2Backend) -> None:
    # More sentences than one CTranslate2 batch, of varied lengths (they get sorted).
    segments = [("word " * (i % 7 + 1)).strip() + "." for i in range(70)]
    out = backend.translate(segments, "xx", "yy")
    single = {s: backend.translate([s], "xx", "yy")[0] for s in set(segments)}
    assert out == [single[s] for s in segments]


def test_unknown_direction_is_a_translate_error(backend: CTranslate2Backend) -> None:
    with pytest.raises(TranslateError, match=r"no model for de-en .*installed: xx-yy, yy-xx"):
        backend.translate(["Hallo"], "de", "en")


def test_version_names_the_models(settings: Settings) -> None:
    install(settings, OPUS)
    one = create(settings).version
    install(settings, ARGOS)
    both = create(settings).version
    assert one.startswith("4.") and "+models." in one
    assert one != both


def test_models_dir_setting_overrides_data_dir(settings: Settings, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(OPUS, elsewhere / OPUS.name)
    assert create(settings.replace(models_dir=str(elsewhere))).directions() == {("xx", "yy")}


def test_direction_from_metadata_file(settings: Settings) -> None:
    target = install(settings)
    shutil.copytree(OPUS, target / "my-model")
    (target / "my-model" / "metadata.json").write_text('{"from_code": "de", "to_code": "en"}')
    assert create(settings).directions() == {("de", "en")}


def test_missing_models_directory(settings: Settings) -> None:
    with pytest.raises(BackendUnavailable, match=r"no models directory .*models"):
        create(settings)


def test_empty_models_directory(settings: Settings) -> None:
    install(settings)
    with pytest.raises(BackendUnavailable, match=r"no usable model .*empty"):
        create(settings)


def test_corrupt_model_bin_is_reported_at_create(settings: Settings) -> None:
    target = install(settings, OPUS)
    (target / OPUS.name / "model.bin").write_bytes(b"not a model at all" * 10)
    with pytest.raises(BackendUnavailable, match=r"opus-mt-xx-yy: CTranslate2 cannot load it"):
        create(settings)


def test_truncated_model_bin_is_reported_at_create(settings: Settings) -> None:
    target = install(settings, OPUS)
    model = target / OPUS.name / "model.bin"
    model.write_bytes(model.read_bytes()[:2000])
    with pytest.raises(BackendUnavailable, match="cannot load it"):
        create(settings)


def test_corrupt_sentencepiece_model(settings: Settings) -> None:
    target = install(settings, OPUS)
    (target / OPUS.name / "source.spm").write_bytes(b"\x00garbage")
    with pytest.raises(BackendUnavailable, match="SentencePiece cannot load"):
        create(settings)


def test_missing_sentencepiece_files(settings: Settings) -> None:
    target = install(settings, OPUS)
    (target / OPUS.name / "source.spm").unlink()
    with pytest.raises(BackendUnavailable, match=r"source\.spm and target\.spm are missing"):
        create(settings)


def test_missing_model_bin(settings: Settings) -> None:
    target = install(settings, OPUS)
    (target / OPUS.name / "model.bin").unlink()
    with pytest.raises(BackendUnavailable, match=r"model\.bin is missing"):
        create(settings)


def test_directory_without_direction(settings: Settings) -> None:
    target = install(settings)
    shutil.copytree(OPUS, target / "some-model")
    with pytest.raises(BackendUnavailable, match="cannot tell its direction"):
        create(settings)


def test_bad_metadata(settings: Settings) -> None:
    target = install(settings)
    shutil.copytree(OPUS, target / "some-model")
    (target / "some-model" / "metadata.json").write_text('{"from_code": "German"}')
    with pytest.raises(BackendUnavailable, match="from_code and to_code as ISO 639 codes"):
        create(settings)


def test_corrupt_argos_zip(settings: Settings) -> None:
    target = install(settings)
    (target / "translate-de_en-1_0.argosmodel").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(BackendUnavailable, match="not a readable zip file"):
        create(settings)


def test_argos_zip_escaping_its_directory_is_refused(settings: Settings) -> None:
    target = install(settings)
    with zipfile.ZipFile(target / "evil.argosmodel", "w") as zf:
        zf.writestr("../outside.txt", "x")
    with pytest.raises(BackendUnavailable, match="points outside the package"):
        create(settings)
    assert not (target.parent / "cache" / "outside.txt").exists()
    assert not (target / "outside.txt").exists()


def test_argos_zip_without_metadata(settings: Settings) -> None:
    target = install(settings)
    with zipfile.ZipFile(target / "odd.argosmodel", "w") as zf:
        zf.writestr("something/readme.txt", "hello")
    with pytest.raises(BackendUnavailable, match=r"no metadata\.json at its top"):
        create(settings)


def test_one_bad_model_does_not_stop_the_others(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    target = install(settings, OPUS, ARGOS)
    (target / OPUS.name / "model.bin").write_bytes(b"broken")
    with caplog.at_level(logging.WARNING, logger="polynews.translate.ctranslate2_backend"):
        backend = create(settings)
    assert backend.directions() == {("yy", "xx")}
    assert any("opus-mt-xx-yy" in r.getMessage() for r in caplog.records)
    assert backend.translate(["Hello."], "yy", "xx")[0]


def test_least_recently_used_models_are_unloaded(settings: Settings) -> None:
    install(settings, OPUS, ARGOS)
    backend = create(settings.replace(ctranslate2_max_loaded=1))
    a = backend.translate(["Hello there."], "xx", "yy")
    b = backend.translate(["Hello there."], "yy", "xx")
    # Reloading after eviction gives the same model, hence the same output.
    assert backend.translate(["Hello there."], "xx", "yy") == a
    assert backend.translate(["Hello there."], "yy", "xx") == b


def test_end_of_sentence_added_when_the_converter_did_not(settings: Settings) -> None:
    # ct2-transformers-converter writes add_source_eos: false for Marian; the backend
    # must then append </s> itself, which must give what CTranslate2 gives when it does.
    text = ["The council met on Monday.", "Prices rose by 4 % in October."]
    install(settings, OPUS)
    reference = create(settings)
    assert not reference.packages[("xx", "yy")].append_eos
    expected = reference.translate(text, "xx", "yy")

    other = settings.replace(models_dir=str(Path(settings.data_dir) / "hf-models"))
    target = install(other, OPUS)
    config_path = target / OPUS.name / "config.json"
    config = json.loads(config_path.read_text())
    config["add_source_eos"] = False
    config_path.write_text(json.dumps(config))
    converted = create(other)
    assert converted.packages[("xx", "yy")].append_eos
    assert converted.translate(text, "xx", "yy") == expected


def test_loads_through_the_registry(settings: Settings) -> None:
    install(settings, OPUS)
    chosen = settings.replace(translation_backends=["ctranslate2"])
    factories = {"ctranslate2": "polynews.translate.ctranslate2_backend:create"}
    backends = load_backends(chosen, factories=factories)
    assert [b.name for b in backends] == ["ctranslate2"]
    assert backends[0].directions() == {("xx", "yy")}


def test_replaced_package_is_unpacked_again_and_the_old_copy_removed(settings: Settings) -> None:
    target = install(settings, ARGOS)
    first = create(settings).packages[("yy", "xx")].model_dir
    package = target / ARGOS.name
    os.utime(package, ns=(1, 1))  # as if replaced by another copy
    second = create(settings).packages[("yy", "xx")].model_dir
    assert second != first
    assert second.is_dir() and not first.exists()
