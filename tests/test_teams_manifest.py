"""The Teams app manifest passes the published schema, and `make teams-package` zips it."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
TEAMS = ROOT / "manifests" / "teams"
SCHEMA = TEAMS / "schema" / "MicrosoftTeams.schema.json"
PACKAGE = ROOT / "dist" / "goalnudge-teams.zip"
SCHEMA_URL = "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _manifest() -> dict:
    return json.loads((TEAMS / "manifest.json").read_text(encoding="utf-8"))


def _png_header(path: Path) -> tuple[int, int, int]:
    """Width, height and colour type from the PNG's IHDR chunk."""
    head = path.read_bytes()[:29]
    assert head[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    length, kind = struct.unpack(">I4s", head[8:16])
    assert (length, kind) == (13, b"IHDR"), f"{path.name} does not start with IHDR"
    width, height, _depth, colour_type = struct.unpack(">IIBB", head[16:26])
    return width, height, colour_type


def test_manifest_is_valid_against_the_published_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    manifest = _manifest()
    # The schema declares draft-04, which has no `const`: check the version by hand as well.
    assert manifest["$schema"] == SCHEMA_URL
    assert manifest["manifestVersion"] == schema["properties"]["manifestVersion"]["const"] == "1.17"
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_icons_have_the_sizes_teams_requires() -> None:
    icons = _manifest()["icons"]
    assert _png_header(TEAMS / icons["color"])[:2] == (192, 192)
    width, height, colour_type = _png_header(TEAMS / icons["outline"])
    assert (width, height) == (32, 32)
    assert colour_type == 6, "the outline icon must be RGBA (white on transparent)"


def test_bot_and_message_action_are_wired_together() -> None:
    manifest = _manifest()
    [bot] = manifest["bots"]
    [extension] = manifest["composeExtensions"]
    assert bot["botId"] == extension["botId"] == manifest["id"]
    assert set(bot["scopes"]) == {"personal", "team"}
    [personal] = [c for c in bot["commandLists"] if c["scopes"] == ["personal"]]
    assert [c["title"] for c in personal["commands"]] == ["goals", "digest", "snooze", "help"]
    [command] = extension["commands"]
    assert command["id"] == "flagBlocker"
    assert command["type"] == "action"
    assert command["context"] == ["message"]
    assert command["fetchTask"] is True


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_teams_package_zips_manifest_and_icons_at_the_root() -> None:
    PACKAGE.unlink(missing_ok=True)
    subprocess.run(["make", "-s", "teams-package"], cwd=ROOT, check=True, timeout=60)
    with zipfile.ZipFile(PACKAGE) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert package.testzip() is None
        for name in package.namelist():
            assert package.read(name) == (TEAMS / name).read_bytes()
