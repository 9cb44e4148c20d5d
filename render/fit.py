"""Tables that fit the terminal: every number whole, names broken only after a `.` or at a space.

A table is a key column (module, operator or input names) and value columns in groups (the
seed's three, the `--memory` bytes, the roofline, ...). `plan_tables` lays them out for a
width: one table when everything fits with each name on one line; otherwise the groups go
into as many tables as they need, each keyed by the same names, rather than squeezing every
column into one (`FittedTable` renders one such layout). Numbers never wrap and are never
cut; headers wrap at spaces; a name still too long for its column folds after its dots, and
a single part longer than the column after a `_` or `::` (`folded`), never mid-word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.box import SQUARE, Box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

# A box table spends a rule and one space of padding on each side of every cell, and one
# closing rule: 3 columns per cell plus 1.
FRAME_PER_COLUMN = 3
# The narrowest a prose column (a where-list) gets: narrower, and a short list becomes a
# tall column of single words.
PROSE_LEAST = 16
# The narrowest a key column gets, however narrow the terminal: numbers take the rest.
NAME_FLOOR = 12

_PARTS = re.compile(r"[^.\s]*[.\s]+|[^.\s]+$")
_WORDS = re.compile(r"[^_:]*[_:]+|[^_:]+$")


def name_parts(text: str) -> list[str]:
    """Where a name may break: `backbone.stage1.0 (only in A)` ->
    `backbone.`, `stage1.`, `0 `, `(only `, `in `, `A)`. Joined, they are `text` again."""
    return _PARTS.findall(text)


def longest_part(text: str) -> int:
    """The width of the longest piece of `text` that must stay on one line."""
    return max((cell_len(part.rstrip()) for part in name_parts(text)), default=0)


def _pieces(part: str, width: int) -> list[str]:
    """A part too long for `width` in the pieces of its words: after each `_` or `::`
    (`scaled_dot_product_attention`), so even then no word is cut."""
    if cell_len(part.rstrip()) <= width:
        return [part]
    return _WORDS.findall(part)


def break_offsets(text: str, width: int) -> list[int]:
    """Offsets that break `text` into lines of at most `width` columns, only between parts;
    a part longer than `width` breaks between its words (a word longer still stays whole
    on a line of its own, and rich folds it: nothing else is left)."""
    offsets: list[int] = []
    position = line = 0
    for part in name_parts(text):
        for piece in _pieces(part, width):
            if line and line + cell_len(piece.rstrip()) > width:
                offsets.append(position)
                line = 0
            line += cell_len(piece)
            position += len(piece)
    return offsets


def folded(text: Text, width: int) -> Text:
    """`text` on lines of at most `width` columns, broken only after a dot or at a space;
    styles kept. Unchanged when it fits."""
    offsets = break_offsets(text.plain, width)
    if not offsets:
        return text
    lines = text.divide(offsets)
    for line in lines:
        line.rstrip()
    return Text("\n").join(lines)


def wrapped_items(items: Iterable[str], width: int, separator: str = ", ") -> str:
    """`items` joined by `separator`, on lines of at most `width` columns, broken only
    between items (an item too long for a line folds at its dots, `folded`)."""
    mark = separator.rstrip()  # `,` ends a line that goes on
    lines: list[str] = []
    line = ""
    for item in items:
        if line and cell_len(line + separator + item + mark) > width:
            lines.append(line + mark)
            line = item
        else:
            line = f"{line}{separator}{item}" if line else item
    if line:
        lines.append(line)
    return "\n".join(folded(Text(line), width).plain for line in lines)


@dataclass(frozen=True)
class Fit:
    """A column's width with room to spare (`natural`) and the least it can take (`least`)."""

    natural: int
    least: int


def number_fit(header: str, cells: Iterable[str]) -> Fit:
    """A column of numbers: never narrower than its widest cell; its header wraps at spaces."""
    widest = max((cell_len(cell) for cell in cells), default=0)
    word = max((cell_len(w) for w in header.split()), default=0)
    return Fit(max(widest, cell_len(header)), max(widest, word))


def key_fit(header: str, names: Iterable[tuple[int, str]]) -> Fit:
    """The key column of (indent, name) rows: names fold after a dot, never mid-word."""
    names = list(names)
    natural = max([cell_len(header), *(indent + cell_len(name) for indent, name in names)])
    least = max([cell_len(header), *(indent + longest_part(name) for indent, name in names)])
    return Fit(natural, least)


@dataclass(frozen=True)
class TablePlan:
    """One table of a layout: which value columns, and the widths to give them
    (None everywhere: rich's own natural widths)."""

    columns: tuple[int, ...]
    key_width: int | None
    widths: tuple[int | None, ...]


def frame(columns: int) -> int:
    """Rules and padding of a table with `columns` value columns and its key column."""
    return FRAME_PER_COLUMN * (columns + 1) + 1


