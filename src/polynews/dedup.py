"""Deduplication primitives: canonical URLs, exact content hashes, MinHash near-duplicates.

Three levels, cheapest first: the same canonical URL is the same article; the same
normalised text (:func:`content_hash`) is the same article under another URL; a high
estimated Jaccard similarity of word shingles (:func:`minhash`) is a lightly edited copy
(wire copy republished with a new headline, a sentence added or cut, a few words changed).
Different articles about the same story share facts and names, not runs of five words in
a row, so they stay apart. ``benchmarks/dedup.py`` measures the similarities behind the
chosen shingle size and threshold.

The pipeline checks new articles against the published ones in the database
(:mod:`polynews.store.dedup_index`, shared by every worker); :class:`ArticleIndex` is
the same checks in memory. Signatures and LSH bands are computed with numpy alone, bit
for bit as datasketch computes them (so stored signatures stay valid), which keeps
scipy out of every command's start-up.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import struct
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, urlsplit, urlunsplit

import idna
import numpy as np
import numpy.typing as npt
from publicsuffixlist import PublicSuffixList

from polynews.errors import ParseError, SourceError

logger = logging.getLogger(__name__)

SHINGLE_SIZE = 5
"""Words per shingle; shorter texts use as many words as they have."""

_SEED = 1
_SIGNATURE_MAGIC = b"PNMH\x01"  # format version 1: seed u32, num_perm u16, values u32 (LE)
_HEADER = struct.Struct("<IH")

# Query parameters that only say where a click came from; never part of what a page is.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "ttclid",
        "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "ref",
        "ref_src", "ref_url", "referrer", "ocid", "cmpid", "xtor", "ito", "smid", "sr_share",
        "at_medium", "at_campaign", "at_custom1", "wt_mc", "wt.mc_id", "icid", "ncid",
        "spm", "share", "s_cid", "cid_source", "__twitter_impression", "oly_enc_id",
        "oly_anon_id", "vero_id", "rb_clickid", "soc_src", "soc_trk",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "at_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPE = re.compile(r"(%[0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = "-._~!$&'()*+,;=:@/"
_QUERY_SAFE = "-._~!$'()*+,;:@/?"  # '&' and '=' separate parameters, so they stay escaped


def canonicalize_url(url: str) -> str:
    """The canonical form of an http(s) URL, so the same page always gets the same key.

    Lower-cases the scheme and host (IDNA-encoded), drops default ports, the fragment
    (except ``#!`` routes) and tracking parameters, sorts the query, normalises
    percent-escapes and dot segments. Trailing slashes, ``www.`` and the scheme are kept:
    servers are free to serve different pages there.
    """
    text = url.strip() if isinstance(url, str) else ""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise SourceError(f"cannot canonicalize URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise SourceError(
            f"cannot canonicalize URL {url!r}: not an absolute http(s) URL with a host"
        )
    host = _idna_host(parts.hostname, url)
    netloc = host
    if parts.username is not None or parts.password is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{host}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = _remove_dot_segments(_requote(parts.path, _PATH_SAFE)) or "/"
    query = _canonical_query(parts.query)
    fragment = parts.fragment if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, netloc, path, query, _requote(fragment, _PATH_SAFE + "?")))


@cache
def _suffix_list() -> PublicSuffixList:
    # The list bundled with the package (ICANN and private sections): no network, ever.
    return PublicSuffixList()


def site_of(url: str) -> str | None:
    """The registrable domain of ``url``'s host: "news.example.co.uk" -> "example.co.uk".

    Private suffixes count ("a.github.io" and "b.github.io" are different sites). An IP
    address, or a name without a registrable part ("localhost"), is a site of its own:
    only the very same host matches it. None for what is not an http(s) URL.
    """
    try:
        host = urlsplit(canonicalize_url(url)).hostname
    except (SourceError, ValueError):
        return None
    if not host:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _suffix_list().privatesuffix(host) or host
    return host


def same_site(url: str, other: str) -> bool:
    """Whether two URLs are on the same registrable domain (see :func:`site_of`)."""
    site = site_of(url)
    return site is not None and site == site_of(other)


def _idna_host(hostname: str, url: str) -> str:
    host = hostname.rstrip(".")
    if host.startswith("[") or ":" in host:  # IPv6 literal
        return f"[{host.strip('[]')}]"
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        try:  # IDNA 2003 still accepts a few names IDNA 2008 refuses (symbols, emoji).
            return host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise SourceError(f"cannot canonicalize URL {url!r}: bad host name ({exc})") from None


def _requote(component: str, safe: str) -> str:
    """Escape what must be escaped, unescape unreserved characters, upper-case escapes."""
    out: list[str] = []
    for piece in _ESCAPE.split(component):
        if _ESCAPE.fullmatch(piece):
            char = chr(int(piece[1:], 16))
            out.append(char if char in _UNRESERVED else piece.upper())
        elif piece:
            out.append(quote(piece, safe=safe))
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        elif segment == ".":
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/".join(output)


def _canonical_query(query: str) -> str:
    kept: list[tuple[str, str]] = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        plain_key = key.lower()
        if plain_key in TRACKING_PARAMETERS or plain_key.startswith(_TRACKING_PREFIXES):
            continue
        kept.append((_requote(key, _QUERY_SAFE), sep + _requote(value, _QUERY_SAFE + "=")))
    kept.sort()
    return "&".join(key + value for key, value in kept)


@cache
def _punctuation_table() -> dict[int, str]:
    # Built once per process (about 0.2 s); str.translate with it is far faster than a regex.
    return {
        code: " "
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)).startswith("P")
    }


def normalise_text(paragraphs: Sequence[str]) -> str:
    """The text both fingerprints are computed on: NFKC, case-folded, punctuation-free."""
    text = unicodedata.normalize("NFKC", " ".join(paragraphs)).casefold()
    return " ".join(text.translate(_punctuation_table()).split())


def content_hash(paragraphs: Sequence[str]) -> str:
    """SHA-256 (hex) of the normalised text: equal for texts differing only in case,
    punctuation, whitespace, paragraph breaks or Unicode compatibility forms."""
    return hashlib.sha256(normalise_text(paragraphs).encode("utf-8")).hexdigest()


# Scripts written without spaces between words: each character counts as a token.
_TOKEN = re.compile(
    r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
    r"|[^\s\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"
)


def shingles(paragraphs: Sequence[str], *, size: int = SHINGLE_SIZE) -> set[str]:
    """The word ``size``-grams of the normalised text (fewer words for very short texts)."""
    tokens = _TOKEN.findall(normalise_text(paragraphs))
    if not tokens:
        return set()
    size = min(size, len(tokens))
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


class MinHashSignature:
    """An immutable MinHash signature: one 32-bit minimum per permutation, of one seed.

    Bit for bit the signature datasketch's ``MinHash(scheme="affine32")`` computes (SHA-1
    of each shingle, MurmurHash3 finaliser, affine permutations drawn from the seed), so
    signatures stored by earlier versions stay comparable; computed here with numpy alone
    so that importing this module stays cheap.
    """

    __slots__ = ("_values", "seed")

    def __init__(self, *, seed: int, hashvalues: npt.ArrayLike) -> None:
        values = np.array(hashvalues, dtype=np.uint32)
        values.flags.writeable = False
        self.seed = seed
        self._values = values

    @property
    def hashvalues(self) -> npt.NDArray[np.uint32]:
        """The minima, one per permutation (read-only)."""
        return self._values

    def __len__(self) -> int:
        return len(self._values)

    def is_empty(self) -> bool:
        """True for the signature of a text without words (every value at its maximum)."""
        return bool(np.all(self._values == _MAX_HASH))

    def jaccard(self, other: MinHashSignature) -> float:
        """Estimated Jaccard similarity: the share of permutations whose minima agree."""
        if other.seed != self.seed or len(other) != len(self):
            raise ValueError(
                f"cannot compare MinHash signatures of seed {self.seed} x {len(self)} and "
                f"seed {other.seed} x {len(other)}"
            )
        return float(np.count_nonzero(self._values == other._values)) / float(len(self))


_MAX_HASH = np.uint32(0xFFFFFFFF)


@cache
def _permutations(num_perm: int, seed: int = _SEED) -> tuple[npt.NDArray[np.uint32], ...]:
    # Drawn exactly as datasketch's affine32 scheme draws them (odd multipliers), once.
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _fmix32(values: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """MurmurHash3's 32-bit finaliser (a bijection), applied to each shingle hash."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def minhash(
    paragraphs: Sequence[str], *, num_perm: int = 128, shingle_size: int = SHINGLE_SIZE
) -> MinHashSignature:
    """The MinHash signature of the text's word shingles.

    A text without words gives an empty signature (``sig.is_empty()``), which the
    near-duplicate indexes never match.
    """
    a, b = _permutations(num_perm)
    words = shingles(paragraphs, size=shingle_size)
    if not words:
        return MinHashSignature(seed=_SEED, hashvalues=np.full(num_perm, _MAX_HASH))
    digests = b"".join(
        hashlib.sha1(s.encode("utf-8"), usedforsecurity=False).digest()[:4] for s in words
    )
    hashed = _fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))
    permuted = hashed[:, np.newaxis] * a + b  # uint32 arithmetic: wraps modulo 2**32
    return MinHashSignature(seed=_SEED, hashvalues=permuted.min(axis=0))


