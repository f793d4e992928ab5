"""The deployment files: docker-compose.yml, Dockerfile and .dockerignore (no Docker engine runs here).

The files are parsed and their settings checked. The image's entry point and command run as the
container would run them (the console script, the compose environment, REDIS_URL set) and the
health check runs against that process. Where `docker-compose` (v1) or the compose plugin is
installed, `config -q` validates the compose file as well.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from consent_service.cli import options as cli_options
from consent_service.config.keys import resolve_keys
from consent_service.config.settings import settings_from_env

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
REQUIRED = ("CONSENT_SECRET_KEYS", "CONSENT_PSEUDONYM_KEY", "CONSENT_ADMIN_KEYS")
BOUND_S = 30.0  # how long a start or a stop may take at most, not a speed claim

# Keys of the Compose Specification that Compose v2 and docker-compose 1.29 both accept: a typo
# (`healtcheck`) is caught here even where no compose tool is installed.
TOP_LEVEL_KEYS = {"version", "services", "volumes", "networks", "secrets", "configs"}
SERVICE_KEYS = {
    "build", "image", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes",
    "depends_on", "healthcheck", "restart", "read_only", "tmpfs", "security_opt", "cap_drop", "cap_add",
    "stop_grace_period", "stop_signal", "logging", "networks", "user", "working_dir", "init", "labels",
    "ulimits", "sysctls", "shm_size", "mem_limit", "cpus", "pids_limit", "profiles", "secrets", "configs",
}  # fmt: skip
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "disable"}
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")


# ---- docker-compose.yml ------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no {name!r} service"
    svc: dict[str, Any] = services[name]
    return svc


def environment(svc: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment, written as a mapping or as a list of KEY=VALUE."""
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    assert all(isinstance(v, str) for v in env.values()), f"environment values must be strings: {env}"
    return dict(env)


def command(svc: Mapping[str, Any]) -> list[str]:
    cmd = svc["command"]
    words = shlex.split(cmd) if isinstance(cmd, str) else cmd
    assert all(isinstance(w, str) for w in words), f"unquoted YAML scalar in command (yes/no become booleans): {cmd}"
    return list(words)


def option(words: list[str], name: str) -> str | None:
    """The value after `name` (`--appendonly yes`), or None."""
    return words[words.index(name) + 1] if name in words[:-1] else None


def container_ports(svc: Mapping[str, Any]) -> set[int]:
    ports = set()
    for port in svc.get("ports", []):
        if isinstance(port, dict):
            ports.add(int(port["target"]))
        else:
            ports.add(int(str(port).rsplit(":", 1)[-1].split("/")[0]))
    return ports


class MissingVariable(Exception):
    pass


_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_]\w*)")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution: `${V}`, `${V:-default}`, `${V-default}`, `${V:?error}`, `${V?error}`."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg = m.group("op") or "", m.group("arg") or ""
        missing = not env.get(name) if op.startswith(":") else name not in env
        if missing and op.endswith("-"):
            return arg
        if missing and op.endswith("?"):
            raise MissingVariable(f"{name}: {arg}")
        return env.get(name, "")

    return _VARIABLE.sub(one, value)


