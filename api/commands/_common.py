"""Shared argument helpers, argument types and renderers for the subcommands.

Every numeric option declares its type with bounds from here (``type=seed``,
``type=positive_int``...), so argparse refuses a bad value before anything runs, on one
line with exit status 2, naming the option, the value and what to give::

    beatgrid grids generate: error: argument --seed: '-1' is not a seed: give a whole
    number from 0 to 4294967295

Examples
--------
>>> seed("7"), non_negative_int("0"), positive_float("2.5"), share("1")
(7, 0, 2.5, 1.0)
>>> positive_int("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: '0' is not a positive whole number: give a whole number from 1 up
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from beatgrid.gis.progress import Progress


class IntArg:
    """An argparse type: a whole number within ``[minimum, maximum]``.

    Parameters
    ----------
    what
        What the value is, for the message ("a seed").
    minimum, maximum
        Bounds, inclusive (None: unbounded).

    Examples
    --------
    >>> IntArg("a port", minimum=1, maximum=65535)("80")
    80
    >>> IntArg("a port", minimum=1, maximum=65535)("http")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 'http' is not a port: give a whole number from 1 to 65535
    """

    def __init__(self, what: str, *, minimum: int | None = None,
                 maximum: int | None = None) -> None:
        self.what, self.minimum, self.maximum = what, minimum, maximum
        self.__name__ = what  # argparse names the type by it in some messages

    def rule(self) -> str:
        """The accepted range in words."""
        if self.minimum is not None and self.maximum is not None:
            return f"a whole number from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"a whole number from {self.minimum} up"
        if self.maximum is not None:
            return f"a whole number up to {self.maximum}"
        return "a whole number"

    def __call__(self, text: str) -> int:
        try:
            value = int(text.strip())
        except (ValueError, AttributeError):
            value = None
        if value is None or (self.minimum is not None and value < self.minimum) \
                or (self.maximum is not None and value > self.maximum):
            raise argparse.ArgumentTypeError(
                f"{_quote(text)} is not {self.what}: give {self.rule()}")
        return value


class FloatArg:
    """An argparse type: a finite number above (or at) ``minimum``, up to ``maximum``.

    Parameters
    ----------
    what
        What the value is, for the message ("a number of days").
    minimum, maximum
        Bounds (None: unbounded); ``minimum`` is excluded unless ``include_minimum``.

    Examples
    --------
    >>> FloatArg("a share", minimum=0, maximum=1)("0.8")
    0.8
    >>> FloatArg("a share", minimum=0, maximum=1)("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 'nan' is not a share: give a number above 0 and at most 1
    """

    def __init__(self, what: str, *, minimum: float | None = None,
                 maximum: float | None = None, include_minimum: bool = False) -> None:
        self.what, self.minimum, self.maximum = what, minimum, maximum
        self.include_minimum = include_minimum
        self.__name__ = what

    def rule(self) -> str:
        """The accepted range in words."""
        parts = []
        if self.minimum is not None:
            parts.append(f"{'at least' if self.include_minimum else 'above'} "
                         f"{_num(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"at most {_num(self.maximum)}")
        return "a number " + " and ".join(parts) if parts else "a finite number"

    def __call__(self, text: str) -> float:
        try:
            value = float(text.strip())
        except (ValueError, AttributeError):
            value = math.nan
        low_ok = self.minimum is None or value > self.minimum or (
            self.include_minimum and value == self.minimum)
        high_ok = self.maximum is None or value <= self.maximum
        if not math.isfinite(value) or not low_ok or not high_ok:
            raise argparse.ArgumentTypeError(
                f"{_quote(text)} is not {self.what}: give {self.rule()}")
        return value


def _quote(text: object) -> str:
    shown = str(text)
    return repr(shown if len(shown) <= 40 else shown[:37] + "...")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


#: A whole number >= 0 (counts, limits; 0 often means "none" or "automatic").
non_negative_int = IntArg("a whole number >= 0", minimum=0)
#: A whole number >= 1 (sizes, budgets).
positive_int = IntArg("a positive whole number", minimum=1)
#: A random seed: what numpy and the standard library accept everywhere.
seed = IntArg("a seed", minimum=0, maximum=2**32 - 1)
#: A TCP port.
port = IntArg("a port", minimum=1, maximum=65535)
#: A finite number > 0 (durations, sizes).
positive_float = FloatArg("a positive number", minimum=0)
#: A finite number >= 0.
non_negative_float = FloatArg("a number >= 0", minimum=0, include_minimum=True)
#: A share in (0, 1].
share = FloatArg("a share", minimum=0, maximum=1)


def add_project(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--project P.gpkg``: the BeatGrid project file."""
    parser.add_argument("--project", "-p", required=required, metavar="P.gpkg",
                        help="the BeatGrid project (GeoPackage)")


def add_map(parser: argparse.ArgumentParser) -> None:
    """``--map FILE.html``: write an offline folium map."""
    parser.add_argument("--map", metavar="FILE.html", help="also write an offline HTML map")


def add_settings(parser: argparse.ArgumentParser, *, name: str = "settings") -> None:
    """``--settings FILE.toml``: override shipped defaults."""
    parser.add_argument("--settings", metavar="FILE.toml",
                        help=f"override the shipped {name} defaults with this TOML file")


def print_table(df: pd.DataFrame, *, max_rows: int = 60, floatfmt: str = "{:,.3f}") -> None:
    """Print a DataFrame as a plain aligned table."""
    with pd.option_context("display.max_rows", max_rows, "display.max_columns", 50,
                           "display.width", 160, "display.float_format", floatfmt.format):
        print(df.to_string(index=False) if len(df) else "(none)")


def ensure_parent(path: str | Path) -> Path:
    """Create the parent directory of an output path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bar (there is none either when stdout is not a terminal)."""
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar (none either when the output is not a terminal)")


def wants_bar(args: argparse.Namespace) -> bool:
    """Whether to draw a progress bar: stdout and stderr are terminals and no ``--quiet``."""
    if getattr(args, "quiet", False):
        return False
    try:
        return sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):   # replaced or closed streams
        return False


@contextmanager
def progress_bar(args: argparse.Namespace, what: str) -> Iterator[Progress | None]:
    """A progress callback drawing a bar on stderr while the block runs (rich).

    Yields None (no bar) when :func:`wants_bar` says so: a pipe, a file or ``--quiet``;
    the bar is erased when the block ends, so only the report stays on the terminal.

    Examples
    --------
    >>> with progress_bar(argparse.Namespace(quiet=True), "coverage") as progress:
    ...     progress is None
    True
    """
    if not wants_bar(args):
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, Progress as Bar, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn)

    with Bar(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
             TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=1.0)
        shown = {"description": what}

        def update(fraction: float, message: str) -> None:
            description = f"{what}: {message}"
            bar.update(task, completed=fraction, description=description)
            if description != shown["description"]:     # every stage is drawn at least
                shown["description"] = description      # once, however short it is
                bar.refresh()

        yield update
