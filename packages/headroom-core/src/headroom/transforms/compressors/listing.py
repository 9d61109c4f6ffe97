"""Listing compressor: directory listings (``ls``, ``ls -l``/``-la``, ``ls -R``, ``find``/``fd``, ``tree``).

Every directory name is kept and so is every name the request mentions. What goes:

* **Noise directories**: the contents of ``__pycache__``, ``.git``, ``node_modules``, ``*.egg-info``,
  ``build``, ``dist``, virtualenvs and tool caches (the directory's own name stays in its parent's
  listing). One marker per kind of noise directory, where its contents were first dropped, says how many
  directory listings and names went, by extension.
* **Compiled files**: ``*.pyc``, ``*.o``, ``*.o.d``, ``*.class``, Python extension modules
  (``*.cpython-*.so``, ``*.pyd``): one marker, where the first was dropped, with counts by suffix.
* **Runs in one directory**: ``min_run`` or more names that differ only in their digits, or that are
  images, fonts or data files of one extension, keep their first ``keep_head`` and last ``keep_tail`` names;
  a marker stands for the others with counts by extension.
* **Constant columns of long listings** (``ls -l``): the link count, and the owner and group when every
  line has the same, are said once in a marker before the first entry; dates equal to the most common date
  are left out, and so are the most common permissions of each type (the type letter stays); the marker
  says which date and which permissions those are. Type, size, other dates and permissions, and the name
  (with a symlink's target) stay on every line.

Plain names (``ls``, ``ls -R`` sections) are then joined with single spaces into lines of at most ``width``
characters, as ``ls`` prints to a terminal: nothing is dropped by that. Lines that are not listing entries
(``total``, errors, prose) are kept as they are. Linear in the text; no regex can backtrack.

Options (keyword-only):
    join (bool, True): join plain names into lines of at most ``width`` characters.
    width (int, 160): the length of a joined line.
    drop_links (bool, True): leave the link count out of long listings (said in the marker).
    elide_modes (bool, True): in long listings, show only the type letter (``-``, ``d``, ``l``) where the
        permissions are the most common ones of that type (said in the marker).
    min_run (int, 8): names of one run (digits aside, or one data extension) before it is collapsed.
    keep_head (int, 2): names kept at the start of a collapsed run.
    keep_tail (int, 1): names kept at the end of a collapsed run.
    min_drop_chars (int, 160): a kind of noise is dropped only when its lines hold at least this many
        characters (a marker costs about 80).
    min_saving (float, 0.05): the minimum fraction saved (of characters, a line break counting four),
        else None.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from headroom.engine.caches import content_cache
from headroom.engine.units import Unit
from headroom.transforms.compressors._util import detail_text, identifiers_of, omitted, terms_of

LONG_RE = re.compile(
    r"^(?P<perm>[-dlcbpsD?][rwxsStTl-]{9}[.+@]?) +(?P<links>\d+) +(?P<owner>\S+) +(?P<group>\S+) +"
    r"(?P<size>\d+(?:[.,]\d+)?[KMGTPE]?|\d+, +\d+) +"
    r"(?P<date>[A-Z][a-z]{2} +\d{1,2} +(?:\d{1,2}:\d\d|\d{4})"
    r"|\d{4}-\d\d-\d\d(?: \d\d:\d\d(?::\d\d(?:\.\d+)?)?(?: [+-]\d{4})?)?) (?P<name>.+)"
)
"""One ``ls -l`` entry (GNU, BSD, busybox; English month names or ISO dates)."""

_TREE_INDENTS = ("│   ", "|   ", "    ", "│\u00a0\u00a0 ")
_TREE_BRANCHES = ("├── ", "└── ", "|-- ", "`-- ", "├─ ", "└─ ")
_NAME_RE = re.compile(r"^[^-#\[*>!%&$^~+\s:<>{}()\"';,=][^\s:<>{}()\"';,=]{0,254}")
_ALNUM = re.compile(r"[^\W_]")
ANY_LINE_RE = re.compile(
    r"^(?:"
    + LONG_RE.pattern[1:]
    + r"|(?:│   |\|   |    |│\u00a0\u00a0 )*(?:├── |└── |\|-- |`-- |├─ |└─ )"
    + r"|[^\s:][^:\t]*:$|total \d+$|"
    + _NAME_RE.pattern[1:]
    + "$)"
)
"""A line that may belong to a listing (an ``ls -l`` entry, a ``tree`` line, an ``ls -R`` header,
``total N``, a name): one C-level match, for detection's first cut. Every pattern here is anchored at the
start of the text (``^``, no ``re.M``), so even a search over a long text tries one position."""
_LS_F = "/*@|="

NOISE_DIRS = (
    frozenset({"__pycache__", ".git", ".hg", ".svn", "node_modules", ".pytest_cache", ".mypy_cache"})
    | frozenset({".ruff_cache", ".tox", ".nox", ".venv", "venv", ".eggs", "build", "dist", ".next"})
    | frozenset({".gradle", ".cache", "htmlcov", ".ipynb_checkpoints", "site-packages"})
)
"""Directories whose contents are noise to an agent, by name (``*.egg-info`` and ``*.dist-info`` too)."""
_NOISE_SUFFIXES = (".egg-info", ".dist-info")

_COMPILED_SUFFIXES = (".pyc", ".pyo", ".pyd", ".o", ".obj", ".o.d", ".class")
_DATA_EXTS = (
    frozenset({"png", "jpg", "jpeg", "gif", "bmp", "svg", "ico", "webp", "tif", "tiff", "pdf", "eps", "ps"})
    | frozenset({"ttf", "otf", "woff", "woff2", "pfb", "afm", "pfm", "mp3", "mp4", "wav"})
    | frozenset({"npy", "npz", "pkl", "pickle", "gz", "zip", "bz2", "xz", "tar", "whl", "mat", "h5"})
    | frozenset({"hdf5", "parquet", "bin", "dat"})
)
"""Extensions of images, fonts, media and data files: a directory of many of one is collapsed."""
_DIGIT_RUN = re.compile(r"\d+")


def compress(
    text: str,
    unit: Unit,
    *,
    join: bool = True,
    width: int = 160,
    drop_links: bool = True,
    elide_modes: bool = True,
    min_run: int = 8,
    keep_head: int = 2,
    keep_tail: int = 1,
    min_drop_chars: int = 160,
    min_saving: float = 0.05,
) -> str | None:
    """The listing with noise, compiled files, long runs and constant columns marked, or None."""
    lines = text.split("\n")
    entries, headers = _parse(lines)
    if len(entries) < 3:
        return None
    wanted = _Wanted(unit)
    drop = bytearray(len(lines))
    markers: dict[int, list[str]] = {}
    _drop_noise(lines, entries, headers, wanted, drop, markers, unit, min_drop_chars)
    _drop_runs(entries, drop, markers, wanted, unit, max(2, min_run), max(0, keep_head), max(0, keep_tail))
    columns = _long_columns(entries, drop, drop_links, elide_modes)
    if columns is not None:
        markers.setdefault(columns.first, []).insert(0, columns.marker(unit))
    out = _render(lines, entries, drop, markers, columns, join, max(1, width))
    if out == text or _weight(out) > _weight(text) * (1 - min_saving):
        return None
    return out


def _weight(text: str) -> int:
    """A cheap stand-in for a token count: a line break costs about as much as four characters."""
    return len(text) + 3 * text.count("\n")


# -- parsing -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Entry:
    """One listed name: its line, its parent directory's path components, its name and what it is."""

    index: int
    parent: tuple[str, ...]
    name: str
    kind: str  # "name" (ls, ls -R), "path" (find), "long" (ls -l), "tree"
    is_dir: bool | None = None
    long: re.Match[str] | None = None
    section: int = -1  # the line index of its ls -R header, -1 when none


