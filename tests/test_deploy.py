"""The container deployment: Dockerfile, .dockerignore, docker-compose.yml.

Docker is not needed: the compose file is validated against the Compose
Specification schema and its wiring checked service by service, the Dockerfile is
parsed, and the commands both of them run (gunicorn, Celery, the health checks,
collectstatic, ``manage.py check --deploy``) are run here, as subprocesses with the
production settings, so that they fail the way they would fail in a container.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import importlib.util
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import dj_database_url
import jsonschema
import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "compose-spec.json"
# compose/config/compose_spec.json from the docker-compose 1.29.2 wheel, unmodified.
SCHEMA_SHA256 = "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"

APP_SERVICES = ("migrate", "web", "worker", "beat")  # run the Yishi image
LONG_RUNNING = ("proxy", "web", "worker", "beat", "postgres", "redis", "seaweedfs")
WAITING_FOR_BACKENDS = ("web", "worker", "beat")

# What an operator puts in .env; used wherever the compose file must be interpolated.
SAMPLE_ENV = {
    "SECRET_KEY": "k" * 10 + secrets.token_urlsafe(48),
    "POSTGRES_PASSWORD": "0123456789abcdef0123456789abcdef",
    "ALLOWED_HOSTS": "yishi.example.org",
    "S3_ACCESS_KEY_ID": "0123456789abcdef0123",
    "S3_SECRET_ACCESS_KEY": "k" * 8 + secrets.token_hex(16),
}


# --- Helpers: compose interpolation -------------------------------------------------------

# Compose's own grammar: $$ escapes, ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?error}, ${NAME?error} and bare $NAME.
_DOLLAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*)|(?P<invalid>))"
)
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?", re.S)


class MissingVariable(Exception):
    pass


def references(text: str) -> Iterator[tuple[str, str | None, str]]:
    """Yield (name, operator, argument) for each variable reference in ``text``."""
    for match in _DOLLAR.finditer(text):
        if match["escaped"]:
            continue
        if match["named"]:
            yield match["named"], None, ""
            continue
        braced = match["braced"]
        parsed = _BRACED.fullmatch(braced) if braced is not None else None
        if parsed is None:
            raise ValueError(f"invalid interpolation in {text!r}")
        yield parsed["name"], parsed["op"], parsed["arg"] or ""


def interpolate_text(text: str, env: dict[str, str]) -> str:
    def substitute(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return env.get(match["named"], "")
        parsed = _BRACED.fullmatch(match["braced"]) if match["braced"] is not None else None
        if parsed is None:
            raise ValueError(f"invalid interpolation in {text!r}")
        name, op, arg = parsed["name"], parsed["op"], parsed["arg"] or ""
        value = env.get(name)
        if op is None:
            return value or ""
        if op == ":-":
            return value or arg
        if op == "-":
            return arg if value is None else value
        if op in (":?", "?"):
            if value is None or (op == ":?" and value == ""):
                raise MissingVariable(f"{name}: {arg}")
            return value
        raise ValueError(f"unsupported operator {op!r} in {text!r}")

    return _DOLLAR.sub(substitute, text)


def interpolate(node, env: dict[str, str]):
    if isinstance(node, str):
        return interpolate_text(node, env)
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    return node


def strings(node, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in the document, keys included, with where it is."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}/{key}", str(key)
            yield from strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from strings(item, f"{path}/{index}")


# --- Helpers: the files -------------------------------------------------------------------


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def clock():
    """The real clock: nothing here reads the date, and the servers, workers and commands
    started here as processes could not share a travelled one."""
    return None


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def resolved(compose) -> dict:
    return interpolate(compose, SAMPLE_ENV)


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not pending and not stripped):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        keyword, _, arguments = pending.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "Dockerfile ends in a continuation line"
    return instructions


def dockerfile_env() -> dict[str, str]:
    env = {}
    for keyword, arguments in dockerfile_instructions():
        if keyword == "ENV":
            for token in shlex.split(arguments):
                name, _, value = token.partition("=")
                env[name] = value
    return env


def dockerfile_cmd() -> list[str]:
    commands = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "CMD"]
    assert len(commands) == 1, "the Dockerfile needs exactly one CMD"
    cmd = json.loads(commands[0])  # exec form: no shell between Docker and gunicorn
    assert isinstance(cmd, list) and all(isinstance(arg, str) for arg in cmd)
    return cmd


def option_value(argv: list[str], *names: str) -> str | None:
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                return argv[index + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def command_argv(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def healthcheck_argv(service: dict) -> tuple[str, list[str]]:
    """("CMD", argv) or ("CMD-SHELL", [shell string])."""
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return "CMD-SHELL", [test]
    return test[0], list(test[1:])


def named_volume_mounts(service: dict) -> dict[str, str]:
    """target -> volume name, for the named volumes (not bind mounts) of a service."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            target = rest.split(":")[0]
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        else:
            source, target, kind = volume.get("source"), volume["target"], volume["type"]
        if kind == "volume" and source:
            mounts[target] = source
    return mounts


