"""docker-compose.yml, .env.example, the Dockerfile and .dockerignore agree with the app.

There is no Docker engine here: the files are parsed and checked against the
application's own configuration and command line. ``test_stack.py`` then runs the
commands of the compose file, with the values of .env.example, as real processes.
"""

from __future__ import annotations

import itertools
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from afisha_obstore import ObstoreStorage
from afisha_server.cli import _parser as afisha_command_line
from afisha_server.config import ServerConfig
from afisha_smtp import parse_smtp_url
from tests.deploy.project_files import (
    AFISHA_VARIABLE,
    COMPOSE_FILE,
    DOCKERFILE,
    DOCKERIGNORE,
    ENV_EXAMPLE,
    ROOT,
    compose,
    read_env_file,
    variables_read_by_the_app,
)

APP_SERVICES = ("migrate", "api", "worker")
COMMANDS = {
    "migrate": ["afisha", "migrate"],
    "api": ["afisha", "serve", "--host", "0.0.0.0", "--no-scheduler"],  # noqa: S104 - in a container
    "worker": ["afisha", "worker"],
}
BACKING_SERVICES = ("postgres", "redis", "minio", "mailpit")
ONE_SHOT = ("migrate", "createbuckets")
CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
INTERPOLATION = re.compile(r"^\$\{([A-Z_]+):-(.*)\}$", re.S)


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    return compose()