def resolve(env: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    return {k: interpolate(v, variables) for k, v in env.items()}


def keys_env() -> dict[str, str]:
    """What docs/deploy.md tells an operator to put in .env."""
    return {
        "CONSENT_SECRET_KEYS": secrets.token_hex(32),
        "CONSENT_PSEUDONYM_KEY": secrets.token_hex(32),
        "CONSENT_ADMIN_KEYS": f"{secrets.token_hex(32)}:*",
    }


def compose_tool() -> list[str] | None:
    """Debian's docker-compose (v1), else docker's compose plugin (v2), else None."""
    if exe := shutil.which("docker-compose"):
        return [exe]
    if docker := shutil.which("docker"):
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=BOUND_S, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    return None


def run_compose_config(
    tool: list[str], extra_env: Mapping[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_") and k != "REDIS_URL"}
    empty = tmp_path / "empty.env"  # so a developer's own .env cannot supply the keys
    empty.write_text("")
    return subprocess.run(
        [*tool, "-f", str(COMPOSE_FILE), "--env-file", str(empty), "config", "-q"],
        cwd=ROOT,
        env={**base, **extra_env},
        capture_output=True,
        text=True,
        timeout=BOUND_S * 2,
        check=False,
    )


def test_compose_file_has_the_service_and_redis_in_the_compose_spec() -> None:
    data = compose()
    assert set(data["services"]) == {"consent", "redis"}
    assert {k for k in data if not k.startswith("x-")} <= TOP_LEVEL_KEYS
    for name, svc in data["services"].items():
        unknown = set(svc) - SERVICE_KEYS
        assert not unknown, f"{name}: keys Compose would reject: {unknown}"
        check = svc.get("healthcheck", {})
        assert set(check) <= HEALTHCHECK_KEYS, f"{name}: unknown healthcheck keys {set(check) - HEALTHCHECK_KEYS}"
        for key in ("interval", "timeout", "start_period"):
            assert key not in check or DURATION.match(str(check[key])), f"{name}: healthcheck {key} {check[key]!r}"
        assert svc.get("restart") in ("always", "unless-stopped", "on-failure"), f"{name}: no restart policy"


def test_redis_logs_every_write_to_disk_before_answering_on_a_named_volume() -> None:
    redis_svc = service("redis")
    match = re.fullmatch(r"redis:(\d+)\.(\d+)(\.\d+)?(-alpine|-bookworm)?", redis_svc["image"])
    assert match, f"Redis image must be pinned to a major.minor: {redis_svc['image']}"
    assert (int(match[1]), int(match[2])) >= (6, 2)  # the commands the service uses
    words = command(redis_svc)
    assert words[0] == "redis-server"
    assert option(words, "--appendonly") == "yes"
    assert option(words, "--appendfsync") == "always"  # an acknowledged opt-out is on disk
    assert option(words, "--maxmemory-policy") == "noeviction"  # never evict an opt-out

    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in redis_svc["volumes"]]
    data_mounts = [m.split(":")[0] for m in mounts if m.split(":")[1] == "/data"]
    assert len(data_mounts) == 1, f"no volume on /data: {mounts}"
    assert data_mounts[0] in (compose().get("volumes") or {}), "the /data volume must be a declared named volume"

    assert "ports" not in redis_svc, "Redis must not be published to the host"


def test_both_services_have_health_checks_and_consent_waits_for_a_healthy_redis() -> None:
    redis_check = service("redis")["healthcheck"]["test"]
    assert redis_check[0] in ("CMD", "CMD-SHELL") and "redis-cli" in " ".join(redis_check)
    assert "ping" in " ".join(redis_check).lower()

    consent = service("consent")
    assert consent["depends_on"]["redis"]["condition"] == "service_healthy"
    # The compose check is the image's own HEALTHCHECK (run against the service below).
    assert consent["healthcheck"]["test"] == ["CMD", *healthcheck_command()]


def test_consent_uses_the_compose_redis_and_publishes_only_its_port() -> None:
    consent = service("consent")
    assert consent["build"] in (".", {"context": "."})
    url = urlsplit(environment(consent)["REDIS_URL"])
    assert url.scheme == "redis" and url.hostname == "redis" and url.port == 6379
    assert url.hostname in compose()["services"]
    assert container_ports(consent) == {dockerfile_port()}
    assert consent.get("read_only") is True and "/tmp" in consent.get("tmpfs", [])


def test_secrets_are_required_variables_never_values(tmp_path: Path) -> None:
    env = environment(service("consent"))
    for name in REQUIRED:
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", env[name]), f"{name} must be ${{{name}:?message}}"
    # Nothing that looks like a secret is written in the file, anywhere.
    for name, value in env.items():
        if re.search("KEY|SECRET|PASSWORD|TOKEN", name):
            assert re.fullmatch(r"\$\{[^}]+\}", value), f"{name} holds a literal value"
    assert not re.search(r"[0-9a-f]{32}", COMPOSE_FILE.read_text("utf-8")), "a key-like literal in the compose file"

    # Each missing variable stops the start, with its message.
    for name in REQUIRED:
        partial = {k: v for k, v in keys_env().items() if k != name}
        with pytest.raises(MissingVariable, match=rf"^{name}: .*openssl rand"):
            resolve(env, partial)
    if tool := compose_tool():
        missing = run_compose_config(tool, {}, tmp_path)
        assert missing.returncode != 0 and "CONSENT_SECRET_KEYS" in missing.stdout + missing.stderr


def test_compose_environment_is_accepted_by_the_service(tmp_path: Path) -> None:
    keys = keys_env()
    resolved = resolve(environment(service("consent")), keys)
    settings = settings_from_env(resolved)  # raises on a value the service would refuse at start
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.secret_keys == (keys["CONSENT_SECRET_KEYS"],)
    assert settings.admin_keys[0][1] == frozenset({"*"})
    resolve_keys(settings)  # long enough, and the pseudonym key differs from the signing keys
    if tool := compose_tool():
        result = run_compose_config(tool, keys, tmp_path)
        assert result.returncode == 0, result.stderr


# ---- Dockerfile ----------------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in DOCKERFILE.read_text("utf-8").splitlines()
                                            if not line.lstrip().startswith("#")))  # fmt: skip
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"not exec form: {args}"
    return value