def signature_to_bytes(sig: MinHashSignature) -> bytes:
    """Serialise a signature for the database (11 + 4 * num_perm bytes)."""
    values = np.asarray(sig.hashvalues, dtype="<u4")
    return _SIGNATURE_MAGIC + _HEADER.pack(sig.seed, len(values)) + values.tobytes()


def signature_from_bytes(data: bytes) -> MinHashSignature:
    """Read back a signature written by :func:`signature_to_bytes`."""
    head = len(_SIGNATURE_MAGIC) + _HEADER.size
    if not data.startswith(_SIGNATURE_MAGIC) or len(data) < head:
        raise ParseError(
            "stored MinHash signature is not in polynews format 1; recompute it from the "
            "article text"
        )
    seed, num_perm = _HEADER.unpack_from(data, len(_SIGNATURE_MAGIC))
    if num_perm == 0 or len(data) != head + 4 * num_perm:
        raise ParseError(
            f"stored MinHash signature is truncated or padded: {len(data)} bytes for "
            f"{num_perm} values; recompute it from the article text"
        )
    return MinHashSignature(seed=seed, hashvalues=np.frombuffer(data, dtype="<u4", offset=head))


# -- locality-sensitive hashing ---------------------------------------------------------


@dataclass(frozen=True)
class BandLayout:
    """How a signature is cut into LSH bands: ``bands`` slices of ``rows`` values."""

    num_perm: int
    bands: int
    rows: int


