"""Publisher pronunciation rules: TSV files per scope, merged per voice, applied in one pass."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from audio_service import ids
from audio_service.errors import InputError

logger = logging.getLogger(__name__)

_SCOPE_RE = ids.LEXICON_SCOPE_RE
FLAG_CASE = "case"
_KNOWN_FLAGS = frozenset({FLAG_CASE})
COMMON_SCOPE = "common"
# Names and phrases are short; the bound also keeps the rule trie shallow.
MAX_WORD_CHARS = 100


@dataclass(frozen=True)
class Rule:
    """One pronunciation rule: say `replacement` wherever `word` (a word or phrase) appears."""

    word: str
    replacement: str
    case_sensitive: bool = False
    scope: str = COMMON_SCOPE

    @property
    def key(self) -> str:
        """Rules with the same key override each other; later scopes win."""
        return self.word if self.case_sensitive else self.word.casefold()

    def to_tsv(self) -> str:
        return "\t".join((self.word, self.replacement, FLAG_CASE if self.case_sensitive else ""))


def _phrase_pattern(word: str) -> str:
    # Any run of spaces in the text matches the single space written in a phrase.
    return r"\s+".join(re.escape(part) for part in word.split())


_Trie = dict[str, "_Trie"]


def _trie_regex(words: Iterable[str]) -> str:
    """One alternation with shared prefixes factored out, so thousands of rules stay fast."""
    trie: _Trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: _Trie) -> str:
        branches = [
            (r"\s+" if ch == " " else re.escape(ch)) + render(child)
            for ch, child in sorted(node.items())
            if ch
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Longest first: the optional longer continuation is tried before stopping here.
        return f"(?:{body})?" if "" in node else body

    return render(trie)


@dataclass(frozen=True)
class Lexicon:
    """The effective rules for one voice; `version` goes into every cache key."""

    rules: tuple[Rule, ...] = ()
    version: str = field(init=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _exact: dict[str, str] = field(init=False, repr=False, compare=False)
    _folded: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256()
        for rule in sorted(self.rules, key=lambda r: (r.key, r.case_sensitive)):
            digest.update(rule.to_tsv().encode("utf-8") + b"\n")
        exact = {" ".join(r.word.split()): r.replacement for r in self.rules if r.case_sensitive}
        folded = {
            " ".join(r.word.split()).lower(): r.replacement
            for r in self.rules
            if not r.case_sensitive
        }
        # One case-insensitive trie over every word keeps "longest phrase first" across
        # case-sensitive and insensitive rules; the case check happens on lookup.
        words = {w.lower() for w in exact} | set(folded)
        pattern = re.compile(r"(?<!\w)(?i:" + _trie_regex(words) + r")(?!\w)") if words else None
        object.__setattr__(self, "version", digest.hexdigest())
        object.__setattr__(self, "_pattern", pattern)
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_folded", folded)

    def _replace(self, m: re.Match[str]) -> str:
        found = " ".join(m[0].split())
        if found in self._exact:
            return self._exact[found]
        return self._folded.get(found.lower(), m[0])

    def applied_version(self, text: str) -> str:
        """Hash of only the rules that match in `text`: a cache key that changes when a rule
        this text uses changes, and stays put when any other rule does."""
        digest = hashlib.sha256()
        if self._pattern is not None:
            used = set()
            for m in self._pattern.finditer(text):
                found = " ".join(m[0].split())
                if found in self._exact:
                    used.add(f"{found}\t{self._exact[found]}\tcase")
                elif found.lower() in self._folded:
                    used.add(f"{found.lower()}\t{self._folded[found.lower()]}")
            for line in sorted(used):
                digest.update(line.encode("utf-8") + b"\n")
        return digest.hexdigest()

    def apply(self, text: str) -> str:
        """Replace every rule's word or phrase, longest first, in a single pass."""
        if self._pattern is None:
            return text
        return self._pattern.sub(self._replace, text)


def validate_scope(scope: str) -> str:
    """A scope becomes a file name, so only [A-Za-z0-9._-]{1,64} and no leading dot."""
    if not _SCOPE_RE.fullmatch(scope) or scope.startswith("."):
        raise InputError(f"invalid lexicon scope {scope!r}: use [A-Za-z0-9._-], at most 64")
    return scope


