"""The deployment files agree with each other and keep their promises.

Docker cannot run in CI, so docker-compose.yml is read as YAML: the Procfile (`make
stack`), the Dockerfile's CMD and compose run the same commands; every service has a
health check; the broker keeps its messages; no secret is committed; gunicorn is not
published on the host's every interface; there is exactly one beat.
"""

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# ${NAME:-default} -> default; ${NAME} and $NAME have no default and stay as they are.
EXPANSION = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}")
# A value compose must take from the environment, refusing to start without it.
REQUIRED = re.compile(r"\$\{(DJANGO_SECRET_KEY|POSTGRES_PASSWORD):\?[^}]+\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def procfile() -> dict[str, list[str]]:
    processes: dict[str, list[str]] = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            assert match.group(1) not in processes, f"{match.group(1)} twice in the Procfile"
            processes[match.group(1)] = shlex.split(EXPANSION.sub(r"\1", match.group(2)))
    return processes


def command(service: dict) -> list[str]:
    value = service["command"]
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def test_the_procfile_runs_web_worker_and_beat(procfile):
    assert set(procfile) == {"web", "worker", "beat"}


def test_the_procfile_web_is_the_images_command(procfile):
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    cmd = json.loads(re.search(r"^CMD\s+(\[.*\])\s*$", text, re.MULTILINE).group(1))

    assert procfile["web"] == cmd


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_compose_runs_the_procfile_commands(compose, procfile, name):
    assert command(compose["services"][name]) == procfile[name]


def test_every_compose_service_has_a_health_check(compose):
    for name, service in compose["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"


def test_redis_keeps_and_never_evicts_queued_messages(compose):
    args = command(compose["services"]["redis"])

    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"


def test_no_secret_is_committed(compose):
    """The key and the database password come from the environment, and compose refuses
    to start without them, so a copied deployment cannot run with a published key."""
    assert "DJANGO_SECRET_KEY" in compose["services"]["web"]["environment"]
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: write environment as a mapping"
        for key in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD"):
            if key in environment:
                assert REQUIRED.fullmatch(environment[key]), f"{name}: a literal {key}"
        url = environment.get("DATABASE_URL") or ""
        if url:
            password = re.match(r"^[a-z]+://[^:@/]*:([^@]*)@", url).group(1)
            assert REQUIRED.fullmatch(password), f"{name}: a literal database password"


def test_gunicorn_is_published_on_the_loopback_only(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            published = port if isinstance(port, str) else f"{port.get('host_ip')}:"
            assert published.startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_volumes_are_named(compose):
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            assert source in declared, f"{name}: {source} is not a named volume"


def test_exactly_one_beat(compose, procfile):
    def runs_beat(args: list[str]) -> bool:
        return args[:4] == ["celery", "-A", "config", "beat"] or bool({"-B", "--beat"} & set(args))

    services = compose["services"]
    assert [name for name, s in services.items() if "command" in s and runs_beat(command(s))] == [
        "beat"
    ]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert [name for name, args in procfile.items() if runs_beat(args)] == ["beat"]
