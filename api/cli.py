"""The ``beatgrid`` command line: thin wrappers that parse, call ``gis/`` and render.

Each capability registers its subcommands from a module in ``api/commands/``
(a ``register(subparsers)`` function; the handler is set with
``parser.set_defaults(func=...)`` and returns the exit status). Domain errors
become one clear line on stderr and exit status 2 here, in one place; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
import warnings

from beatgrid.gis.errors import BeatGridError, ValidationError

from beatgrid.api import commands

#: Exit status for bad input (argparse also uses 2 for bad usage).
EXIT_INPUT_ERROR = 2
#: Validation problems listed at most when a write is refused.
MAX_PROBLEMS_SHOWN = 20
#: Exit status when the reader of standard output went away (``| head``): 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="beatgrid",
        description="Police beats, 300-500-household grids, CCTV coverage and staffing.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns (and exits with) the command's status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.debug:
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    try:
        status = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (``| head``) has gone: the command's files are written already
        # (commands write them before printing); stop quietly, as other tools do.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except BeatGridError as exc:
        if args.debug:
            raise
        if isinstance(exc, ValidationError) and len(exc.errors) > 1:
            shown = exc.errors[:MAX_PROBLEMS_SHOWN]
            print(f"beatgrid: error: {len(exc.errors)} validation errors, nothing written:",
                  file=sys.stderr)
            for problem in shown:
                print(f"  {problem.format()}", file=sys.stderr)
            if len(exc.errors) > len(shown):
                print(f"  ... and {len(exc.errors) - len(shown)} more", file=sys.stderr)
        else:
            print(f"beatgrid: error: {exc}", file=sys.stderr)
        status = EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("beatgrid: interrupted", file=sys.stderr)
        status = 130
    except OSError as exc:
        if args.debug:
            raise
        print(f"beatgrid: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        status = EXIT_INPUT_ERROR
    return int(status or 0)


def _silence_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run() -> None:  # pragma: no cover - console entry point
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
