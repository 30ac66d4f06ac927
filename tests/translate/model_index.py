"""A local Argos Translate package index on 127.0.0.1, serving packages built from the fixture.

:func:`build_package` turns the tiny fixture model (``translate-yy_xx-1_0.argosmodel``, see
``scripts/build_tiny_model.py``) into a package for any direction by rewriting its
``metadata.json`` (and top directory name); the weights stay the fixture's random ones, so
the "translations" are nonsense, but everything the backend reads is real. The server
answers ``GET /index.json`` and ``GET /packages/<name>`` with real HTTP, and can be told to
misbehave per path: close the connection after part of the body (with or without a
``Content-Length``), or redirect.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "translate-yy_xx-1_0.argosmodel"

STALL = 2.5  # seconds a stalling server keeps silent

NAMES = {
    "en": "English",
    "es": "Spanish",
    "de": "German",
    "fr": "French",
    "it": "Italian",
    "uk": "Ukrainian",
    "ru": "Russian",
}


def build_package(
    source: str,
    target: str,
    *,
    version: str = "1.0",
    break_model: bool = False,
) -> bytes:
    """An ``.argosmodel`` for ``source→target`` made from the fixture package.

    ``break_model`` replaces ``model.bin`` with bytes CTranslate2 cannot read (the zip
    itself stays valid).
    """
    top = f"translate-{source}_{target}-{version.replace('.', '_')}"
    out = io.BytesIO()
    with zipfile.ZipFile(FIXTURE) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for member in src.infolist():
            if member.is_dir():
                continue
            _old_top, _, rest = member.filename.partition("/")
            data = src.read(member)
            if rest == "metadata.json":
                metadata = json.loads(data)
                metadata.update(
                    from_code=source,
                    to_code=target,
                    from_name=NAMES.get(source, source),
                    to_name=NAMES.get(target, target),
                    package_version=version,
                )
                data = json.dumps(metadata, indent=2).encode()
            elif rest == "model/model.bin" and break_model:
                data = b"not a CTranslate2 model " * 64
            info = zipfile.ZipInfo(f"{top}/{rest}", date_time=(2025, 11, 25, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    return out.getvalue()


def corrupt(package: bytes) -> bytes:
    """The same zip with bytes flipped inside the largest member's compressed data."""
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        biggest = max(zf.infolist(), key=lambda m: m.compress_size)
        # the local header is 30 bytes plus the name and extra field
        start = biggest.header_offset + 30 + len(biggest.filename.encode()) + len(biggest.extra)
    middle = start + biggest.compress_size // 2
    data = bytearray(package)
    for i in range(middle, middle + 16):
        data[i] ^= 0xFF
    return bytes(data)


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class IndexServer:
    """What the server serves, what it was asked, and how it misbehaves."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # path -> body
    # path -> "truncate" (Content-Length of the whole, half the body, then close),
    # "truncate-no-length" (no Content-Length, half the body, close),
    # "stall" (half the body, then STALL seconds of silence),
    # or ("redirect", location)
    faults: dict[str, Any] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def index_entry(
        self,
        source: str,
        target: str,
        package: bytes,
        *,
        version: str = "1.0",
        name: str | None = None,
        checksum: str | None = None,
    ) -> dict[str, Any]:
        """Serve ``package`` and return its index entry (Argos's format)."""
        name = name or f"translate-{source}_{target}-{version.replace('.', '_')}.argosmodel"
        self.files[f"/packages/{name}"] = package
        entry: dict[str, Any] = {
            "package_version": version,
            "argos_version": "1.9.0",
            "from_code": source,
            "from_name": NAMES.get(source, source),
            "to_code": target,
            "to_name": NAMES.get(target, target),
            "links": [f"{self.url}/packages/{name}"],
            "code": f"translate-{source}_{target}",
        }
        if checksum is not None:
            entry["sha256"] = checksum
        return entry

    def publish(self, entries: list[dict[str, Any]]) -> str:
        """Serve ``entries`` as /index.json; return its URL."""
        self.files["/index.json"] = json.dumps(entries, indent=2).encode()
        return f"{self.url}/index.json"

    def package_requests(self) -> list[str]:
        """The package paths asked for so far."""
        with self.lock:
            return [path for path in self.requests if path.startswith("/packages/")]


class _Handler(BaseHTTPRequestHandler):
    state: IndexServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        state = self.state
        with state.lock:
            state.requests.append(self.path)
        fault = state.faults.get(self.path)
        if isinstance(fault, tuple) and fault[0] == "redirect":
            self.send_response(302)
            self.send_header("Location", fault[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = state.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")
            return
        self.send_response(200)
        kind = "application/json" if self.path.endswith(".json") else "application/zip"
        self.send_header("Content-Type", kind)
        if fault == "truncate-no-length":
            self.send_header("Connection", "close")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault in ("truncate", "truncate-no-length", "stall"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if fault == "stall":
                time.sleep(STALL)
            self.close_connection = True
            return
        self.wfile.write(body)


@contextmanager
def index_server() -> Iterator[IndexServer]:
    """A package index server on a free port of 127.0.0.1, stopped afterwards."""
    state = IndexServer()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
