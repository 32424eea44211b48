"""The README documents what the code does: the schema section is the generated one."""

from pathlib import Path

from beatgrid.api.cli import build_parser
from beatgrid.api.commands.project import schema_markdown

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_schema_section_matches_code():
    start = README.index("<!-- schema:start -->\n") + len("<!-- schema:start -->\n")
    end = README.index("<!-- schema:end -->")
    assert README[start:end] == schema_markdown(), "run `beatgrid schema` and paste it in README"


def test_readme_mentions_every_cli_command():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:
        assert f"beatgrid {name}" in README, f"README does not document `beatgrid {name}`"


def test_readme_gives_the_two_setup_commands():
    assert "bash scripts/demo.sh" in README and "bash scripts/test.sh" in README


def test_readme_holds_the_current_docs_pages():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "build_readme.py"
    spec = importlib.util.spec_from_file_location("build_readme", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build(README) == README, "run: python scripts/build_readme.py"
