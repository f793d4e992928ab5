"""The store's Lua files: each one loaded by store/scripts.py, each script accepted by a real Redis, and
every file shipped in the wheel (they are package data, read with importlib.resources), with the
HTML templates and the stylesheets."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import orjson
import redis

from consent_service.store import scripts

ROOT = Path(__file__).resolve().parent.parent


def _lua_files() -> set[str]:
    folder = resources.files("consent_service.store").joinpath("lua")
    return {entry.name.removesuffix(".lua") for entry in folder.iterdir() if entry.name.endswith(".lua")}


def test_every_lua_file_is_loaded_by_the_loader() -> None:
    helpers = {helper for used in scripts.SCRIPTS.values() for helper in used}
    assert _lua_files() == set(scripts.SCRIPTS) | helpers  # no orphaned file, no missing one
    assert not set(scripts.SCRIPTS) & helpers  # a helper is never run on its own
    for name, used in scripts.SCRIPTS.items():
        source = scripts.SOURCES[name]
        assert source.endswith(scripts.lua_file(name))  # the script's own text last, after its helpers
        for helper in used:
            assert scripts.lua_file(helper) in source


def test_every_script_registers_in_redis(redis_client: redis.Redis) -> None:
    """SCRIPT LOAD compiles the script: a syntax error in any file (or in how its helpers and its
    own text join) fails here, not on the first request that needs it. On the cluster, every master."""
    for name, source in scripts.SOURCES.items():
        sha = redis_client.script_load(source)
        assert sha == hashlib.sha1(source.encode()).hexdigest(), name  # Redis names a script by its SHA-1
        assert all(redis_client.script_exists(sha)), name


def test_named_arguments_are_what_the_scripts_read() -> None:
    """Integers as strings (as ARGV was), booleans as booleans, None left out (cjson's null is true in
    Lua), lists as they are."""
    encoded = scripts.named({"now_ms": 1_800_000_000_000, "gpc": False, "action": None, "request": ["rq", "x"]})
    assert orjson.loads(encoded) == {"now_ms": "1800000000000", "gpc": False, "request": ["rq", "x"]}
    assert scripts.pairs({"rq": "opt_out", "ans": "complied"}) == ["rq", "opt_out", "ans", "complied"]


def test_named_arguments_decode_in_redis(redis_client: redis.Redis) -> None:
    encoded = scripts.named({"now_ms": 1_800_000_000_000, "carry": True, "settles_ms": None, "choices": [["a", False]]})
    lua = (
        "local a = cjson.decode(ARGV[1]) return {a.now_ms, tostring(a.carry), tostring(a.settles_ms), a.choices[1][1]}"
    )
    assert redis_client.eval(lua, 0, encoded) == ["1800000000000", "true", "nil", "a"]


def test_the_wheel_ships_every_lua_file_template_stylesheet_and_site(tmp_path: Path) -> None:
    """Built from a copy of the sources (a build writes build/ and egg-info next to them). The HTML
    templates and the stylesheets are package data too (pyproject.toml), read through the package."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "consent_service", src / "consent_service", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path / "wheel"
    command = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--quiet", "-w", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = {Path(n).stem for n in names if n.startswith("consent_service/store/lua/")}
    assert shipped == _lua_files()
    templates = ROOT / "consent_service" / "web" / "templates"
    wanted = {f"consent_service/web/templates/{p.relative_to(templates).as_posix()}" for p in templates.rglob("*.*")}
    assert len(wanted) > 10 and wanted <= names, wanted - names
    static = {"privacy.css", "dashboard.css", "favicon.ico"}
    assert {f"consent_service/static/{name}" for name in static} <= names
    assert {"consent_service/config/demo_site.toml", "consent_service/config/starter_site.toml"} <= names