MAX_DEPTH = 64
"""Directory components kept per entry: deeper parts of absurdly deep paths are ignored, so the work per
entry stays bounded (every entry of an ``ls -R`` section shares its header's path)."""


def _components(path: str) -> tuple[str, ...]:
    return tuple(c for c in path.split("/") if c not in ("", "."))


def is_header(line: str) -> bool:
    """An ``ls -R`` section header: ``path:`` on its own line."""
    return (
        len(line) > 1
        and line[-1] == ":"
        and line[0] not in " \t"
        and ": " not in line
        and "\t" not in line
        and line.count(":") == 1
        and not line.startswith("[headroom")
    )


def name_like(line: str) -> bool:
    """A bare file name or path: at most 255 characters, no whitespace, none of the punctuation names
    rarely hold (``:<>{}()"';,=``), a letter or digit, not starting like a flag, a comment or a list item."""
    return (
        _NAME_RE.fullmatch(line) is not None and _ALNUM.search(line) is not None and not line.startswith("//")
    )


def _tree_depth(line: str) -> int:
    """The depth of a ``tree`` entry line (its 4-character indent steps), or -1 when it is not one."""
    i = 0
    while line.startswith(_TREE_INDENTS, i):
        i += 4
    return i // 4 if line.startswith(_TREE_BRANCHES, i) else -1