def one(steps: list[tuple[str, str]], word: str) -> str:
    found = [args for w, args in steps if w == word]
    assert len(found) == 1, f"expected one {word} in the final stage, found {found}"
    return found[0]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in (a for w, a in final_stage() if w == "ENV"):
        for word in shlex.split(args):
            name, _, value = word.partition("=")
            env[name] = value
    return env


def healthcheck_command() -> list[str]:
    args = one(final_stage(), "HEALTHCHECK")
    options, _, cmd = args.partition("CMD ")
    assert re.search(r"--interval=\S+", options) and re.search(r"--timeout=\S+", options)
    return exec_form(cmd)


def dockerfile_port() -> int:
    return int(one(final_stage(), "EXPOSE").split("/")[0])


def test_dockerfile_is_slim_and_installs_only_the_package() -> None:
    steps = instructions()
    for args in (a for w, a in steps if w == "FROM"):
        assert re.match(r"python:3\.11-slim(-\w+)?(\s|$)", args), f"base image: {args}"
    installs = [a for w, a in steps if w == "RUN" and "pip install" in a]
    assert installs and all(re.search(r"pip install \.(\s|$)", a) for a in installs), installs  # no extras, no -e
    assert not any(w == "ADD" for w, _ in steps), "use COPY, never ADD"
    copied = {src for w, a in steps if w == "COPY" and "--from" not in a for src in shlex.split(a)[:-1]}
    assert copied <= {"pyproject.toml", "README.md", "consent_service"}, copied
    text = DOCKERFILE.read_text("utf-8")
    assert not any(name in text for name in (*REQUIRED, "REDIS_URL=", "requirepass")), "no secret in the image"
    env = image_env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["PYTHONUNBUFFERED"] == "1"
    assert dockerfile_port() == 8000


def test_image_runs_as_a_fixed_non_root_user_owning_its_data_dir() -> None:
    steps = final_stage()
    user = one(steps, "USER").split(":")[0]
    assert user.isdigit() and int(user) != 0, f"USER must be a fixed non-root uid, not {user!r}"
    runs = " ".join(a for w, a in steps if w == "RUN")
    assert re.search(rf"useradd .*--uid {user}\b", runs), "the uid must be created"
    data_dir = image_env()["CONSENT_DATA_DIR"]
    assert re.search(
        rf"(install -d .*-o {user}\b.* {re.escape(data_dir)}\b|chown (-R )?{user}\S* {re.escape(data_dir)})", runs
    )


def test_entry_point_is_the_console_script_and_its_command_is_accepted_by_the_cli() -> None:
    steps = final_stage()
    entry = exec_form(one(steps, "ENTRYPOINT"))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    assert entry == ["consent-service"] and entry[0] in scripts
    args = cli_options.parser(None).parse_args(exec_form(one(steps, "CMD")))  # exits (fails) on an unknown flag
    assert args.command == "serve" and args.host == "0.0.0.0" and args.port == dockerfile_port()


