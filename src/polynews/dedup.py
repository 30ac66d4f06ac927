"""Deduplication primitives: canonical URLs, exact content hashes, MinHash near-duplicates.

Three levels, cheapest first: the same canonical URL is the same article; the same
normalised text (:func:`content_hash`) is the same article under another URL; a high
estimated Jaccard similarity of word shingles (:func:`minhash`) is a lightly edited copy
(wire copy republished with a new headline, a sentence added or cut, a few words changed).
Different articles about the same story share facts and names, not runs of five words in
a row, so they stay apart. ``benchmarks/dedup.py`` measures the similarities behind the
chosen shingle size and threshold.
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
from typing import TypeAlias
from urllib.parse import quote, urlsplit, urlunsplit

import idna
import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH
from publicsuffixlist import PublicSuffixList

from polynews.errors import ParseError, SourceError

logger = logging.getLogger(__name__)

MinHashSignature: TypeAlias = LeanMinHash
"""An immutable MinHash signature (datasketch ``LeanMinHash``, affine32 scheme)."""

SHINGLE_SIZE = 5
"""Words per shingle; shorter texts use as many words as they have."""

_SCHEME = "affine32"
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


@cache
def _template(num_perm: int) -> MinHash:
    # Drawing the permutations is the slow part of creating a MinHash: do it once.
    return MinHash(num_perm=num_perm, seed=_SEED, scheme=_SCHEME)


def minhash(
    paragraphs: Sequence[str], *, num_perm: int = 128, shingle_size: int = SHINGLE_SIZE
) -> MinHashSignature:
    """The MinHash signature of the text's word shingles.

    A text without words gives an empty signature (``sig.is_empty()``), which
    :class:`NearDuplicateIndex` never matches.
    """
    template = _template(num_perm)
    sketch = MinHash(
        num_perm=num_perm, seed=_SEED, scheme=_SCHEME, permutations=template.permutations
    )
    sketch.update_batch([s.encode("utf-8") for s in shingles(paragraphs, size=shingle_size)])
    return LeanMinHash(sketch)


def signature_to_bytes(sig: MinHashSignature) -> bytes:
    """Serialise a signature for the database (20 + 4 * num_perm bytes)."""
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
    values = np.frombuffer(data, dtype="<u4", offset=head).astype(np.uint32)
    return LeanMinHash(seed=seed, hashvalues=values, scheme=_SCHEME)


class NearDuplicateIndex:
    """In-memory LSH index of article signatures; rebuilt from stored signatures at start."""

    def __init__(self, *, threshold: float, num_perm: int = 128) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
        self.threshold = threshold
        self.num_perm = num_perm
        # The LSH bands are tuned for a lower threshold than the one applied, so pairs just
        # above it are not lost to banding; the estimated Jaccard filter restores precision.
        self._lsh = MinHashLSH(threshold=max(0.05, threshold - 0.15), num_perm=num_perm)
        self._signatures: dict[int, MinHashSignature] = {}

    def add(self, key: int, sig: MinHashSignature) -> None:
        """Index ``sig`` under ``key`` (replacing any earlier one); empty signatures are ignored."""
        self._check(sig)
        if key in self._signatures:
            self.remove(key)
        if sig.is_empty():
            logger.debug("empty signature not indexed key=%s", key)
            return
        self._lsh.insert(key, sig)
        self._signatures[key] = sig

    def remove(self, key: int) -> None:
        """Forget ``key``; unknown keys are ignored."""
        if self._signatures.pop(key, None) is not None:
            self._lsh.remove(key)

    def query(self, sig: MinHashSignature) -> list[int]:
        """Keys whose estimated Jaccard with ``sig`` reaches the threshold, most similar first."""
        self._check(sig)
        if sig.is_empty():
            return []
        scored: list[tuple[float, int]] = []
        for key in self._lsh.query(sig):
            similarity = sig.jaccard(self._signatures[key])
            if similarity >= self.threshold:
                scored.append((similarity, key))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [key for _, key in scored]

    def similarity(self, key: int, sig: MinHashSignature) -> float:
        """Estimated Jaccard similarity of ``sig`` with the indexed signature of ``key``."""
        return float(sig.jaccard(self._signatures[key]))

    def __contains__(self, key: object) -> bool:
        return key in self._signatures

    def __len__(self) -> int:
        return len(self._signatures)

    def _check(self, sig: MinHashSignature) -> None:
        if len(sig) != self.num_perm:
            raise ValueError(
                f"signature has {len(sig)} permutations, the index {self.num_perm}; "
                "recompute stored signatures after changing num_perm"
            )


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