# --- Helpers: processes -------------------------------------------------------------------

_SETTINGS_SOURCE = (ROOT / "deliberation" / "settings.py").read_text(encoding="utf-8")
SETTINGS_ENV_NAMES = set(
    re.findall(
        r"""(?:os\.environ\.get|env_bool|env_list)\(\s*["']([A-Z0-9_]+)["']""", _SETTINGS_SOURCE
    )
) | {"DJANGO_SETTINGS_MODULE", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "PYTHONPATH"}


def production_env(var_dir: Path, **overrides: str | None) -> dict[str, str]:
    """The environment of a production container, on the embedded SQLite default.

    Nothing this shell (or pytest-django, which sets DEBUG=1 and the test settings)
    put in os.environ for the settings survives.
    """
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_ENV_NAMES}
    env.update(
        DJANGO_SETTINGS_MODULE="deliberation.settings",
        PYTHONPATH=str(ROOT),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="yishi.example.org",
        YISHI_VAR_DIR=str(var_dir),
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(argv: list[str], env: dict[str, str], timeout: float = 120, **kwargs):
    return subprocess.run(
        argv,
        env=env,
        cwd=kwargs.pop("cwd", ROOT),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Background:
    """Processes this test started, stopped (by their own pid) however the test ends."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = ROOT):
        with open(self.directory / f"{name}.log", "wb") as log:
            process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append((name, process))
        return process

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")

    def stop(self):
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _name, process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def background(tmp_path) -> Iterator[Background]:
    processes = Background(tmp_path)
    yield processes
    processes.stop()


def wait_until(predicate, timeout: float, what: str, diagnostics=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}\n{diagnostics()}")


# --- The compose file: schema -------------------------------------------------------------


def test_compose_schema_is_the_unmodified_upstream_file():
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_has_no_obsolete_version_key(compose):
    assert "version" not in compose


# docker-compose 1.29.2 validated this schema with Draft4Validator; it uses only keywords
# that mean the same in draft 4 and draft 7 ("$schema" in the file says 2019-09, a URI
# jsonschema does not know, hence the explicit validator classes).
VALIDATORS = [jsonschema.Draft4Validator, jsonschema.Draft7Validator]

_DURATION = re.compile(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")
_PORTS = re.compile(
    r"((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(/(tcp|udp|sctp))?"
)


def seconds(duration: str) -> float:
    """A compose duration ("1m30s") in seconds."""
    assert _DURATION.fullmatch(duration), duration
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    return sum(
        float(number) * units[unit]
        for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", duration)
    )


def compose_format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()
    checker.checks("duration")(
        lambda value: not isinstance(value, str) or bool(_DURATION.fullmatch(value))
    )
    checker.checks("ports")(
        lambda value: isinstance(value, int) or bool(_PORTS.fullmatch(str(value)))
    )
    return checker


@pytest.mark.parametrize("validator_class", VALIDATORS, ids=lambda cls: cls.__name__)
def test_compose_file_validates_against_compose_spec(compose, resolved, schema, validator_class):
    validator_class.check_schema(schema)
    as_written = [e.message for e in validator_class(schema).iter_errors(compose)]
    assert as_written == []
    # After interpolation, as Compose sees it, with the value formats checked too.
    validator = validator_class(schema, format_checker=compose_format_checker())
    assert [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(resolved)] == []


@pytest.mark.parametrize("validator_class", VALIDATORS, ids=lambda cls: cls.__name__)
def test_compose_schema_validation_is_not_vacuous(compose, schema, validator_class):
    for mutate in (
        lambda c: c["services"]["web"]["healthcheck"].update(not_a_key=1),
        lambda c: c["services"]["migrate"].update(restart=False),  # unquoted `no`
        lambda c: c["services"]["web"]["depends_on"]["redis"].update(condition="ready"),
        lambda c: c.update(not_a_section={}),
    ):
        broken = copy.deepcopy(compose)
        mutate(broken)
        assert list(validator_class(schema).iter_errors(broken)), mutate

    broken = copy.deepcopy(compose)
    broken["services"]["web"]["healthcheck"]["interval"] = "30 seconds"
    validator = validator_class(schema, format_checker=compose_format_checker())
    assert list(validator.iter_errors(broken))


# --- The compose file: services -----------------------------------------------------------


def test_compose_has_the_services(services):
    assert set(services) >= {"proxy", "web", "worker", "beat", "postgres", "redis", "seaweedfs"}


def test_long_running_services_have_healthchecks(services):
    for name in LONG_RUNNING:
        service = services[name]
        assert service.get("restart", "no") != "no", f"{name} must be restarted"
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), name
        kind, argv = healthcheck_argv(service)
        assert kind in ("CMD", "CMD-SHELL") and argv and all(argv), name
    # Nothing else runs forever unwatched.
    for name, service in services.items():
        if service.get("restart", "no") != "no":
            assert "healthcheck" in service, f"{name} runs forever without a healthcheck"


def test_stateful_services_keep_their_data_on_declared_named_volumes(compose, services):
    declared = set(compose.get("volumes") or {})
    expected = {
        "postgres": "/var/lib/postgresql/data",
        "redis": "/data",
        "seaweedfs": "/data",
        "beat": str(
            PurePosixPath(option_value(command_argv(services["beat"]), "--schedule", "-s")).parent
        ),
        "web": dockerfile_env()["MEDIA_ROOT"],
        "worker": dockerfile_env()["MEDIA_ROOT"],
    }
    for name, target in expected.items():
        mounts = named_volume_mounts(services[name])
        assert target in mounts, f"{name} keeps {target} on no named volume"
        assert mounts[target] in declared, f"volume {mounts[target]} is not declared at top level"
    assert services["web"]["volumes"] == services["worker"]["volumes"], "media differs"


def test_app_services_wait_for_healthy_postgres_and_redis(services):
    for name in WAITING_FOR_BACKENDS:
        depends_on = services[name]["depends_on"]
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for backend in ("postgres", "redis", "seaweedfs"):
            assert depends_on[backend]["condition"] == "service_healthy", (name, backend)


def test_migrations_run_before_the_app_starts(services):
    migrate = services["migrate"]
    assert command_argv(migrate) == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["restart"] == "no"  # one-shot: a restart loop would hide a failure
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in WAITING_FOR_BACKENDS:
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_app_services_run_the_one_image_built_here(resolved):
    images = {resolved["services"][name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    for name in APP_SERVICES:
        build = resolved["services"][name]["build"]
        context = build if isinstance(build, str) else build["context"]
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert (ROOT / context / dockerfile).resolve() == DOCKERFILE, name


def redis_server_options(argv: list[str]) -> dict[str, str]:
    assert argv[0] == "redis-server"
    options, args = {}, argv[1:]
    while args:
        key = args.pop(0)
        assert key.startswith("--"), argv
        options[key[2:]] = args.pop(0)
    return options


def test_redis_persists_and_never_evicts(services):
    options = redis_server_options(command_argv(services["redis"]))
    assert options["appendonly"] == "yes"
    assert options["maxmemory-policy"] == "noeviction"
    assert services["redis"]["image"].partition(":")[2].split(".")[0] == "7"
    assert services["postgres"]["image"].partition(":")[2].split(".")[0] == "16"


def test_every_variable_has_a_default_or_an_error(compose):
    found = {}
    for path, text in strings(compose):
        for name, op, arg in references(text):
            assert op in (":-", "-", ":?", "?"), (
                f"{path}: ${name} has neither a default nor an error: {text!r}"
            )
            found.setdefault(name, set()).add(op)
            if op in (":?", "?"):
                assert arg.strip(), f"{path}: ${{{name}{op}}} says nothing about what to set"
            # No silently empty secret: unset and empty are both refused.
            if re.search(r"SECRET|PASSWORD|TOKEN|KEY", name):
                assert op == ":?", f"{path}: {name} must be ${{{name}:?...}}"
    assert found["SECRET_KEY"] == {":?"}
    assert found["POSTGRES_PASSWORD"] == {":?"}
    assert found["ALLOWED_HOSTS"] == {":?"}  # empty would answer every request with 400


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "POSTGRES_PASSWORD",
        "ALLOWED_HOSTS",
        "S3_ACCESS_KEY_ID",
        "S3_SECRET_ACCESS_KEY",
    ],
)
def test_compose_refuses_to_run_without_the_required_variables(compose, missing):
    for value in (None, ""):
        env = dict(SAMPLE_ENV)
        if value is None:
            del env[missing]
        else:
            env[missing] = value
        with pytest.raises(MissingVariable, match=missing):
            interpolate(compose, env)


def test_app_services_get_the_production_environment(resolved):
    services = resolved["services"]
    environments = [services[name]["environment"] for name in APP_SERVICES]
    for env in environments:
        assert env["DEBUG"] == "0"
        assert env["SECRET_KEY"] == SAMPLE_ENV["SECRET_KEY"]
        assert env["ALLOWED_HOSTS"] == SAMPLE_ENV["ALLOWED_HOSTS"]
        assert "CSRF_TRUSTED_ORIGINS" in env
        for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"):
            assert env[key] == environments[0][key], "app services disagree on " + key

        # A misspelt name would be passed to a container that never reads it.
        unknown = set(env) - SETTINGS_ENV_NAMES
        assert not unknown, f"settings read no such variable: {sorted(unknown)}"

    database = dj_database_url.parse(environments[0]["DATABASE_URL"])
    postgres = services["postgres"]["environment"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["HOST"] == "postgres" and database["HOST"] in services
    assert int(database["PORT"]) == 5432
    assert database["NAME"] == postgres["POSTGRES_DB"]
    assert database["USER"] == postgres["POSTGRES_USER"]
    assert database["PASSWORD"] == postgres["POSTGRES_PASSWORD"] == SAMPLE_ENV["POSTGRES_PASSWORD"]

    redis_url = urllib.parse.urlsplit(environments[0]["REDIS_URL"])
    assert redis_url.scheme == "redis"
    assert redis_url.hostname == "redis" and redis_url.hostname in services
    assert (redis_url.port or 6379) == 6379


def test_web_port_and_healthcheck_match_gunicorn(services):
    bind = option_value(dockerfile_cmd(), "--bind", "-b")
    host, _, port = bind.rpartition(":")
    assert host == "0.0.0.0"  # reachable from the proxy on the "front" network
    _kind, argv = healthcheck_argv(services["web"])
    assert f"http://127.0.0.1:{port}/health/" in " ".join(argv)


def test_web_scales_behind_the_proxy_and_beat_stays_one(compose, resolved):
    web = compose["services"]["web"]
    # Several web containers: no fixed name and no host port for them to fight over.
    assert "container_name" not in web and not web.get("ports")
    assert "web:8000" in (ROOT / "deploy" / "nginx.conf").read_text()
    assert "beat" in compose["services"] and "deploy" not in compose["services"]["beat"]
    for name in APP_SERVICES:
        env = resolved["services"][name]["environment"]
        assert env["S3_ENDPOINT_URL"] == "http://seaweedfs:8333", name
        assert env["S3_BUCKET"] == "yishi", name
        assert env["S3_ACCESS_KEY_ID"] == SAMPLE_ENV["S3_ACCESS_KEY_ID"], name
    store = resolved["services"]["seaweedfs"]
    assert store["image"].startswith("chrislusf/seaweedfs:")
    assert command_argv(store)[:2] == ["server", "-s3"]
    assert store["environment"]["AWS_SECRET_ACCESS_KEY"] == SAMPLE_ENV["S3_SECRET_ACCESS_KEY"]
    assert not store.get("ports"), "the object store is reached by the app only"


# --- The Dockerfile -----------------------------------------------------------------------


def test_dockerfile_installs_the_locked_dependencies_with_uv():
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "FROM"
    assert re.fullmatch(r"python:3\.11-slim(@sha256:[0-9a-f]{64})?", instructions[0][1])
    assert [i for i in instructions if i[0] == "FROM"] == [instructions[0]]

    def index(predicate) -> int:
        matches = [n for n, instruction in enumerate(instructions) if predicate(*instruction)]
        assert matches, predicate
        return matches[0]

    pip_uv = index(lambda k, a: k == "RUN" and re.search(r"\bpip install uv\b", a))
    copy_lock = index(
        lambda k, a: k == "COPY" and {"pyproject.toml", "uv.lock"} <= set(a.split()[:-1])
    )
    sync = index(lambda k, a: k == "RUN" and "uv sync" in a)
    copy_all = index(lambda k, a: k == "COPY" and a.split()[0] == ".")
    assert pip_uv < sync and copy_lock < sync < copy_all
    sync_args = shlex.split(instructions[sync][1])
    assert "--locked" in sync_args and "--no-dev" in sync_args
    # The virtualenv uv creates must be the one on PATH for gunicorn and celery.
    env = dockerfile_env()
    assert env["PATH"].split(":")[0] == f"{env['UV_PROJECT_ENVIRONMENT']}/bin"


def test_dockerfile_secret_key_is_build_only():
    instructions = dockerfile_instructions()
    for keyword, arguments in instructions:
        if keyword in ("ENV", "ARG"):
            assert "SECRET_KEY" not in arguments, "a SECRET_KEY baked into the image"
    assert dockerfile_env().get("DEBUG", "0") == "0"
    (collectstatic,) = [a for k, a in instructions if k == "RUN" and "collectstatic" in a]
    inline = dict(
        token.split("=", 1) for token in shlex.split(collectstatic.split("&&")[0]) if "=" in token
    )
    assert inline["DEBUG"] == "0", "collectstatic must build the manifest that DEBUG=0 serves"
    assert inline["SECRET_KEY"]


def test_dockerfile_runs_as_an_unprivileged_user_on_port_8000():
    instructions = dockerfile_instructions()
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users, "the image runs as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert ("EXPOSE", "8000") in instructions
    assert not [i for i in instructions if i[0] == "ENTRYPOINT"]  # compose `command:` replaces CMD


def test_dockerfile_prepares_the_volume_mount_points_for_its_user(services):
    """An empty named volume copies the ownership of the image directory it mounts on."""
    user = [a for k, a in dockerfile_instructions() if k == "USER"][-1].split(":")[0]
    owned = set()
    for keyword, arguments in dockerfile_instructions():
        if keyword != "RUN":
            continue
        for step in re.split(r"&&|;", arguments):
            argv = shlex.split(step)
            if argv[:1] == ["chown"]:
                operands = [arg for arg in argv[1:] if not arg.startswith("-")]
                if operands and operands[0].split(":")[0] == user:
                    owned.update(operands[1:])
    for name in APP_SERVICES:
        for target in named_volume_mounts(services[name]):
            assert target in owned, f"{name}: {target} is not the app user's"
    assert dockerfile_env()["YISHI_VAR_DIR"] in owned  # settings mkdir it on import


def test_dockerfile_cmd_serves_the_wsgi_application_on_port_8000():
    cmd = dockerfile_cmd()
    assert cmd[0] == "gunicorn"
    assert "deliberation.wsgi:application" in cmd
    assert option_value(cmd, "--bind", "-b") == "0.0.0.0:8000"


def test_collectstatic_as_in_the_image_build(tmp_path):
    (collectstatic,) = [
        a for k, a in dockerfile_instructions() if k == "RUN" and "collectstatic" in a
    ]
    tokens = shlex.split(collectstatic.split("&&")[0])
    inline = dict(token.split("=", 1) for token in tokens if re.fullmatch(r"[A-Z_]+=.*", token))
    argv = [token for token in tokens if not re.fullmatch(r"[A-Z_]+=.*", token)]
    assert argv[:3] == ["python", "manage.py", "collectstatic"]

    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV_NAMES}
    env.update(dockerfile_env())
    env.update(inline)
    env.update(
        PATH=os.environ["PATH"],
        YISHI_VAR_DIR=str(tmp_path / "build-var"),
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    result = run([sys.executable, *argv[1:]], env)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    for source in (ROOT / "static").rglob("*"):
        if source.is_file():
            name = source.relative_to(ROOT / "static").as_posix()
            assert name in manifest["paths"], name


def dockerignore_excludes(path: str) -> bool:
    excluded = False
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        candidates = [pattern]
        if pattern.startswith("**/"):
            candidates.append(pattern[3:])
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if any(fnmatch.fnmatchcase(prefix, c) for c in candidates for prefix in prefixes) or any(
            pattern.startswith("**/") and fnmatch.fnmatchcase(part, pattern[3:]) for part in parts
        ):
            excluded = not negate
    return excluded


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    for path in (
        ".git",
        ".env",
        ".env.production",
        ".venv",
        "var",
        "var/yishi.sqlite3",
        "control",
        "test-artefacts",
        "members/__pycache__/models.cpython-311.pyc",
    ):
        assert dockerignore_excludes(path), path
    for path in (
        "pyproject.toml",
        "uv.lock",
        "manage.py",
        "deliberation/wsgi.py",
        "deliberation/settings.py",
        "members/models.py",
        "issues",
        "static/css/yishi.css",
        "templates",
        "locale/zh_Hans/LC_MESSAGES/django.mo",
    ):
        assert not dockerignore_excludes(path), path


# --- Entry points: what the image and the compose file start exists -----------------------


def test_entry_point_modules_exist(services):
    target = next(arg for arg in dockerfile_cmd() if ":" in arg and "." in arg)
    module, _, attribute = target.partition(":")
    assert (module, attribute) == ("deliberation.wsgi", "application")
    assert importlib.util.find_spec(module) is not None
    for name in ("worker", "beat"):
        argv = command_argv(services[name])
        assert argv[:4] == ["celery", "-A", "deliberation", name]
    assert importlib.util.find_spec("deliberation.celery") is not None
    assert (ROOT / "manage.py").is_file()


def test_entry_points_load_with_production_settings(tmp_path):
    """What gunicorn imports and what ``celery -A deliberation`` finds, in a fresh process."""
    script = """if True:
        import json
        import deliberation.wsgi
        from celery.app.utils import find_app
        assert callable(deliberation.wsgi.application)
        app = find_app("deliberation")
        app.loader.import_default_modules()
        import gc
        print(json.dumps({
            "frozen": gc.get_freeze_count(),
            "main": app.main,
            "tasks": sorted(app.tasks),
            "beat": sorted(entry["task"] for entry in app.conf.beat_schedule.values()),
        }))
    """
    result = run([sys.executable, "-c", script], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["main"] == "deliberation"
    # The worker set aside what it loaded to start: full collections do not walk it.
    assert loaded["frozen"] > 10_000
    assert loaded["beat"], "beat has nothing to schedule"
    for task in loaded["beat"]:
        assert task in loaded["tasks"], f"beat schedules {task}, which no module defines"


def celery_argv_problems(argv: list[str]) -> list[str]:
    """Options that the installed celery's command line does not know."""
    from celery.bin.celery import celery as celery_cli

    def known(command) -> set[str]:
        return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}

    assert argv[:3] == ["celery", "-A", "deliberation"], argv
    command = celery_cli.commands.get(argv[3])
    if command is None:
        return [f"no such celery command {argv[3]!r}"]
    problems = [
        arg for arg in argv[4:] if arg.startswith("-") and arg.split("=")[0] not in known(command)
    ]
    if argv[3] == "inspect":
        from celery.app.control import Inspect

        positional = [a for a in argv[4:] if not a.startswith("-")]
        if not hasattr(Inspect, positional[0]):
            problems.append(f"no inspect command {positional[0]!r}")
    return problems


def test_the_worker_consumes_the_sweepers_queue_beside_the_deliveries(services):
    """Beat's sweepers go to "<default queue>.sweep" (common.queue.route_sweepers): a worker
    that did not consume it would never run them."""
    from common.queue import worker_queues

    environment = services["worker"]["environment"]
    assert "CELERY_QUEUE" not in environment  # so the default queue is settings' default
    argv = command_argv(services["worker"])
    assert option_value(argv, "-Q", "--queues") == worker_queues("yishi")
    assert "worker -Q " + worker_queues("yishi") in DOCKERFILE.read_text()


def test_celery_commands_use_options_celery_has(services):
    for name in ("worker", "beat"):
        assert celery_argv_problems(command_argv(services[name])) == [], name
        kind, argv = healthcheck_argv(services[name])
        assert kind == "CMD-SHELL"
        assert celery_argv_problems(shlex.split(argv[0])) == [], name


# --- Live: the health checks against the real processes -----------------------------------


def web_healthcheck(services, port: int, env: dict[str, str]) -> subprocess.CompletedProcess:
    kind, argv = healthcheck_argv(services["web"])
    assert kind == "CMD" and argv[:2] == ["python", "-c"]
    script = interpolate_text(argv[2], {})
    assert "127.0.0.1:8000" in script
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    return run([sys.executable, "-c", script], env, timeout=30)


def test_web_healthcheck_passes_against_gunicorn_with_production_settings(
    services, tmp_path, background
):
    port = free_port()
    # gunicorn's control socket goes to $XDG_RUNTIME_DIR, else ~/.gunicorn: keep it private.
    (tmp_path / "run").mkdir(mode=0o700)
    env = production_env(tmp_path / "var", XDG_RUNTIME_DIR=str(tmp_path / "run"))
    cmd = dockerfile_cmd()
    bind = cmd.index("--bind")
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        *cmd[1 : bind + 1],
        f"127.0.0.1:{port}",
        *cmd[bind + 2 :],
    ]
    server = background.start("gunicorn", argv, env)

    def listening() -> bool:
        assert server.poll() is None, background.log("gunicorn")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, 30, "gunicorn", lambda: background.log("gunicorn"))

    # As Docker counts it: a check that fails while the worker is still starting, within
    # the start period, does not count; one that fails after it does.
    settle = time.monotonic() + seconds(services["web"]["healthcheck"]["start_period"])
    result = web_healthcheck(services, port, env)
    while result.returncode != 0 and time.monotonic() < settle:
        time.sleep(1)
        result = web_healthcheck(services, port, env)
    assert result.returncode == 0, result.stderr + background.log("gunicorn")

    # Why the check sends X-Forwarded-Proto: without it, production settings redirect.
    plain = urllib.request.Request(
        f"http://127.0.0.1:{port}/health/", headers={"Host": "yishi.example.org"}
    )
    no_redirects = urllib.request.build_opener(
        type(
            "NoRedirect",
            (urllib.request.HTTPRedirectHandler,),
            {"redirect_request": lambda *args, **kwargs: None},
        )
    )
    with pytest.raises(urllib.error.HTTPError) as redirect:
        no_redirects.open(plain, timeout=5)
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"] == "https://yishi.example.org/health/"

    # And why it sends a Host from ALLOWED_HOSTS: a failing app fails the check.
    wrong_host = web_healthcheck(services, port, {**env, "ALLOWED_HOSTS": "elsewhere.example.org"})
    assert wrong_host.returncode != 0
    assert "400" in wrong_host.stderr

    background.stop()
    assert web_healthcheck(services, port, env).returncode != 0  # nothing listening