@pytest.fixture(scope="module")
def services(stack: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = stack["services"]
    return found


@pytest.fixture(scope="module")
def example() -> dict[str, str]:
    return read_env_file()


def command_of(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {str(name): str(value) for name, value in environment.items()}


def test_the_stack_has_the_app_and_every_backing_service(services: dict[str, Any]) -> None:
    assert set(services) == {*APP_SERVICES, *BACKING_SERVICES, "createbuckets", "proxy"}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_their_afisha_command(services: dict[str, Any], name: str) -> None:
    command = command_of(services[name])

    assert command == COMMANDS[name]
    afisha_command_line().parse_args(command[1:])  # the real CLI accepts it as written


def test_app_services_share_one_image_built_from_the_dockerfile(
    services: dict[str, Any],
) -> None:
    images = {services[name]["image"] for name in APP_SERVICES}
    contexts = {services[name]["build"]["context"] for name in APP_SERVICES}

    assert len(images) == 1
    assert contexts == {"."}
    assert DOCKERFILE.is_file()


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name in (*BACKING_SERVICES, "api", "worker", "proxy"):
        check = services[name].get("healthcheck")
        assert check, name
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert "disable" not in check, name


def test_the_api_healthcheck_asks_for_readiness_with_python(services: dict[str, Any]) -> None:
    test = services["api"]["healthcheck"]["test"]
    joined = " ".join(test)

    assert test[:3] == ["CMD", "python", "-c"]  # the image has Python, not curl
    assert "urllib.request.urlopen" in joined
    assert "http://127.0.0.1:8080/readyz" in joined
    compile(test[3], "healthcheck", "exec")  # the one-liner is valid Python


def test_the_migration_runs_once_the_database_is_healthy(services: dict[str, Any]) -> None:
    migrate = services["migrate"]

    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    assert "ports" not in migrate
    assert "healthcheck" not in migrate


@pytest.mark.parametrize("name", ["api", "worker"])
def test_api_and_worker_wait_for_the_migration_and_every_service(
    services: dict[str, Any], name: str
) -> None:
    depends_on = services[name]["depends_on"]

    assert depends_on["migrate"] == {"condition": "service_completed_successfully"}
    assert depends_on["createbuckets"] == {"condition": "service_completed_successfully"}
    for backing in BACKING_SERVICES:
        assert depends_on[backing] == {"condition": "service_healthy"}, backing


def test_the_bucket_is_created_once_minio_is_healthy(services: dict[str, Any]) -> None:
    createbuckets = services["createbuckets"]
    script = " ".join(createbuckets["entrypoint"])

    assert createbuckets["image"].startswith("minio/mc")
    assert createbuckets["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert "mc mb --ignore-existing" in script
    assert "mc anonymous set download" in script  # image_url points straight at it


def test_the_worker_gets_time_to_finish_its_tick(services: dict[str, Any]) -> None:
    grace = services["worker"]["stop_grace_period"]

    # Worker.shutdown waits up to 30 s for the ticks in hand; Docker's default is 10 s.
    assert re.fullmatch(r"(\d+)s", grace)
    assert int(grace[:-1]) > 30


def test_data_lives_in_named_volumes(stack: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(stack["volumes"])
    used = set()
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert not source.startswith((".", "/", "~")), f"{name} mounts a host path"
            used.add(source)

    assert used == declared
    for name in ("postgres", "redis", "minio"):
        assert services[name].get("volumes"), name


def test_env_example_documents_exactly_the_variables_the_app_reads(
    example: dict[str, str],
) -> None:
    read = variables_read_by_the_app()
    documented = {name for name in example if name.startswith("AFISHA_")}

    assert len(read) >= 12, read  # the regex found the configuration code
    assert documented == read
    for name in CREDENTIALS:
        assert example[name], name


def test_every_documented_variable_is_explained_by_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for before, line in itertools.pairwise(lines):
        if re.match(r"[A-Z_]+=", line):
            # A comment right above, or a variable of the same group (the two AWS keys).
            assert before.startswith("#") or before.split("_")[0] == line.split("_")[0], line


def test_compose_passes_every_variable_with_the_env_example_value_as_default(
    services: dict[str, Any], example: dict[str, str]
) -> None:
    read = variables_read_by_the_app()
    for name in APP_SERVICES:
        environment = environment_of(services[name])
        passed = {key for key in environment if key.startswith("AFISHA_")}
        assert passed == read, name
        for key in (*read, *CREDENTIALS):
            match = INTERPOLATION.match(environment[key])
            assert match is not None, f"{name}: {key} is not ${{{key}:-default}}"
            assert match.group(1) == key
            assert match.group(2) == example[key], f"{name}: {key}"


def test_every_afisha_variable_in_the_compose_file_is_read_by_the_app() -> None:
    mentioned = set(AFISHA_VARIABLE.findall(COMPOSE_FILE.read_text(encoding="utf-8")))

    assert mentioned <= variables_read_by_the_app()


def test_minio_and_postgres_use_the_credentials_of_the_env_example(
    services: dict[str, Any], example: dict[str, str]
) -> None:
    minio = environment_of(services["minio"])
    postgres = environment_of(services["postgres"])
    database = urlsplit(example["AFISHA_DATABASE_URL"])

    assert minio["MINIO_ROOT_USER"] == f"${{AWS_ACCESS_KEY_ID:-{example['AWS_ACCESS_KEY_ID']}}}"
    assert minio["MINIO_ROOT_PASSWORD"] == (
        f"${{AWS_SECRET_ACCESS_KEY:-{example['AWS_SECRET_ACCESS_KEY']}}}"
    )
    assert len(example["AWS_SECRET_ACCESS_KEY"]) >= 8  # MinIO refuses shorter passwords
    assert postgres["POSTGRES_PASSWORD"] == (
        f"${{POSTGRES_PASSWORD:-{example['POSTGRES_PASSWORD']}}}"
    )
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == example["POSTGRES_PASSWORD"]
    assert database.path == "/" + postgres["POSTGRES_DB"]


def test_the_env_example_values_are_valid_and_point_at_the_compose_services(
    services: dict[str, Any], example: dict[str, str]
) -> None:
    env = {key: value for key, value in example.items() if key.startswith("AFISHA_")}
    config = ServerConfig.from_env(env)  # raises ConfigError for any bad value

    assert urlsplit(config.database_url).hostname == "postgres"
    assert config.redis_url is not None
    assert urlsplit(config.redis_url).hostname == "redis"
    assert config.smtp_url is not None
    smtp = parse_smtp_url(config.smtp_url)
    assert (smtp.host, smtp.port) == ("mailpit", 1025)

    storage = urlsplit(config.storage_url)
    query = parse_qs(storage.query)
    assert storage.scheme == "s3"
    assert query["endpoint"] == ["http://minio:9000"]
    bucket = environment_of(services["createbuckets"])["MEDIA_BUCKET"]
    assert storage.hostname == bucket
    assert query["public_url"] == [f"http://localhost:9000/{bucket}"]
    ObstoreStorage.from_url(config.storage_url, public_url=config.public_url)
    assert urlsplit(config.public_url).port == 8080


def test_only_the_proxy_publishes_the_api_and_the_api_trusts_only_it(
    stack: dict[str, Any], services: dict[str, Any]
) -> None:
    proxy = services["proxy"]
    (published,) = proxy["ports"]
    address = proxy["networks"]["default"]["ipv4_address"]

    assert str(published) == "8080:8080"
    for name in ("api", "worker", "migrate", "postgres", "redis"):
        assert "ports" not in services[name], name
    assert environment_of(services["api"])["FORWARDED_ALLOW_IPS"] == address
    for name in ("worker", "migrate"):  # nothing else is behind the proxy
        assert "FORWARDED_ALLOW_IPS" not in environment_of(services[name]), name
    (config,) = proxy["configs"]
    assert config["target"] == "/etc/nginx/conf.d/default.conf"
    nginx = (ROOT / stack["configs"][config["source"]]["file"]).read_text(encoding="utf-8")
    assert "proxy_pass $api;" in nginx
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in nginx
    assert "X-Forwarded-Proto $scheme" in nginx


def test_every_image_is_pinned_to_a_version(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = str(service["image"])
        if image == "afisha:local":
            continue
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", maxsplit=1)[-1] else ""
        assert tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image}"
        assert re.search(r"\d", tag), f"{name}: {image} names no version"


def test_the_worker_healthcheck_is_its_heartbeat(services: dict[str, Any]) -> None:
    test = services["worker"]["healthcheck"]["test"]

    assert test[:3] == ["CMD", "afisha", "worker-health"]
    afisha_command_line().parse_args(test[2:])  # a command the app knows


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    # check-jsonschema ships the Compose Specification's schema: nothing is downloaded.
    result = subprocess.run(  # noqa: S603 - a fixed command of a dev dependency
        [str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
         "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_catches_a_bad_compose_file(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  api:\n    image: x\n    restart_policy: always\n")
    result = subprocess.run(  # noqa: S603 - a fixed command of a dev dependency
        [str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
         "vendor.compose-spec", str(bad)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert "restart_policy" in result.stdout


# --- Dockerfile and .dockerignore ------------------------------------------------------


def dockerfile_stages() -> list[list[str]]:
    """The instructions of each stage (continuation lines joined)."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    stages: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
        else:
            assert line.upper().startswith("ARG "), line
    return stages


def test_the_dockerfile_builds_a_wheel_and_installs_it_in_a_slim_stage() -> None:
    build, final = dockerfile_stages()
    build_text, final_text = "\n".join(build), "\n".join(final)

    assert re.search(r"python -m build --wheel --outdir /wheels \.", build_text)
    assert re.search(r"python -m build --wheel --outdir /wheels adapters", build_text)
    assert re.search(r"pip wheel .*--only-binary=:all:", build_text)
    assert "[server]" in build_text
    assert "slim" in DOCKERFILE.read_text(encoding="utf-8").split("FROM", 1)[0]
    assert re.search(
        r"pip install --no-index --find-links=/wheels \"afisha-server\[server\]\"", final_text
    )
    assert "from=build" in final_text


def test_the_final_image_has_no_build_tools_and_runs_unprivileged() -> None:
    final = dockerfile_stages()[-1]
    final_text = "\n".join(final).lower()

    for tool in ("apt-get", "apk add", "gcc", "build-essential", "g++", "make ", "COPY . "):
        assert tool.lower() not in final_text, tool
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users, "no USER in the final stage"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert "EXPOSE 8080" in final
    cmd = next(line for line in final if line.startswith("CMD "))
    assert cmd == 'CMD ["afisha", "serve", "--host", "0.0.0.0"]'


def test_the_docker_context_leaves_out_everything_the_image_does_not_need() -> None:
    ignored = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    copied = {
        source.rstrip("/")
        for line in dockerfile_stages()[0]
        if line.startswith("COPY ") and "--from" not in line
        for source in line.split()[1:-1]
    }

    for name in (".git", ".env", "tests", "docs", "examples", "afisha-data", ".venv", ".nox"):
        assert name in ignored, name
    assert copied == {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "afisha_core",
        "adapters",
        "migrations",
    }
    assert not copied & ignored
    for name in copied:
        assert (ROOT / name).exists(), name
