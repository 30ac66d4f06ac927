"""Build the tiny random-weight translation model the CTranslate2 tests load.

The model is a Marian-like Transformer (one encoder and one decoder layer, a few
thousand parameters) whose weights are drawn from a seeded random generator and written
with CTranslate2's own spec API; its SentencePiece model is trained on a short text
written for this purpose. It "translates" the made-up directions xx -> yy and
yy -> xx into nonsense, which is all the tests need: they exercise the real loading, tokenising,
batching and reassembly code without any download.

Two layouts are written into ``tests/translate/fixtures/``:

* ``opus-mt-xx-yy/``: an OPUS-MT model as converted by ``ct2-transformers-converter``
  (``model.bin``, ``config.json``, ``shared_vocabulary.json``, ``source.spm``,
  ``target.spm``);
* ``translate-yy_xx-1_0.argosmodel``: an Argos Translate package (a zip with one top
  directory holding ``metadata.json``, ``sentencepiece.model`` and ``model/``).

Run it again after changing it (``.venv/bin/python scripts/build_tiny_model.py``) and
commit the output. Needs ``ctranslate2``, ``sentencepiece`` and ``numpy``; no torch.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import ctranslate2
import numpy as np
import sentencepiece as spm
from ctranslate2.specs import common_spec, transformer_spec

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "translate" / "fixtures"
SOURCE, TARGET = "xx", "yy"
D_MODEL = 16
FFN = 32
HEADS = 2
VOCAB = 200
SEED = 20251125

# Written for this fixture; a mix of languages so the pieces cover the scripts the
# tests feed the model (Latin with accents, Cyrillic, digits, punctuation).
TRAINING_TEXT = """\
The harbour opened at dawn and the first boats came back with a small catch.
Council members argued for three hours about the new tram line through the old town.
A spokesperson said the talks would resume on Monday in the capital.
Prices for bread and milk rose by 4 % in October, the statistics office reported.
Die Stadtverwaltung hat am Dienstag einen neuen Haushalt vorgestellt.
Der Zug nach Hamburg fiel wegen eines Sturms am Abend aus.
Nach Angaben der Polizei wurde niemand verletzt.
Les agriculteurs ont bloqué la route nationale pendant toute la matinée.
Le ministre a promis une réponse avant la fin du mois de novembre.
Selon la mairie, 10 000 personnes ont participé au défilé.
El gobierno regional anunció nuevas ayudas para los pescadores del norte.
¿Quién pagará la reparación del puente? preguntó una vecina.
Il sindaco ha inaugurato la nuova biblioteca comunale sabato mattina.
Gli studenti hanno protestato davanti al ministero dell'istruzione.
Міська рада ухвалила бюджет на наступний рік у середу ввечері.
Науковці з Києва представили нове дослідження про якість води.
Dr. Smith and Mrs. Jones met the mayor at 9 a.m. on Jan. 5.
Numbers such as 1.5, 2,000 and 3/4 appear in many reports.
"We will not give up," she said. Then the meeting ended.
Kim Jong Un and Choe Son Hui were named in the statement.
"""


def train_sentencepiece(workdir: Path) -> Path:
    """Train a small SentencePiece model on TRAINING_TEXT; return the .model path."""
    # Sentences in and bytes out through Python, so no temporary path ends up in the
    # model's stored trainer spec and a rebuild gives identical bytes.
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TRAINING_TEXT.splitlines() * 3),
        model_writer=model,
        vocab_size=VOCAB,
        model_type="unigram",
        character_coverage=1.0,
        # "identity" leaves out the NFKC table (~200 KB) that real models carry.
        normalization_rule_name="identity",
        hard_vocab_limit=False,
        bos_id=1,
        eos_id=2,
        unk_id=0,
        pad_id=-1,
        minloglevel=2,
        num_threads=1,
    )
    path = workdir / "spm.model"
    path.write_bytes(model.getvalue())
    return path


def vocabulary(model_path: Path) -> list[str]:
    """The pieces of a SentencePiece model, in id order (``<unk>``, ``<s>``, ``</s>``, ...)."""
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())]


def _linear(spec: common_spec.LinearSpec, rng: np.random.Generator, out: int, inp: int) -> None:
    spec.weight = rng.normal(0.0, inp**-0.5, size=(out, inp)).astype(np.float32)
    spec.bias = np.zeros(out, dtype=np.float32)


def _norm(spec: common_spec.LayerNormSpec) -> None:
    spec.gamma = np.ones(D_MODEL, dtype=np.float32)
    spec.beta = np.zeros(D_MODEL, dtype=np.float32)


def build_spec(tokens: list[str], seed: int) -> transformer_spec.TransformerSpec:
    """A one-layer pre-norm Transformer with shared, tied embeddings and random weights."""
    rng = np.random.default_rng(seed)
    spec = transformer_spec.TransformerSpec.from_config((1, 1), HEADS, pre_norm=True)
    embeddings = rng.normal(0.0, D_MODEL**-0.5, size=(len(tokens), D_MODEL)).astype(np.float32)

    encoder = spec.encoder
    encoder.embeddings[0].weight = embeddings
    _norm(encoder.layer_norm)
    for layer in encoder.layer:
        _norm(layer.self_attention.layer_norm)
        _linear(layer.self_attention.linear[0], rng, 3 * D_MODEL, D_MODEL)  # fused q, k, v
        _linear(layer.self_attention.linear[1], rng, D_MODEL, D_MODEL)
        _norm(layer.ffn.layer_norm)
        _linear(layer.ffn.linear_0, rng, FFN, D_MODEL)
        _linear(layer.ffn.linear_1, rng, D_MODEL, FFN)

    decoder = spec.decoder
    decoder.embeddings.weight = embeddings
    decoder.start_from_zero_embedding = True  # as Marian does
    _norm(decoder.layer_norm)
    for layer in decoder.layer:
        _norm(layer.self_attention.layer_norm)
        _linear(layer.self_attention.linear[0], rng, 3 * D_MODEL, D_MODEL)
        _linear(layer.self_attention.linear[1], rng, D_MODEL, D_MODEL)
        _norm(layer.attention.layer_norm)
        _linear(layer.attention.linear[0], rng, D_MODEL, D_MODEL)  # query
        _linear(layer.attention.linear[1], rng, 2 * D_MODEL, D_MODEL)  # fused k, v
        _linear(layer.attention.linear[2], rng, D_MODEL, D_MODEL)
        _norm(layer.ffn.layer_norm)
        _linear(layer.ffn.linear_0, rng, FFN, D_MODEL)
        _linear(layer.ffn.linear_1, rng, D_MODEL, FFN)
    # Tied output projection; a bias towards </s> keeps random outputs short.
    decoder.projection.weight = embeddings
    bias = np.zeros(len(tokens), dtype=np.float32)
    bias[tokens.index("</s>")] = 2.0
    decoder.projection.bias = bias

    spec.register_source_vocabulary(tokens)
    spec.register_target_vocabulary(tokens)
    spec.config.add_source_eos = True  # Marian models expect </s> after the source
    return spec


def write_model(spec: transformer_spec.TransformerSpec, output: Path) -> None:
    """Validate, quantise to int8 and save ``spec`` into ``output``."""
    spec.validate()
    spec.optimize(quantization="int8")
    output.mkdir(parents=True)
    spec.save(str(output))


def build(fixtures: Path) -> list[Path]:
    """Write both layouts into ``fixtures``; return the paths written."""
    fixtures.mkdir(parents=True, exist_ok=True)
    opus_dir = fixtures / f"opus-mt-{SOURCE}-{TARGET}"
    # The package goes the other way, so both layouts can sit in one models directory.
    argos_file = fixtures / f"translate-{TARGET}_{SOURCE}-1_0.argosmodel"
    if opus_dir.exists():
        shutil.rmtree(opus_dir)
    argos_file.unlink(missing_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sp_model = train_sentencepiece(work)
        tokens = vocabulary(sp_model)

        write_model(build_spec(tokens, SEED), opus_dir)
        shutil.copy(sp_model, opus_dir / "source.spm")
        shutil.copy(sp_model, opus_dir / "target.spm")

        package = work / f"translate-{TARGET}_{SOURCE}-1_0"
        write_model(build_spec(tokens, SEED + 1), package / "model")
        shutil.copy(sp_model, package / "sentencepiece.model")
        metadata = {
            "package_version": "1.0",
            "argos_version": "1.9.0",
            "from_code": TARGET,
            "from_name": "Fixturese",
            "to_code": SOURCE,
            "to_name": "Testish",
            "description": "Random-weight model for polynews tests; translates nothing.",
        }
        (package / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n", "utf-8")
        # Fixed timestamps so a rebuild with the same inputs gives the same zip.
        with zipfile.ZipFile(argos_file, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(package.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(
                        str(path.relative_to(work)), date_time=(2025, 11, 25, 0, 0, 0)
                    )
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, path.read_bytes())
    return [opus_dir, argos_file]


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=FIXTURES, help="fixtures directory")
    args = parser.parse_args()
    for path in build(args.output):
        size = (
            sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size
        )
        print(f"wrote {path} ({size / 1024:.0f} KB) with ctranslate2 {ctranslate2.__version__}")


if __name__ == "__main__":
    main()