@pytest.mark.worker
def test_redis_worker_and_beat_healthchecks_pass_against_the_real_processes(
    services, tmp_path, background
):
    assert shutil.which("redis-server") and shutil.which("redis-cli"), (
        "this test runs the compose file's Redis command: install redis-server"
    )
    port = free_port()
    redis_argv = command_argv(services["redis"])
    background.start(
        "redis",
        [
            *redis_argv,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_path),
            "--save",
            "",
        ],
        os.environ.copy(),
    )

    def shell_check(name: str, env: dict[str, str], **replace: str) -> subprocess.CompletedProcess:
        kind, argv = healthcheck_argv(services[name])
        assert kind == "CMD-SHELL"
        command = interpolate_text(argv[0], {})  # $$HOSTNAME -> $HOSTNAME, for the shell
        for old, new in replace.items():
            assert old in command
            command = command.replace(old, new)
        return run(["/bin/sh", "-c", command], env, timeout=60)

    redis_cli = {"redis-cli": f"redis-cli -p {port}"}
    wait_until(
        lambda: shell_check("redis", os.environ.copy(), **redis_cli).returncode == 0,
        30,
        "redis healthcheck",
        lambda: background.log("redis"),
    )
    for option, value in redis_server_options(redis_argv).items():
        result = run(["redis-cli", "-p", str(port), "config", "get", option], os.environ.copy())
        assert result.stdout.split() == [option, value]

    hostname = socket.gethostname()  # what Docker puts in $HOSTNAME: the container's name
    env = production_env(
        tmp_path / "var", REDIS_URL=f"redis://127.0.0.1:{port}/0", HOSTNAME=hostname
    )
    # As in compose: the worker and beat start once `migrate` has completed.
    migrate = command_argv(services["migrate"])
    migrated = run([sys.executable, *migrate[1:]], env)
    assert migrated.returncode == 0, migrated.stderr

    celery = [sys.executable, "-m", "celery"]
    worker = command_argv(services["worker"])
    background.start("worker", [*celery, *interpolate(worker, {})[1:]], env, cwd=tmp_path)
    beat = interpolate(command_argv(services["beat"]), {})
    schedule = option_value(beat, "--schedule")
    beat[beat.index(schedule)] = str(tmp_path / "beat" / PurePosixPath(schedule).name)
    (tmp_path / "beat").mkdir()
    background.start("beat", [*celery, *beat[1:]], env, cwd=tmp_path)

    celery_cmd = {"celery -A": f"{shlex.quote(sys.executable)} -m celery -A"}
    # Only to save time: a check sent before the node listens waits out its --timeout.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        " ready." in background.log("worker") and "pidbox: Connected" in background.log("beat")
    ):
        time.sleep(0.2)
    for name in ("worker", "beat"):
        wait_until(
            lambda name=name: shell_check(name, env, **celery_cmd).returncode == 0,
            90,
            f"{name} healthcheck",
            lambda name=name: background.log(name),
        )
    assert list((tmp_path / "beat").glob(PurePosixPath(schedule).name + "*")), "no schedule file"

    # A node that is not there does not answer: the check's exit status means something.
    started = time.monotonic()
    silent = shell_check("worker", {**env, "HOSTNAME": "no-such-host"}, **celery_cmd)
    assert silent.returncode != 0
    # Within the healthcheck's own timeout, after which Docker would kill the probe.
    assert time.monotonic() - started < seconds(services["worker"]["healthcheck"]["timeout"])

    # The worker consumes the queue the app sends to: each task beat schedules runs.
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        sent = run([*celery, "-A", "deliberation", "call", entry["task"]], env, cwd=tmp_path)
        assert sent.returncode == 0, sent.stderr
        task_id = sent.stdout.strip().splitlines()[-1]
        wait_until(
            lambda task_id=task_id: f"[{task_id}] succeeded" in background.log("worker"),
            30,
            f"{entry['task']} to run on the worker",
            lambda: background.log("worker"),
        )