def plan_tables(
    width: int | None, key: Fit, columns: Sequence[Fit], groups: Sequence[int] | None = None
) -> list[TablePlan]:
    """Lay out a key column and value columns for `width`.

    One table when everything fits, at natural widths, or with each column at its least
    and the key column taking the rest, names unbroken. Otherwise the groups (one number
    per column; consecutive columns of one group stay together) fill tables in order, each
    keyed by the same names at the width the first table gives them; a group wider than a
    table goes column by column.
    """
    everything = tuple(range(len(columns)))
    groups = list(groups) if groups is not None else [0] * len(columns)

    def tight(chosen: Sequence[int], key_width: int) -> int:
        return key_width + sum(columns[c].least for c in chosen) + frame(len(chosen))

    def plan(chosen: Sequence[int]) -> TablePlan:
        chosen = tuple(chosen)
        natural = key.natural + sum(columns[c].natural for c in chosen) + frame(len(chosen))
        if width is None or natural <= width:
            return TablePlan(chosen, None, (None,) * len(chosen))
        # Names take what the numbers leave; only a name part longer than that (and than
        # NAME_FLOOR) is folded mid-word, the numbers never.
        rest = width - tight(chosen, 0)
        return TablePlan(
            chosen,
            max(rest, min(key.least, NAME_FLOOR)),
            tuple(columns[c].least for c in chosen),
        )

    if width is None or tight(everything, key.natural) <= width or len(set(groups)) < 2:
        return [plan(everything)]
    runs: list[list[int]] = []
    for column in everything:
        if runs and groups[runs[-1][-1]] == groups[column]:
            runs[-1].append(column)
        else:
            runs.append([column])
    # The key column as wide as the first table lets it be: the others fold names alike.
    key_width = min(key.natural, max(key.least, width - tight(runs[0], 0)))
    tables: list[list[int]] = [runs[0]]
    for run in runs[1:]:
        if tight(tables[-1] + run, key_width) <= width:
            tables[-1] += run
        elif tight(run, key_width) <= width:
            tables.append(list(run))
        else:
            tables.append([])
            for column in run:
                if tables[-1] and tight([*tables[-1], column], key_width) > width:
                    tables.append([])
                tables[-1].append(column)
    return [plan(chosen) for chosen in tables]


@dataclass(frozen=True)
class Column:
    """A value column: its header, one cell per row, and the group it stays with."""

    header: str
    cells: Sequence[str]
    justify: JustifyMethod = "right"
    group: int = 0


class FittedTable:
    """A key column (names) and value columns, printed as one rich table, or as several
    keyed by the same names where one would not fit the width it is printed at
    (`plan_tables`). Numbers never wrap; names fold only after a dot or at a space.

    `indents` indent each name (folded lines stay under it); `footer` rows close the
    table after a rule (a total); `blank_rows` False drops, from the second table on, rows
    with nothing in its columns (a parameter's row beside the --memory columns).
    """

    def __init__(
        self,
        key_header: str,
        keys: Sequence[Text | str],
        columns: Sequence[Column],
        *,
        indents: Sequence[int] | None = None,
        title: str | None = None,
        box: Box = SQUARE,
        header_style: str = "table.header",
        footer: int = 0,
        blank_rows: bool = True,
    ) -> None:
        self.key_header = key_header
        self.keys = [key if isinstance(key, Text) else Text(key) for key in keys]
        self.columns = list(columns)
        self.indents = list(indents) if indents is not None else [0] * len(self.keys)
        self.title = title
        self.box = box
        self.header_style = header_style
        self.footer = footer
        self.blank_rows = blank_rows

    def plans(self, width: int | None) -> list[TablePlan]:
        names = [key.plain for key in self.keys]
        key = key_fit(self.key_header, zip(self.indents, names, strict=True))
        fits = [number_fit(c.header, c.cells) for c in self.columns]
        return plan_tables(width, key, fits, [c.group for c in self.columns])

    def tables(self, width: int | None = None) -> list[Table]:
        return [self._table(plan, n == 0) for n, plan in enumerate(self.plans(width))]

    def _table(self, plan: TablePlan, first: bool) -> Table:
        table = Table(
            box=self.box,
            header_style=self.header_style,
            title=self.title if first else None,
            title_justify="left",
        )
        table.add_column(self.key_header, overflow="fold", width=plan.key_width)
        for number, column_width in zip(plan.columns, plan.widths, strict=True):
            column = self.columns[number]
            # At its planned width (or its natural one) every number fits: no cut, no wrap.
            table.add_column(column.header, justify=column.justify, width=column_width)
        body = len(self.keys) - self.footer
        for row, (key, indent) in enumerate(zip(self.keys, self.indents, strict=True)):
            cells = [self.columns[number].cells[row] for number in plan.columns]
            if not first and not self.blank_rows and not any(cells):
                continue
            if row == body:
                table.add_section()
            if plan.key_width is not None:
                key = folded(key, plan.key_width - indent)
            table.add_row(Padding(key, (0, 0, 0, indent)), *cells)
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.tables(options.max_width)


__all__ = [
    "Column",
    "Fit",
    "FittedTable",
    "TablePlan",
    "break_offsets",
    "folded",
    "key_fit",
    "longest_part",
    "name_parts",
    "number_fit",
    "plan_tables",
    "wrapped_items",
]
