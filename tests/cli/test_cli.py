"""The `audio-service` command as a user runs it: real processes, real files, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.media import EXAMPLES, REPO, decode_mp3


def run(
    *args: str, data_dir: Path, stdin: bytes = b"", extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AUDIO_SERVICE_DATA_DIR": str(data_dir),
        "AUDIO_SERVICE_DEFAULT_VOICE": "en-gb-espeak",  # fast; Piper is tested on its own
        **(extra_env or {}),
    }
    result = subprocess.run(
        [sys.executable, "-m", "audio_service", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=180,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


def _voices_listing(**env: str) -> list[str]:
    plain = subprocess.run(
        [sys.executable, "-m", "audio_service", "voices"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("AUDIO_SERVICE_")}, **env},
    )
    assert plain.returncode == 0, plain.stderr
    return plain.stdout.splitlines()


def test_the_british_neural_voice_is_the_default() -> None:
    lines = _voices_listing()
    assert any(line.startswith("en-us-piper-joe") for line in lines)
    default_line = next(line for line in lines if "(default)" in line)
    assert default_line.startswith("en-gb-kokoro-emma")
    us_line = next(line for line in lines if "(for en-US)" in line)
    assert us_line.startswith("en-us-hibari-heart")


def test_an_american_publisher_gets_the_american_voice() -> None:
    lines = _voices_listing(AUDIO_SERVICE_LANGUAGE="en-US")
    default_line = next(line for line in lines if "(default)" in line)
    assert default_line.startswith("en-us-hibari-heart")
    assert next(line for line in lines if "(for en-GB)" in line).startswith("en-gb-kokoro-emma")


def test_render_with_the_neural_voice(tmp_path: Path) -> None:
    out = tmp_path / "neural.mp3"
    result = run(
        "render",
        str(EXAMPLES / "storm-warning.html"),
        "-o",
        str(out),
        "--voice",
        "en-us-piper-joe",
        data_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    timings = json.loads((tmp_path / "neural.timings.json").read_text())
    assert timings["voice"] == "en-us-piper-joe"
    assert decode_mp3(out).size / 22050 == pytest.approx(timings["duration_ms"] / 1000, abs=0.002)


def test_voices_lists_both_accents(tmp_path: Path) -> None:
    result = run("voices", data_dir=tmp_path)
    assert result.returncode == 0
    assert "en-gb-espeak" in result.stdout and "en-us-espeak" in result.stdout
    listed = [
        json.loads(line) for line in run("voices", "--json", data_dir=tmp_path).stdout.splitlines()
    ]
    assert {v["locale"] for v in listed} >= {"en-GB", "en-US"}


def test_preview_prints_one_segment_per_line(tmp_path: Path) -> None:
    result = run("preview", str(EXAMPLES / "council-budget.json"), "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["kind"] == "title"
    assert all(row["spoken"] for row in rows)
    assert rows[-1]["pause_ms"] == 0
    plain = run("preview", str(EXAMPLES / "council-budget.json"), data_dir=tmp_path).stdout
    assert len(plain.splitlines()) == len(rows)


@pytest.mark.parametrize(
    "example", ["council-budget.json", "harbor-bridge.txt", "storm-warning.html"]
)
def test_render_each_format(tmp_path: Path, example: str) -> None:
    out = tmp_path / "out.mp3"
    result = run("render", str(EXAMPLES / example), "-o", str(out), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000
    timings = json.loads((tmp_path / "out.timings.json").read_text())
    assert timings["segments"][0]["kind"] == "title"
    assert (tmp_path / "out.vtt").read_text().startswith("WEBVTT")
    assert not list(tmp_path.glob(".tmp-*"))


def test_render_from_stdin_with_voice(tmp_path: Path) -> None:
    out = tmp_path / "stdin.mp3"
    text = b"Rail strike called off\n\nUnions and operators reached a deal late on Sunday.\n"
    result = run(
        "render", "-", "-o", str(out), "--voice", "en-us-espeak", data_dir=tmp_path, stdin=text
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "stdin.timings.json").read_text())["voice"] == "en-us-espeak"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "no speakable text"),
        (b"   \n\n  \n", "no speakable text"),
        ("🙂🙂🙂\n\n🎉🎉".encode(), "no speakable text"),
        (b"Title\n\nBody \xff\xfe broken", "UTF-8"),
    ],
)
def test_hostile_input_is_one_clear_line(tmp_path: Path, payload: bytes, message: str) -> None:
    out = tmp_path / "bad.mp3"
    out.write_bytes(b"previous good audio")
    result = run("render", "-", "-o", str(out), data_dir=tmp_path, stdin=payload)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    # An existing file is never replaced by a broken one.
    assert out.read_bytes() == b"previous good audio"


def test_nul_bytes_and_giant_word_still_give_audio(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp3"
    payload = b"Odd input\x00 survives\n\nA\x00 paragraph with NUL bytes. " + b"x" * 10_000 + b"\n"
    result = run("render", "-", "-o", str(out), data_dir=tmp_path, stdin=payload)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1000


def test_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    payload = b"Long read\n\n" + b"word " * 3000
    result = run(
        "render",
        "-",
        data_dir=tmp_path,
        stdin=payload,
        extra_env={"AUDIO_SERVICE_MAX_ARTICLE_CHARS": "5000"},
    )
    assert result.returncode == 2
    assert "5000" in result.stderr


def test_the_default_limit_admits_a_50000_word_article(tmp_path: Path) -> None:
    from audio_service.article import parse_text
    from audio_service.config import Settings

    words = " ".join(["Councillors debated the plan at length."] * 8400)  # ~50,000 words
    article = parse_text(f"Long read\n\n{words}", max_chars=Settings().max_article_chars)
    assert sum(len(p.split()) for p in article.body) > 50_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("render", "missing.json"), "no such file"),
        (("render", str(EXAMPLES / "council-budget.json"), "--voice", "nope"), "unknown voice"),
    ],
)
def test_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run(*args, data_dir=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_normalize_prints_one_spoken_line_per_input_line(tmp_path: Path) -> None:
    lines = b"Mr Smith paid \xc2\xa33.50 at 10.30am.\n\nThe BBC said 10% more.\n"
    result = run("normalize", data_dir=tmp_path, stdin=lines)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == 3
    assert out[0] == "Mister Smith paid three pounds fifty at ten thirty a.m."
    assert out[1] == ""
    assert "per cent" in out[2]
    us = run("normalize", "--locale", "en-US", data_dir=tmp_path, stdin=b"10% more\n")
    assert us.stdout.strip() == "ten percent more"


def test_lexicon_commands_add_list_and_remove(tmp_path: Path) -> None:
    assert run("lexicon", "add", "common", "Wexcombe", "Wex-cum", data_dir=tmp_path).returncode == 0
    listed = run("lexicon", "list", "common", data_dir=tmp_path).stdout
    assert "publisher\tcommon\tWexcombe\tWex-cum" in listed
    spoken = run("normalize", data_dir=tmp_path, stdin=b"Wexcombe council\n").stdout
    assert spoken.strip() == "Wex-cum council"
    assert run("lexicon", "remove", "common", "Wexcombe", data_dir=tmp_path).returncode == 0
    again = run("lexicon", "remove", "common", "Wexcombe", data_dir=tmp_path)
    assert again.returncode == 2
    assert "no rule" in again.stderr
    bad = run("lexicon", "add", "../etc", "x", "y", data_dir=tmp_path)
    assert bad.returncode == 2
    assert "invalid lexicon scope" in bad.stderr
