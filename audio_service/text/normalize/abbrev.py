"""Titles, Latin and postal abbreviations, "No 10", and Roman numerals after names and events."""

from __future__ import annotations

import re

from audio_service.text.normalize.number_words import cardinal, ordinal

# Titles that only expand before a capitalised name ("Gen Smith", never "Gen Z").
_TITLES = {
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Prof": "Professor",
    "Gen": "General",
    "Sgt": "Sergeant",
    "Lt": "Lieutenant",
    "Capt": "Captain",
    "Col": "Colonel",
    "Maj": "Major",
    "Cpl": "Corporal",
    "Pte": "Private",
    "Adm": "Admiral",
    "Brig": "Brigadier",
    "Cmdr": "Commander",
    "Cdr": "Commander",
    "Rev": "Reverend",
    "Revd": "Reverend",
    "Fr": "Father",
    "Gov": "Governor",
    "Sen": "Senator",
    "Rep": "Representative",
    "Supt": "Superintendent",
    "Insp": "Inspector",
    "Det": "Detective",
    "Ch": "Chief",
    "Cllr": "Councillor",
    "Hon": "Honourable",
    "Rt": "Right",
    "PC": "Police Constable",
    "DC": "Detective Constable",
    "DS": "Detective Sergeant",
    "DI": "Detective Inspector",
    "DCI": "Detective Chief Inspector",
}
# Police ranks that are also common acronyms ("Washington DC", "a PC"): only before a name
# and not straight after another capitalised word.
_RANKS = frozenset({"PC", "DC", "DS", "DI", "DCI"})
_TITLE_ALT = "|".join(sorted((re.escape(t) for t in _TITLES), key=len, reverse=True))
_TITLE_NEXT = r"(?=\s(?:[A-Z][a-z]|(?:Lt|Col|Det|Ch|Supt|Insp|Sgt|Hon|Gen)\b))"
_TITLE_RE = re.compile(r"(?<![\w.])(?P<t>" + _TITLE_ALT + r")(?:\.(?!\w))?" + _TITLE_NEXT)
# _TITLE_RE without its lookbehind, so it opens with a letter the engine can skip to: when this
# finds nothing, neither can _TITLE_RE.
_TITLE_HINT_RE = re.compile("(?:" + _TITLE_ALT + r")\.?" + _TITLE_NEXT)
# "Mr" is never anything but a title, whatever follows it. (Letter first, then its guard, so
# the engine can skip straight to capital Ms.)
_ALWAYS_TITLE_RE = re.compile(r"(?P<t>M(?<![\w.]M)(?:rs|r|s))(?:\.(?!\w))?(?=\s)")
# Generations and labels written in the same shape as titles but which are not titles.
_NOT_NAMES = frozenset({"Z", "X", "Y", "Alpha"})
_DR_ST_RE = re.compile(
    r"(?P<before>\b[A-Z][a-z]+\s)?(?<![\w.])(?P<t>Dr|St)\b\.?(?P<after>\s[A-Z][a-z'’]*)?"
)
_SUFFIX_RE = re.compile(
    r"(?<=[A-Za-z])(?P<c>,?)\s(?P<t>Jr|Sr|Snr|Jnr)\b(?:\.(?=,|\s[a-z]))?(?!\.?\s[A-Z][a-z])"
)
_SUFFIXES = {"Jr": "Junior", "Jnr": "Junior", "Sr": "Senior", "Snr": "Senior"}

_LATIN_RE = re.compile(
    r"(?<![\w.])(?:(?P<eg>e\.\s?g\.|eg\.)|(?P<ie>i\.\s?e\.)|(?P<etc>etc\.?)|(?P<vs>vs\.?|v\.?)"
    r"(?=\s[A-Z0-9])|(?P<approx>approx\.?)|(?P<circa>c\.|ca\.)(?=\s?\d{3,4}\b))(?=(?P<next>\s\S)?)"
)
_NUMBER_RE = re.compile(r"(?:N(?<![\w.]N)(?:o|os)\.?|n(?<![\w.]n)(?:o|os)\.)\s?(?=\d)")
_SUFFIX_WORDS = ("Jr", "Sr", "Snr", "Jnr")