# --- Django: the production settings ------------------------------------------------------


def test_check_deploy_reports_no_issues(tmp_path):
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("secret_key", [None, ""], ids=["unset", "empty"])
def test_production_settings_refuse_to_start_without_secret_key(tmp_path, secret_key):
    result = run(
        [sys.executable, "manage.py", "check"], production_env(tmp_path, SECRET_KEY=secret_key)
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# --- The reverse proxy (deploy/nginx.conf) ------------------------------------------------

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_test_config(tmp_path: Path, **replace: str) -> Path:
    """deploy/nginx.conf with a self-signed certificate and an upstream this machine resolves."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(tmp_path / "privkey.pem"),
         "-out", str(tmp_path / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    text = NGINX_CONF.read_text()
    text = text.replace("/etc/nginx/certs/", f"{tmp_path}/")
    text = text.replace("server web:8000;", "server 127.0.0.1:8000;")
    text = text.replace("pid /tmp/nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    text = text.replace("/tmp/nginx-static", f"{tmp_path}/static-cache")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    config = tmp_path / "nginx.conf"
    config.write_text(text)
    return config


def nginx_problems(config: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-t", "-c", str(config), "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is installed by .ci/run")
def test_nginx_accepts_the_proxy_config(tmp_path):
    checked = nginx_problems(nginx_test_config(tmp_path), tmp_path)
    assert checked.returncode == 0, checked.stderr
    # The check is not vacuous: a broken directive fails it.
    broken = nginx_test_config(tmp_path, **{"gzip on;": "gzip sideways;"})
    assert nginx_problems(broken, tmp_path).returncode != 0


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, **headers: str) -> tuple[int, object, bytes]:
    """One GET, redirects not followed, the body as sent (urllib does not decompress)."""
    import ssl

    opener = urllib.request.build_opener(
        NoRedirects, urllib.request.HTTPSHandler(context=ssl._create_unverified_context())
    )
    request = urllib.request.Request(url, headers={"Host": "localhost", **headers})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers, refused.read()


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is installed by .ci/run")
def test_a_signed_in_html_page_comes_through_the_proxy_compressed(
    tmp_path, background, live_server, manan_staff
):
    """deploy/nginx.conf in front of the app (the live test server): a staff member's inbox,
    HTML with a CSRF token and personal data, is sent gzip-compressed, with ``Vary:
    Accept-Encoding`` for caches. The app itself leaves compression to the proxy."""
    import gzip

    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(manan_staff)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    app = urllib.parse.urlsplit(live_server.url)
    https_port, http_port = free_port(), free_port()
    temp = tmp_path / "temp"
    temp.mkdir()
    # Where an unprivileged nginx may write: its temporary files and its log, in tmp_path.
    writable = "".join(
        f"\n    {kind}_temp_path {temp}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = nginx_test_config(
        tmp_path,
        **{
            "server 127.0.0.1:8000;": f"server {app.hostname}:{app.port};",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen [::]:80;": "",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
            "listen [::]:443 ssl http2;": "",
            "sendfile on;": f"sendfile on;\n    access_log {tmp_path}/access.log;{writable}",
        },
    )
    proxy = background.start(
        "nginx",
        [NGINX, "-c", str(config), "-e", str(tmp_path / "error.log"), "-g", "daemon off;"],
        dict(os.environ),
    )

    def listening() -> bool:
        assert proxy.poll() is None, background.log("nginx") + (tmp_path / "error.log").read_text()
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", https_port)) == 0

    wait_until(listening, 30, "nginx", lambda: background.log("nginx"))
    inbox = reverse("issues:inbox")

    status, headers, body = fetch(
        f"https://127.0.0.1:{https_port}{inbox}", Cookie=cookie, **{"Accept-Encoding": "gzip"}
    )
    assert status == 200, body[:500]  # the inbox itself, not a redirect to the login page
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" in headers["Vary"].lower()
    page = gzip.decompress(body).decode()
    assert "csrfmiddlewaretoken" in page or "X-CSRFToken" in page
    assert "</html>" in page and len(body) < len(page.encode()) / 2

    # A client that does not accept gzip gets the page as it is.
    status, headers, plain = fetch(f"https://127.0.0.1:{https_port}{inbox}", Cookie=cookie)
    assert status == 200 and headers["Content-Encoding"] is None
    # (The same page, but for the CSRF token: Django masks it afresh on every response.)
    assert plain.decode().endswith(page[-100:]) and len(plain) > len(body)

    # The app's own answer is not compressed: the proxy does it (see deploy/nginx.conf).
    status, headers, _direct = fetch(
        f"{live_server.url}{inbox}", Cookie=cookie, **{"Accept-Encoding": "gzip"}
    )
    assert status == 200 and headers["Content-Encoding"] is None


def nginx_directives(text: str) -> list[str]:
    lines = (line.split("#")[0].strip() for line in text.splitlines())
    return [" ".join(line.split()) for line in lines if line]


def test_proxy_overwrites_forwarded_headers_and_caps_bodies():
    directives = nginx_directives(NGINX_CONF.read_text())
    # Overwritten with the connecting address, never appended to what the client sent.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in directives
    assert not any("$proxy_add_x_forwarded_for" in line for line in directives)
    assert "proxy_set_header X-Forwarded-Proto https;" in directives
    assert f"client_max_body_size {settings.YISHI_MAX_REQUEST_BYTES // (1024 * 1024)}m;" in (
        directives
    )
    assert "gzip on;" in directives
    gzip_types = next(line for line in directives if line.startswith("gzip_types "))
    assert "text/css" in gzip_types and "application/javascript" in gzip_types
    assert "ssl_certificate /etc/nginx/certs/fullchain.pem;" in directives
    assert any("max-age=31536000" in line for line in directives)
    assert "server web:8000;" in directives


def test_proxy_service_fronts_web_and_web_trusts_only_it(services, compose):
    proxy, web = services["proxy"], services["web"]
    assert proxy["image"].startswith("nginx:1.27")
    mounts = [str(volume) for volume in proxy["volumes"]]
    assert any(m.startswith("./deploy/nginx.conf:/etc/nginx/nginx.conf") for m in mounts)
    assert any(m.endswith(":/etc/nginx/certs:ro") for m in mounts)
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    address = proxy["networks"]["front"]["ipv4_address"]
    trusted = web["environment"]["YISHI_TRUSTED_PROXIES"]
    assert trusted == f"{address}/32"
    assert "front" in web["networks"]
    subnet = compose["networks"]["front"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)