def lsh_threshold(threshold: float) -> float:
    """The similarity the bands are tuned for: lower than the one applied, so pairs just
    above it are not lost to banding; the estimated Jaccard filter restores precision."""
    return max(0.05, threshold - 0.15)


@cache
def band_layout(threshold: float, num_perm: int = 128) -> BandLayout:
    """The bands and rows that minimise the false positive plus false negative
    probability at :func:`lsh_threshold` (equal weights), as datasketch's
    ``MinHashLSH`` chooses them, so decisions match those of earlier versions.

    The probabilities are polynomial integrals of degree at most ``num_perm``, which
    Gauss-Legendre quadrature with enough nodes integrates exactly.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    target = lsh_threshold(threshold)
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 2)

    def integral(low: float, high: float) -> tuple[npt.NDArray[np.float64], ...]:
        half = (high - low) / 2
        return low + half * (nodes + 1), half * weights

    fp_s, fp_w = integral(0.0, target)
    fn_s, fn_w = integral(target, 1.0)
    best, best_error = (0, 0), float("inf")
    for bands in range(1, num_perm + 1):
        rows = np.arange(1, num_perm // bands + 1, dtype=np.float64)[:, np.newaxis]
        false_positive = (1 - (1 - fp_s**rows) ** bands) @ fp_w
        false_negative = ((1 - fn_s**rows) ** bands) @ fn_w
        errors = 0.5 * false_positive + 0.5 * false_negative
        for row, error in enumerate(errors.tolist(), start=1):  # first minimum wins, as there
            if error < best_error:
                best, best_error = (bands, row), error
    return BandLayout(num_perm=num_perm, bands=best[0], rows=best[1])


def band_buckets(sig: MinHashSignature, layout: BandLayout) -> list[int]:
    """One 63-bit bucket key per band: two signatures are candidates when any band of
    theirs has the same key (a band's values, hashed; a false collision costs one
    Jaccard check, never a wrong decision)."""
    values = np.asarray(sig.hashvalues, dtype=">u4")
    keys = []
    for band in range(layout.bands):
        chunk = values[band * layout.rows : (band + 1) * layout.rows].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)  # fits a signed BIGINT
    return keys


class NearDuplicateIndex:
    """In-memory LSH index of signatures (the store's ``dedup_index`` is the shared one).

    Candidates share a band bucket (:func:`band_buckets`); only those whose estimated
    Jaccard reaches the threshold are answered.
    """

    def __init__(self, *, threshold: float, num_perm: int = 128) -> None:
        self.layout = band_layout(threshold, num_perm)
        self.threshold = threshold
        self.num_perm = num_perm
        self._buckets: dict[tuple[int, int], set[int]] = {}
        self._signatures: dict[int, MinHashSignature] = {}

    def add(self, key: int, sig: MinHashSignature) -> None:
        """Index ``sig`` under ``key`` (replacing any earlier one); empty signatures are ignored."""
        self._check(sig)
        if key in self._signatures:
            self.remove(key)
        if sig.is_empty():
            logger.debug("empty signature not indexed key=%s", key)
            return
        for band, bucket in enumerate(band_buckets(sig, self.layout)):
            self._buckets.setdefault((band, bucket), set()).add(key)
        self._signatures[key] = sig

    def remove(self, key: int) -> None:
        """Forget ``key``; unknown keys are ignored."""
        sig = self._signatures.pop(key, None)
        if sig is None:
            return
        for band, bucket in enumerate(band_buckets(sig, self.layout)):
            keys = self._buckets[(band, bucket)]
            keys.discard(key)
            if not keys:
                del self._buckets[(band, bucket)]

    def query(self, sig: MinHashSignature) -> list[int]:
        """Keys whose estimated Jaccard with ``sig`` reaches the threshold, most similar first."""
        self._check(sig)
        if sig.is_empty():
            return []
        candidates: set[int] = set()
        for band, bucket in enumerate(band_buckets(sig, self.layout)):
            candidates |= self._buckets.get((band, bucket), set())
        return rank_candidates(sig, {k: self._signatures[k] for k in candidates}, self.threshold)

    def similarity(self, key: int, sig: MinHashSignature) -> float:
        """Estimated Jaccard similarity of ``sig`` with the indexed signature of ``key``."""
        return sig.jaccard(self._signatures[key])

    def __contains__(self, key: object) -> bool:
        return key in self._signatures

    def __len__(self) -> int:
        return len(self._signatures)

    def _check(self, sig: MinHashSignature) -> None:
        check_num_perm(sig, self.num_perm)


def check_num_perm(sig: MinHashSignature, num_perm: int) -> None:
    """Raise ValueError when ``sig`` was computed with another number of permutations."""
    if len(sig) != num_perm:
        raise ValueError(
            f"signature has {len(sig)} permutations, the index {num_perm}; "
            "recompute stored signatures after changing num_perm"
        )


def rank_candidates(
    sig: MinHashSignature, candidates: dict[int, MinHashSignature], threshold: float
) -> list[int]:
    """The candidate keys whose estimated Jaccard with ``sig`` reaches ``threshold``,
    most similar first (ties: lowest key first)."""
    scored = [(sig.jaccard(other), key) for key, other in candidates.items()]
    scored = [item for item in scored if item[0] >= threshold]
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [key for _, key in scored]


@dataclass(frozen=True)
class Match:
    """The earlier article a new one copies, how it was recognised and how similar it is."""

    original: int
    kind: str  # "url" | "exact" | "near"
    similarity: float


class ArticleIndex:
    """Every published article's canonical URL, content hash and signature, in memory.

    The three checks of dedup in order: same canonical URL, same normalised text, near
    duplicate. Built from stored fingerprints at start, so a restart loses nothing.
    """

    def __init__(self, *, threshold: float, num_perm: int = 128) -> None:
        self.near = NearDuplicateIndex(threshold=threshold, num_perm=num_perm)
        self._by_url: dict[str, int] = {}
        self._by_hash: dict[str, int] = {}

    def add(
        self,
        key: int,
        *,
        canonical_url: str | None,
        text_hash: str | None,
        signature: MinHashSignature | None,
    ) -> None:
        """Remember a published article (the first one with a URL or hash keeps it)."""
        if canonical_url:
            self._by_url.setdefault(canonical_url, key)
        if text_hash:
            self._by_hash.setdefault(text_hash, key)
        if signature is not None:
            self.near.add(key, signature)

    def find(
        self,
        *,
        canonical_url: str | None,
        text_hash: str | None,
        signature: MinHashSignature | None,
        exclude: int | None = None,
    ) -> Match | None:
        """The published article this one copies, or None when it is new."""
        if canonical_url and self._by_url.get(canonical_url, exclude) != exclude:
            return Match(self._by_url[canonical_url], "url", 1.0)
        if text_hash and self._by_hash.get(text_hash, exclude) != exclude:
            return Match(self._by_hash[text_hash], "exact", 1.0)
        if signature is not None:
            for key in self.near.query(signature):
                if key != exclude:
                    return Match(key, "near", self.near.similarity(key, signature))
        return None

    def __len__(self) -> int:
        return len(self.near)