# AP-style state abbreviations, read only after "City, ".
_STATES = {
    "Ala": "Alabama",
    "Ariz": "Arizona",
    "Ark": "Arkansas",
    "Calif": "California",
    "Colo": "Colorado",
    "Conn": "Connecticut",
    "Del": "Delaware",
    "Fla": "Florida",
    "Ga": "Georgia",
    "Ill": "Illinois",
    "Ind": "Indiana",
    "Kan": "Kansas",
    "Ky": "Kentucky",
    "La": "Louisiana",
    "Md": "Maryland",
    "Mass": "Massachusetts",
    "Mich": "Michigan",
    "Minn": "Minnesota",
    "Miss": "Mississippi",
    "Mo": "Missouri",
    "Mont": "Montana",
    "Neb": "Nebraska",
    "Nev": "Nevada",
    "N.H": "New Hampshire",
    "N.J": "New Jersey",
    "N.M": "New Mexico",
    "N.Y": "New York",
    "N.C": "North Carolina",
    "N.D": "North Dakota",
    "Okla": "Oklahoma",
    "Ore": "Oregon",
    "Pa": "Pennsylvania",
    "R.I": "Rhode Island",
    "S.C": "South Carolina",
    "S.D": "South Dakota",
    "Tenn": "Tennessee",
    "Vt": "Vermont",
    "Va": "Virginia",
    "Wash": "Washington",
    "W.Va": "West Virginia",
    "Wis": "Wisconsin",
    "Wyo": "Wyoming",
}
_STATE_RE = re.compile(
    r"(?P<city>[A-Z](?<!\w[A-Z])[a-z]+),\s(?P<st>"
    + "|".join(sorted((re.escape(s) for s in _STATES), key=len, reverse=True))
    + r")\.(?![A-Za-z])(?=(?P<next>\s?\S)?)"
)

# Roman numerals: strict form, I/V/X/L only (C, D and M make too many real words: MIX, DC, CD).
_ROMAN_RE = re.compile(
    r"(?P<prev>[A-Z](?<!\w[A-Z])[a-z]+(?:\s[A-Z][a-z]+)?)\s(?P<r>(?=[IVXL])L?X{0,3}(?:IX|IV|V?I{0,3}))"
    r"(?![\w-])"
)
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50}
# Regnal names take "the ordinal": "Charles the third", "Pope Benedict the sixteenth".
_REGNAL = frozenset(
    [
        "Charles",
        "Elizabeth",
        "Henry",
        "Edward",
        "George",
        "William",
        "James",
        "Richard",
        "John",
        "Mary",
        "Anne",
        "Victoria",
        "Louis",
        "Philip",
        "Felipe",
        "Juan",
        "Carlos",
        "Frederick",
        "Nicholas",
        "Alexander",
        "Peter",
        "Catherine",
        "Ivan",
        "Napoleon",
        "Pius",
        "Benedict",
        "Leo",
        "Gregory",
        "Paul",
        "Innocent",
        "Clement",
        "Urban",
        "Boniface",
        "Francis",
        "Sixtus",
        "Harald",
        "Olav",
        "Carl",
        "Gustaf",
        "Christian",
        "Margrethe",
        "Willem",
        "Rama",
        "Constantine",
        "Haakon",
        "Umberto",
        "Ferdinand",
        "Wilhelm",
        "Otto",
        "Rudolf",
        "Leopold",
        "Albert",
        "Baudouin",
        "Ludwig",
        "Robert",
        "David",
        "Alfonso",
        "Ramesses",
        "Ptolemy",
        "Darius",
        "Selim",
        "Mehmed",
        "Suleiman",
        "Farouk",
        "Abdullah",
        "Hussein",
        "Hassan",
        "Akihito",
        "Stephen",
        "Matilda",
    ]
)
# Words after which a numeral is a plain number: "World War Two", "Super Bowl fifty-eight".
_CARDINAL_CONTEXT = frozenset(
    [
        "War",
        "Bowl",
        "Apollo",
        "Type",
        "Grade",
        "Phase",
        "Stage",
        "Part",
        "Chapter",
        "Title",
        "Class",
        "Level",
        "Category",
        "Act",
        "Volume",
        "Vol",
        "Episode",
        "Series",
        "Mark",
        "Mk",
        "Vatican",
        "Rocky",
        "Star",
        "Wars",
        "Fantasy",
        "Division",
        "League",
        "Tier",
        "Round",
        "Gemini",
        "Voyager",
        "Pioneer",
        "Artemis",
        "Soyuz",
        "Saturn",
        "Luna",
        "Sputnik",
        "Appendix",
        "Schedule",
        "Section",
        "Article",
        "Book",
        "Psalm",
        "Canto",
        "Symphony",
        "Formula",
        "Year",
        "Team",
        "Unit",
        "Wing",
        "Block",
        "Zone",
    ]
)
_WW_RE = re.compile(r"WW(?<!\wWW)(?P<n>I{1,2}|1|2)\b")


