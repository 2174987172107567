"""Where things are."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
INFRA = REPO / "infra"
CONFIG = REPO / "config"
SCHEMA_FILE = CONFIG / "service.schema.json"
TESTS = REPO / "tests" / "infra"
FIXTURES = TESTS / "fixtures"
BRIDGE = TESTS / "bridge.js"


def app_files(config_dir: Path = CONFIG) -> list[Path]:
    """The app JSON files, the way infra/apps.tf finds them: every *.json in
    the directory except the JSON Schema."""
    return sorted(p for p in config_dir.glob("*.json") if p.name != SCHEMA_FILE.name)


def relative(path: Path) -> str:
    """A path as findings show it: relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)
