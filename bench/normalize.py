"""Benchmark: characters per second of normalize() on a ~1 MB news-like article, vs a baseline."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from audio_service.text.normalize import normalize

# Varied sentences written for this benchmark, in the shapes news copy takes.
SENTENCES = (
    "The Chancellor said on Wednesday 9 February 2022 that the £2.5bn package would protect "
    "130,000 jobs.",
    "Inflation rose to 10.1% in the year to September, the ONS said, up from 9.9% in August.",
    "Mr Smith, 54, from St Albans, told the BBC he had waited 3 hours at A&E before a GP saw him.",
    "Temperatures could fall to -5C overnight, with 10-15cm of snow on high ground above 300m.",
    "King Charles III met Pope Francis at the Vatican, 70 years after Elizabeth II's accession.",
    "Shares in the company fell 4.5p to 312p, wiping $1.2 billion off its value by 16:30 GMT.",
    "The team won 3-1 in front of 52,000 fans, their 21st win of the 2021/22 season.",
    "Nato leaders meeting in Vilnius on July 11, 2023 discussed WWII-era defence spending.",
    "Covid-19 cases in the US rose by 1.5m in the week to 2022-01-09, the CDC said.",
    "Dr Jones said MPs would vote at 10.30am on the bill, which had 24/7 coverage.",
    "Read more at bbc.co.uk/news or follow #GE2024 and @BBCPolitics for updates.",
    "He ran 10km in 45 mins at an average of 8mph, about 1/4 slower than in the 1990s.",
    "The plane flew at 35,000ft for approx 2 hours before landing in Atlanta, Ga., on Monday.",
    "In 1066, 1815 and 1945 the country changed for ever, the professor said.",
    "Ofsted rated 78% of schools good or outstanding, according to figures seen by the PA news "
    "agency.",
    "The fire at No 10 was put out by 3pm, and nobody was hurt, police said.",
)


def _article(target_chars: int) -> str:
    parts: list[str] = []
    size = 0
    i = 0
    while size < target_chars:
        sentence = SENTENCES[i % len(SENTENCES)]
        parts.append(sentence + ("\n\n" if i % 5 == 4 else " "))
        size += len(parts[-1])
        i += 1
    return "".join(parts)


_WORD_RE = re.compile(r"\w+")


def _baseline(text: str) -> str:
    # One regex pass plus a split: the floor for any per-word text processing in Python.
    return " ".join(_WORD_RE.sub(lambda m: m[0], text).split())


def _rate(fn: Callable[[str], str], text: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
    return len(text) / best


def main() -> None:
    text = _article(1_000_000)
    normalize("warm up: £1 on 9 May 2022")
    gb = _rate(lambda t: normalize(t, "en-GB"), text)
    us = _rate(lambda t: normalize(t, "en-US"), text)
    base = _rate(_baseline, text)
    print(f"article: {len(text):,} characters")
    print(f"normalize en-GB: {gb / 1e6:.2f} MB/s ({gb:,.0f} chars/s)")
    print(f"normalize en-US: {us / 1e6:.2f} MB/s ({us:,.0f} chars/s)")
    print(f"baseline (re.sub + split): {base / 1e6:.2f} MB/s")
    print(f"normalize / baseline: {gb / base:.3f}")


if __name__ == "__main__":
    main()