def _validate_rule(word: str, replacement: str, flags: str) -> Rule:
    if any(ch in s for s in (word, replacement, flags) for ch in "\t\r\n"):
        raise InputError("lexicon words and replacements cannot contain tabs or line breaks")
    word, replacement = " ".join(word.split()), replacement.strip()
    if not word or not replacement:
        raise InputError("a lexicon rule needs a word and a replacement")
    if len(word) > MAX_WORD_CHARS or len(replacement) > MAX_WORD_CHARS:
        raise InputError(f"lexicon words and replacements are limited to {MAX_WORD_CHARS} chars")
    unknown = {f for f in flags.replace(",", " ").split() if f} - _KNOWN_FLAGS
    if unknown:
        raise InputError(f"unknown lexicon flags: {', '.join(sorted(unknown))}")
    return Rule(word, replacement, FLAG_CASE in flags.replace(",", " ").split())


def parse_tsv(text: str, scope: str = COMMON_SCOPE) -> list[Rule]:
    """Rows `word<TAB>replacement<TAB>flags`; blank lines and # comments are skipped."""
    rules: list[Rule] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split("\t")
        try:
            rule = _validate_rule(
                cells[0], cells[1] if len(cells) > 1 else "", cells[2] if len(cells) > 2 else ""
            )
        except InputError as exc:
            # One bad row must not silence the publisher's other rules.
            logger.warning("lexicon %s line %d skipped: %s", scope, number, exc)
            continue
        rules.append(Rule(rule.word, rule.replacement, rule.case_sensitive, scope))
    return rules


def _scope_path(directory: Path, scope: str) -> Path:
    return directory / f"{validate_scope(scope)}.tsv"


def list_rules(directory: Path, scope: str) -> list[Rule]:
    """The rules of one scope file, in file order (empty if the file does not exist)."""
    path = _scope_path(directory, scope)
    if not path.is_file():
        return []
    return parse_tsv(path.read_text(encoding="utf-8"), scope)


def load_lexicon(directory: Path | Sequence[Path], locale: str, voice_id: str) -> Lexicon:
    """Merge common.tsv, <locale>.tsv and <voice_id>.tsv; a later file overrides an earlier one.

    With several directories (shipped rules, then the publisher's own), each scope is read
    from each directory in turn, so a publisher's rule overrides a shipped one of its scope.
    """
    directories = [directory] if isinstance(directory, Path) else list(directory)
    merged: dict[str, Rule] = {}
    for scope in (COMMON_SCOPE, locale, voice_id):
        for rule in (r for d in directories for r in list_rules(d, scope)):
            merged.pop(rule.word.casefold(), None)
            merged.pop(rule.word, None)
            merged[rule.key] = rule
    return Lexicon(tuple(merged.values()))


def _write_atomic(path: Path, rules: list[Rule]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(rule.to_tsv().rstrip("\t") + "\n" for rule in rules)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it 0600; rules are no secret, other tools read them
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)  # os.replace: an atomic rename on POSIX
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_rule(directory: Path, scope: str, word: str, replacement: str, flags: str = "") -> Rule:
    """Add or replace the rule for `word` in <scope>.tsv, atomically; returns the stored rule."""
    rule = _validate_rule(word, replacement, flags)
    rule = Rule(rule.word, rule.replacement, rule.case_sensitive, validate_scope(scope))
    rules = [r for r in list_rules(directory, scope) if r.key != rule.key]
    rules.append(rule)
    _write_atomic(_scope_path(directory, scope), rules)
    return rule


def remove_rule(directory: Path, scope: str, word: str) -> bool:
    """Remove the rule(s) for `word` (matched case-insensitively) from <scope>.tsv."""
    target = " ".join(word.split()).casefold()
    rules = list_rules(directory, scope)
    kept = [r for r in rules if r.word.casefold() != target]
    if len(kept) == len(rules):
        return False
    _write_atomic(_scope_path(directory, scope), kept)
    return True