def tree_line(line: str) -> bool:
    """A ``tree`` entry: indent steps (``│   ``), then a branch (``├── ``, ``└── ``, ``|-- ``, ```-- ``)."""
    return _tree_depth(line) >= 0


def _parse(lines: list[str]) -> tuple[list[Entry], dict[int, tuple[str, ...]]]:
    """Entries of every listing format in ``lines`` and the ``ls -R`` headers (line index -> path)."""
    entries: list[Entry] = []
    headers: dict[int, tuple[str, ...]] = {}
    section = -1
    current: tuple[str, ...] = ()
    stack: list[str] = []  # tree: the names of the open directories by depth
    name_match = _NAME_RE.fullmatch
    for i, line in enumerate(lines):
        if not line:
            continue
        if name_match(line) is not None:  # the common case first: a bare name or path (never another kind)
            if _ALNUM.search(line) is None or line.startswith("//"):
                continue
            body = line.rstrip(_LS_F) or line
            is_dir = True if line[-1] == "/" else None
            if "/" in body:
                parts = _components(body)
                if parts:
                    parent = (*current, *parts[:-1])[:MAX_DEPTH]
                    entries.append(Entry(i, parent, parts[-1], "path", is_dir, None, section))
            else:
                entries.append(Entry(i, current, body, "name", is_dir, None, section))
            continue
        if line[-1] == ":" and is_header(line) and not LONG_RE.match(line):
            section = i
            current = _components(line[:-1][:4096])[:MAX_DEPTH]
            headers[i] = current
            continue
        long = LONG_RE.match(line) if line[0] in "-dlcbpsD?" else None
        if long is not None:
            name = long["name"].split(" -> ", 1)[0]
            entries.append(Entry(i, current, name, "long", long["perm"][0] == "d", long, section))
            continue
        depth = _tree_depth(line) if line[0] in "│|`├└ " else -1
        if depth >= 0:
            name = line[depth * 4 :].split(" ", 1)[-1]
            if not name:
                continue
            del stack[depth:]
            parent = (*current, *stack)[:MAX_DEPTH]
            stack.append(name.split(" -> ", 1)[0].rstrip("/"))
            entries.append(Entry(i, parent, name, "tree", None, None, section))
    _mark_dirs(entries, headers)
    return entries, headers


def _mark_dirs(entries: list[Entry], headers: dict[int, tuple[str, ...]]) -> None:
    """Entries that are directories because other entries or ``ls -R`` headers sit inside them."""
    parents: dict[tuple[str, ...], None] = dict.fromkeys(headers.values())
    for e in entries:
        parents[e.parent] = None
    for e in entries:
        if e.is_dir is None and (*e.parent, e.name) in parents:
            e.is_dir = True


# -- what the request names ----------------------------------------------------------------------------