def docker_ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics: the last pattern matching the path or one of its parents wins."""
    parents = ["/".join(path.split("/")[: i + 1]) for i in range(path.count("/") + 1)]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if any(fnmatch.fnmatchcase(p, pattern.lstrip("!").strip("/")) for p in parents):
            ignored = not negated
    return ignored


def test_dockerignore_keeps_keys_and_local_state_out_of_the_build() -> None:
    lines = (ROOT / ".dockerignore").read_text("utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for path in (".env", ".env.prod", ".consent-data/secret-keys.json", ".consent-data/redis/appendonly.aof",
                 ".venv/bin/python", ".git/config", "tests/conftest.py", "consent_service/__pycache__/cli.pyc"):  # fmt: skip
        assert docker_ignored(path, patterns), f"{path} would be sent to the build"
    package = [p.relative_to(ROOT).as_posix() for p in (ROOT / "consent_service").rglob("*") if p.is_file()]
    needed = ["pyproject.toml", "README.md", *(p for p in package if "__pycache__" not in p)]
    assert "consent_service/static/banner.js" in needed
    for path in needed:
        assert not docker_ignored(path, patterns), f"{path} is needed by pip install . but ignored"


# ---- the container's command, run here ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_healthcheck(port: int) -> int:
    python, flag, code = healthcheck_command()
    assert python == "python" and flag == "-c" and ":8000/" in code
    return subprocess.run(
        [sys.executable, "-c", code.replace(":8000/", f":{port}/")], capture_output=True, timeout=10, check=False
    ).returncode


def stop(proc: subprocess.Popen[bytes]) -> str:
    """Wait for the process to end (killing it after BOUND_S) and return its output."""
    try:
        proc.wait(timeout=BOUND_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    assert proc.stdout is not None
    with proc.stdout:
        return proc.stdout.read().decode()


def test_container_command_serves_from_redis_url_writes_nothing_and_passes_its_health_check(
    tmp_path: Path, redis_url: str
) -> None:
    port = free_port()
    assert run_healthcheck(port) != 0  # nothing listens yet: the check can fail

    data_dir = tmp_path / "data"  # the image's /data; the compose service has a read-only root
    data_dir.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_") and k != "REDIS_URL"}
    image = {k: v for k, v in image_env().items() if k.startswith(("CONSENT_", "PYTHON"))}
    composed = resolve(environment(service("consent")), keys_env())
    env = {**base, **image, **composed, "CONSENT_DATA_DIR": str(data_dir), "REDIS_URL": redis_url}

    cmd = exec_form(one(final_stage(), "CMD"))
    cmd[cmd.index("--host") + 1] = "127.0.0.1"  # the container's 0.0.0.0, kept off this machine's interfaces
    cmd[cmd.index("--port") + 1] = str(port)
    script = Path(sys.executable).parent / exec_form(one(final_stage(), "ENTRYPOINT"))[0]
    assert script.is_file(), f"the console script {script} is not installed"
    proc = subprocess.Popen(
        [str(script), *cmd], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + BOUND_S
        while run_healthcheck(port) != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the service did not become healthy:\n{stop(proc)}")
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
            assert json.load(ready)["status"] == "ready"
        proc.send_signal(signal.SIGTERM)  # what `docker stop` sends: a clean exit, within stop_grace_period
        output = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert "REDIS_URL (not started here)" in output
    assert not any(key in output for key in (composed["CONSENT_SECRET_KEYS"], composed["CONSENT_PSEUDONYM_KEY"]))
    assert list(data_dir.iterdir()) == []  # so `read_only: true` holds


def test_every_file_of_the_package_is_in_its_package_data() -> None:
    """`pip install .` (the image) ships only the .py files and the package-data globs: a stylesheet,
    script or config the code reads at import but no glob names would pass every test of an editable
    install and fail in the image."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = ROOT / "consent_service"
    shipped = {path for pattern in globs["consent_service"] for path in package.glob(pattern)}
    tracked = subprocess.run(
        ["git", "ls-files", "consent_service"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    data = [ROOT / name for name in tracked if not name.endswith(".py")]
    assert data, "git ls-files found nothing: not a checkout?"
    missing = [str(path.relative_to(package)) for path in data if path not in shipped]
    assert missing == []