def _roman_value(numeral: str) -> int:
    total = 0
    for i, ch in enumerate(numeral):
        value = _ROMAN_VALUES[ch]
        nxt = _ROMAN_VALUES[numeral[i + 1]] if i + 1 < len(numeral) else 0
        total += -value if value < nxt else value
    return total


def _roman(m: re.Match[str], locale: str) -> str:
    prev, numeral = m["prev"], m["r"]
    if not numeral:
        return m[0]
    last = prev.rpartition(" ")[2]
    value = _roman_value(numeral)
    if last in _REGNAL or (prev.partition(" ")[0] in _REGNAL and last not in _CARDINAL_CONTEXT):
        return f"{prev} the {ordinal(value, locale)}"
    if last in _CARDINAL_CONTEXT:
        return f"{prev} {cardinal(value, locale).capitalize()}"
    # An unknown capitalised word before a one-letter "I" is most likely the pronoun.
    if len(numeral) == 1 and numeral in "IVX":
        return m[0]
    return f"{prev} {cardinal(value, locale)}"


def _title(m: re.Match[str], locale: str) -> str:
    word = _TITLES[m["t"]]
    if word == "Councillor" and locale.lower().startswith("en-us"):
        return "Councilor"
    return word


def _title_checked(m: re.Match[str], locale: str) -> str:
    following = m.string[m.end() + 1 : m.end() + 7].split(" ", 1)[0]
    if m["t"] == "Gen" and following.rstrip(".,") in _NOT_NAMES | {"Zers", "Xers"}:
        return m[0]
    if m["t"] in _RANKS:
        before = m.string[max(0, m.start() - 20) : m.start()].rstrip().rpartition(" ")[2]
        if before[:1].isupper() or before in {"in", "at", "to", "from", "of", "a", "the"}:
            return m[0]
    return _title(m, locale)


def _dr_st(m: re.Match[str]) -> str:
    before, title, after = m["before"] or "", m["t"], m["after"]
    street = "Drive" if title == "Dr" else "Street"
    person = "Doctor" if title == "Dr" else "Saint"
    if before and not after:
        return f"{before}{street}{m[0][m.end('t') - m.start() :]}"
    if after:
        return f"{before}{person}{after}"
    return f"{before}{person}"


def _latin(m: re.Match[str]) -> str:
    nxt = m["next"] or ""
    abbr = m[0]
    # "etc." can also end the sentence; its dot must survive when a new sentence follows.
    keep_dot = bool(m["etc"]) and abbr.endswith(".") and (not nxt or nxt[-1].isupper())
    if m["eg"]:
        word = "for example"
    elif m["ie"]:
        word = "that is"
    elif m["etc"]:
        word = "et cetera"
    elif m["vs"]:
        word = "versus"
    elif m["approx"]:
        word = "approximately"
    else:
        word = "circa"
    return word + ("." if keep_dot else "")


def _number_word(m: re.Match[str]) -> str:
    written = m[0][:3] if m[0][2:3] == "s" else m[0][:2]
    word = "Number" if written[0] == "N" else "number"
    return word + "s " if written.endswith("s") else word + " "


def _state(m: re.Match[str]) -> str:
    nxt = (m["next"] or "").strip()
    dot = "." if not nxt or nxt[0].isupper() else ""
    return f"{m['city']}, {_STATES[m['st']]}{dot}"


def normalize_abbreviations(text: str, locale: str) -> str:
    """Expand abbreviations while their dots still tell us they are abbreviations."""
    text = _STATE_RE.sub(_state, text)
    if any(word in text for word in _SUFFIX_WORDS):
        text = _SUFFIX_RE.sub(lambda m: f"{m['c']} {_SUFFIXES[m['t']]}", text)
    text = _ALWAYS_TITLE_RE.sub(lambda m: _TITLES[m["t"]], text)
    if _TITLE_HINT_RE.search(text):
        text = _TITLE_RE.sub(lambda m: _title_checked(m, locale), text)
    text = _DR_ST_RE.sub(_dr_st, text)
    text = _LATIN_RE.sub(_latin, text)
    return _NUMBER_RE.sub(_number_word, text)


def normalize_roman(text: str, locale: str) -> str:
    """Roman numerals after a name or event word, and "WWII"-style war names."""
    if "WW" in text:
        text = _WW_RE.sub(lambda m: "World War " + ("One" if m["n"] in {"I", "1"} else "Two"), text)
    return _ROMAN_RE.sub(lambda m: _roman(m, locale), text)