def _names_and_dirs(terms: Iterable[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """Name parts (3+ chars) of the last path component of each word of ``terms``, and every component."""
    names: dict[str, None] = {}
    dirs: dict[str, None] = {}
    for term in terms:
        for word in term.split():
            parts = [p for p in word.strip("'\"`").lower().split("/") if p not in ("", ".", "..")]
            if not parts or parts[0].startswith("-"):
                continue
            dirs.update(dict.fromkeys(parts))
            for piece in parts[-1].split("*"):
                if len(piece) >= 3:
                    names.setdefault(piece, None)
    return tuple(names), frozenset(dirs)


@content_cache(64)
def _words_of_request(user_request: str) -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
    """:func:`_request_words` of the user's request alone: once per request, not once per tool call."""
    idents = frozenset(w.lower() for w in identifiers_of(user_request, None) if len(w) >= 4)
    return (idents, *_names_and_dirs(terms_of(user_request, None)))


@content_cache(256)
def _request_words(
    user_request: str | None, tool_input: str | None
) -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
    """Lower-cased: identifiers (4+ chars) of the user's request and of the agent's text before pasted
    output; name parts (3+ chars) of the tool call's words and quoted terms; every path component of those
    words. Pure, cached by value: every part of a unit, and most units of a request, share these strings."""
    idents, names, dirs = _words_of_request(user_request) if user_request else (frozenset(), (), frozenset())
    if not tool_input:
        return idents, names, dirs
    extra = identifiers_of(user_request, tool_input) - identifiers_of(user_request, None)
    if not tool_input.lstrip().startswith("{"):  # pasted output: the agent's text before it
        extra |= identifiers_of(tool_input[:20_000], None)
    asked = set(terms_of(user_request, None))
    more_names, more_dirs = _names_and_dirs(t for t in terms_of(user_request, tool_input) if t not in asked)
    return (
        idents | {w.lower() for w in extra if len(w) >= 4},
        tuple(dict.fromkeys((*names, *more_names))),
        dirs | more_dirs,
    )


class _Wanted:
    """What the request names: the user's identifiers (as whole names or stems), the tool call's words (as
    parts of names: ``find -name '*.so'`` keeps ``.so`` files) and the directories it names (``ls -R build``
    lists ``build``, so ``build`` is not noise there).

    Found on first use: a listing with no noise, no compiled file and no long run never asks, and then the
    request's words are not scanned for."""

    __slots__ = ("_unit", "_words")

    def __init__(self, unit: Unit) -> None:
        self._unit = unit
        self._words: tuple[frozenset[str], tuple[str, ...], frozenset[str]] | None = None

    def _found(self) -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
        if self._words is None:
            context = self._unit.context
            self._words = _request_words(context.user_request, context.tool_input)
        return self._words

    @property
    def dirs(self) -> frozenset[str]:
        """Every path component the request names, lower-cased."""
        return self._found()[2]

    def __call__(self, entry: Entry) -> bool:
        idents, terms, _ = self._found()
        name = entry.name.lower()
        if name in idents or name.split(".", 1)[0] in idents:
            return True
        return any(term in name for term in terms)


# -- noise directories and compiled files --------------------------------------------------------------


def _noise_kind(name: str) -> str | None:
    if name in NOISE_DIRS:
        return name
    for suffix in _NOISE_SUFFIXES:
        if name.endswith(suffix):
            return "*" + suffix
    return None


def _noise_root(parent: tuple[str, ...], wanted: _Wanted) -> tuple[str | None, tuple[str, ...]]:
    """The kind of the outermost noise directory on ``parent`` that the request does not name, and its
    path, or (None, ()). The request's names are looked at only for a noise directory."""
    for k, part in enumerate(parent):
        kind = _noise_kind(part)
        if kind is not None and part.lower() not in wanted.dirs:
            return kind, parent[: k + 1]
    return None, ()


def compiled(name: str) -> bool:
    """Compiled artifacts: object files, bytecode, Python extension modules."""
    low = name.lower()
    if low.endswith(_COMPILED_SUFFIXES):
        return True
    return low.endswith(".so") and (".cpython-" in low or ".abi3." in low or "-linux-gnu" in low)


def _suffix(name: str) -> str:
    """The shown suffix of a name for counts: ``.o.d``, ``.cpython-36m-x86_64-linux-gnu.so``, ``.py``."""
    low = name.lower()
    if low.endswith(".o.d"):
        return ".o.d"
    if low.endswith(".so") and ".cpython-" in low:
        return low[low.index(".cpython-") :]
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else "(no extension)"


@dataclass(slots=True)
class _Group:
    """What one marker stands for."""

    first: int = -1
    names: int = 0
    listings: int = 0
    chars: int = 0
    roots: dict[tuple[str, ...], None] = field(default_factory=dict)
    suffixes: Counter[str] = field(default_factory=Counter)
    lines: list[int] = field(default_factory=list)


def _drop_noise(
    lines: list[str],
    entries: list[Entry],
    headers: dict[int, tuple[str, ...]],
    wanted: _Wanted,
    drop: bytearray,
    markers: dict[int, list[str]],
    unit: Unit,
    min_chars: int,
) -> None:
    groups: dict[str, _Group] = {}
    kept_sections: dict[int, None] = {}  # ls -R sections inside noise that hold a wanted name: kept whole
    candidates: list[tuple[Entry, str, tuple[str, ...]]] = []
    noise_of: dict[tuple[str, ...], tuple[str | None, tuple[str, ...]]] = {}  # parent -> (kind, root)
    for e in entries:
        found = noise_of.get(e.parent)
        if found is None:
            found = noise_of[e.parent] = _noise_root(e.parent, wanted)
        key, root = found
        if key is None and e.is_dir is not True and compiled(e.name):
            key = "compiled"
        if key is None:
            continue
        if wanted(e):
            if key != "compiled" and e.section >= 0:
                kept_sections[e.section] = None
            continue
        candidates.append((e, key, root))
    dropped_in: Counter[int] = Counter()
    for e, key, root in candidates:
        if key != "compiled" and e.section in kept_sections:
            continue
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group()
        g.lines.append(e.index)
        g.names += 1
        g.chars += len(lines[e.index]) + 1
        g.suffixes[_suffix(e.name) if e.is_dir is not True else "directories"] += 1
        if root:
            g.roots[root] = None
        dropped_in[e.section] += 1
    # an ls -R header inside a noise directory goes with its section when every name in it goes
    in_section: Counter[int] = Counter(e.section for e in entries)
    for index, path in headers.items():
        kind = _noise_root(path, wanted)[0]
        if kind is None or kind not in groups or dropped_in[index] != in_section[index]:
            continue
        g = groups[kind]
        g.lines.append(index)
        g.listings += 1
        g.chars += len(lines[index]) + 1
        if index > 0 and not lines[index - 1]:
            g.lines.append(index - 1)  # the blank line that separates sections
        after = lines[index + 1] if index + 1 < len(lines) else ""
        if after.startswith("total ") and after[6:].isdigit():
            g.lines.append(index + 1)  # ls -lR: the section's block count
    for key, g in groups.items():
        if g.chars < min_chars:
            continue
        for i in g.lines:
            drop[i] = 1
        g.first = min(g.lines)
        markers.setdefault(g.first, []).append(_noise_marker(unit, key, g))


def _counts_text(suffixes: Counter[str], limit: int = 4) -> str:
    common = suffixes.most_common()
    shown = [f"{n} {s if s in ('directories', '(no extension)') else '*' + s}" for s, n in common[:limit]]
    rest = sum(n for _, n in common[limit:])
    if rest:
        shown.append(f"{rest} other")
    return ", ".join(shown)


def _noise_marker(unit: Unit, key: str, g: _Group) -> str:
    if key == "compiled":
        detail = f"compiled files: {_counts_text(g.suffixes)}"
    else:
        roots = list(g.roots)
        where = "/".join(roots[0]) + "/" if len(roots) == 1 else f"{len(roots)} {key} directories"
        detail = f"contents of {where}: {_counts_text(g.suffixes)}"
    return omitted(unit, [(g.listings, "directory listings"), (g.names, "names")], detail_text([detail]))


# -- runs of similar names in one directory ------------------------------------------------------------


def _run_key(name: str) -> str | None:
    """Names with the same key form a run: equal but for their digits, or data files of one extension."""
    dot = name.rfind(".")
    ext = name[dot + 1 :].lower() if dot > 0 else ""
    if ext in _DATA_EXTS:
        return "." + ext
    if dot <= 0 or ext.isdigit() or _DIGIT_RUN.search(name) is None:
        return None
    return "#" + _DIGIT_RUN.sub("0", name)


def _drop_runs(
    entries: list[Entry],
    drop: bytearray,
    markers: dict[int, list[str]],
    wanted: _Wanted,
    unit: Unit,
    min_run: int,
    head: int,
    tail: int,
) -> None:
    by_dir: dict[tuple[tuple[str, ...], str], list[Entry]] = {}
    for e in entries:
        if drop[e.index] or e.is_dir is True:
            continue
        key = _run_key(e.name)
        if key is not None:
            by_dir.setdefault((e.parent, key), []).append(e)
    per_dir: dict[tuple[str, ...], _Group] = {}
    for (parent, _), members in by_dir.items():
        if len(members) < min_run or len(members) <= head + tail:
            continue
        g = per_dir.get(parent)
        if g is None:
            g = per_dir[parent] = _Group()
        for e in members[head : len(members) - tail]:
            if wanted(e):
                continue
            drop[e.index] = 1
            g.lines.append(e.index)
            g.names += 1
            g.suffixes[_suffix(e.name)] += 1
    for parent, g in per_dir.items():
        if not g.names:
            continue
        first = min(g.lines)
        where = "/".join(parent) or "."
        detail = detail_text([f"in {where}: {_counts_text(g.suffixes)}"])
        markers.setdefault(first, []).append(omitted(unit, [(g.names, "names")], detail))


# -- long listings -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Columns:
    """Columns left out of long listings."""

    first: int
    links: bool
    owner: str | None
    group: str | None
    date: str | None
    dates: int
    link_range: tuple[int, int]
    modes: dict[str, str] = field(default_factory=dict)  # entry type -> the permissions shown as the type
    moded: int = 0

    def marker(self, unit: Unit) -> str:
        said: list[str] = []
        if self.links:
            low, high = self.link_range
            said.append(f"link counts ({low}-{high})" if low != high else f"link count {low} on every line")
        if self.owner is not None:
            said.append(f"owner {self.owner}")
        if self.group is not None:
            said.append(f"group {self.group}")
        if self.owner is not None or self.group is not None:
            said[-1] += " on every line"
        if self.date is not None:
            said.append(f"a date not shown is {self.date}")
        if self.modes:
            modes = ", ".join(f"{perm} ({_TYPE_NAMES.get(kind, kind)})" for kind, perm in self.modes.items())
            said.append(f"where only the type letter is shown the permissions are {modes}")
        cols = int(self.links) + int(self.owner is not None) + int(self.group is not None)
        counts = [(cols, "columns"), (self.dates, "dates"), (self.moded, "permissions")]
        return omitted(unit, counts, detail_text(said, limit=400))

    def render(self, m: re.Match[str]) -> str:
        perm = m["perm"]
        parts = [perm[0] if self.modes.get(perm[0]) == perm else perm]
        if not self.links:
            parts.append(m["links"])
        if self.owner is None:
            parts.append(m["owner"])
        if self.group is None:
            parts.append(m["group"])
        parts.append(" ".join(m["size"].split()))
        date = " ".join(m["date"].split())
        if date != self.date:
            parts.append(date)
        parts.append(m["name"])
        return " ".join(parts)


_TYPE_NAMES = {"-": "files", "d": "directories", "l": "symlinks"}


def _long_columns(
    entries: list[Entry], drop: bytearray, drop_links: bool, elide_modes: bool
) -> _Columns | None:
    longs = [e.long for e in entries if e.long is not None and not drop[e.index]]
    if len(longs) < 4:
        return None
    owners = {m["owner"] for m in longs}
    groups = {m["group"] for m in longs}
    links = [int(m["links"]) for m in longs]
    dates = Counter(" ".join(m["date"].split()) for m in longs)
    date, count = dates.most_common(1)[0]
    columns = _Columns(
        first=next(e.index for e in entries if e.long is not None and not drop[e.index]),
        links=drop_links or min(links) == max(links),
        owner=longs[0]["owner"] if len(owners) == 1 else None,
        group=longs[0]["group"] if len(groups) == 1 else None,
        date=date if count * 2 >= len(longs) and count >= 3 else None,
        dates=count if count * 2 >= len(longs) and count >= 3 else 0,
        link_range=(min(links), max(links)),
    )
    if elide_modes:
        by_type = Counter(m["perm"] for m in longs)
        per_type: Counter[str] = Counter(m["perm"][0] for m in longs)
        for perm, n in by_type.most_common():
            kind = perm[0]
            if kind not in columns.modes and n >= 3 and n * 2 >= per_type[kind]:
                columns.modes[kind] = perm
                columns.moded += n
    if not (columns.links or columns.owner or columns.group or columns.date or columns.modes):
        return None
    return columns


# -- output --------------------------------------------------------------------------------------------


def _render(
    lines: list[str],
    entries: list[Entry],
    drop: bytearray,
    markers: dict[int, list[str]],
    columns: _Columns | None,
    join: bool,
    width: int,
) -> str:
    kinds = {e.index: e for e in entries}
    out: list[str] = []
    pending: list[str] = []  # plain names waiting to be joined
    deferred: list[str] = []  # markers for dropped plain names: after the joined names they stood among

    def flush() -> None:
        if pending:
            line = pending[0]
            for name in pending[1:]:
                if len(line) + 1 + len(name) > width:
                    out.append(line)
                    line = name
                else:
                    line += " " + name
            out.append(line)
            pending.clear()
        out.extend(deferred)
        deferred.clear()

    for i, line in enumerate(lines):
        entry = kinds.get(i)
        plain = join and entry is not None and entry.kind == "name"
        if i in markers:
            if plain:
                deferred.extend(markers[i])
            else:
                flush()
                out.extend(markers[i])
        if drop[i]:
            continue
        if plain:
            pending.append(line)
            continue
        flush()
        if entry is not None and entry.long is not None and columns is not None:
            out.append(columns.render(entry.long))
        else:
            out.append(line)
    flush()
    return "\n".join(out)


__all__ = ["LONG_RE", "compiled", "compress", "is_header", "name_like", "tree_line"]
