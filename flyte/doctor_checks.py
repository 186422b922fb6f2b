"""The doctor's checks of the sandbox itself: Docker, flytectl, FlyteAdmin and the image registry (flyte.doctor runs them)."""

# Every check is a small function of a Probe, which runs commands and fetches URLs; tests pass a Probe whose commands
# are fake executables on PATH and whose URLs are local HTTP servers. A check returns PASS, FAIL (the walkthrough would
# fail there) or SKIP (this machine cannot tell; the detail says how to check by hand).

from __future__ import annotations

import configparser
import json
import re
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Seconds any one command or request may take: a preflight must not hang on a dead daemon or port.
TIMEOUT_S = 20.0
#: The kubectl context `flytectl demo start` writes for the sandbox, and the namespace Flyte runs in there.
SANDBOX_CONTEXT = "flyte-sandbox"
SANDBOX_NAMESPACE = "flyte"
#: The custom resource the Dask Kubernetes operator installs; without it Dask tasks cannot start a cluster.
DASK_CRD = "daskclusters.kubernetes.dask.org"


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``status`` is PASS, FAIL or SKIP; ``fix`` says what to do when it is not PASS."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Answer:
    """A command's exit status and output, or an HTTP answer's status (0: no answer) and body."""

    code: int
    text: str


def run_command(argv: list[str], cwd: Path = REPO_ROOT) -> Answer:
    """Run ``argv``; exit status 127 when the program is not found, 124 when it outlasts TIMEOUT_S."""
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except FileNotFoundError:
        return Answer(127, f"{argv[0]}: not found on PATH")
    except subprocess.TimeoutExpired:
        return Answer(124, f"{argv[0]} did not answer within {TIMEOUT_S:.0f} s")
    return Answer(done.returncode, done.stdout + ("\n" + done.stderr if done.returncode else ""))


def http_get(url: str) -> Answer:
    """GET ``url`` (plain HTTP, no proxy); status 0 with the reason when nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT_S) as response:
            return Answer(response.status, response.read(1 << 20).decode(errors="replace"))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(1 << 16).decode(errors="replace"))
    except (urllib.error.URLError, OSError) as exc:
        return Answer(0, str(getattr(exc, "reason", exc)))


@dataclass
class Probe:
    """How the checks reach the world, and what they check against.

    run: runs a command (argv) and returns its Answer. get: fetches a URL and returns its Answer.
    config: flytekit's INI config naming the sandbox's endpoint and object store (the project's flyte.config).
    """

    run: Callable[[list[str]], Answer] = run_command
    get: Callable[[str], Answer] = http_get
    config: Path = REPO_ROOT / "flyte.config"
    settings: configparser.ConfigParser = field(init=False)

    def __post_init__(self) -> None:
        self.settings = configparser.ConfigParser()
        self.settings.read(self.config)

    def setting(self, section: str, option: str, default: str = "") -> str:
        return self.settings.get(section, option, fallback=default)


def flyte_line() -> str:
    """The Flyte release line ("1.16") the project pins: flytekit's minor version in requirements.txt. The sandbox
    must run the same line (`flytectl demo start --version v1.16.x`)."""
    found = re.search(r"^flytekit==(\d+\.\d+)\.", (REPO_ROOT / "requirements.txt").read_text(), flags=re.MULTILINE)
    return found[1] if found else "?"


def _on_line(version: str, line: str) -> bool:
    return re.match(rf"v?{re.escape(line)}\.", version) is not None


def _first_line(text: str) -> str:
    return next((s.strip() for s in text.splitlines() if s.strip()), "")[:200]


def start_sandbox_fix(line: str) -> str:
    from flyte.workflows import config
    return f"flytectl demo start --version {config.SANDBOX_FLYTE_VERSION}   (a Flyte {line}.x sandbox)"


def check_docker(probe: Probe) -> Check:
    answer = probe.run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if answer.code == 127:
        return Check("docker", "FAIL", "docker not found on PATH", "install Docker (https://docs.docker.com/get-docker/)")
    if answer.code != 0:
        return Check("docker", "FAIL", f"the Docker daemon did not answer: {_first_line(answer.text)}", "start Docker (Docker Desktop, or `sudo systemctl start docker`)")
    return Check("docker", "PASS", f"Docker {_first_line(answer.text)} is running")


def flytectl_versions(text: str) -> dict[str, str]:
    """{"flytectl": ..., "controlPlane": ...} from `flytectl version`, which prints one JSON object per app, back to
    back, after an optional upgrade notice (flytectl/cmd/version/version.go in flyteorg/flyte)."""
    decoder, found, at = json.JSONDecoder(), {}, text.find("{")
    while at != -1:
        try:
            value, end = decoder.raw_decode(text, at)
        except ValueError:
            at = text.find("{", at + 1)
            continue
        if isinstance(value, dict) and value.get("App"):
            found[value["App"]] = str(value.get("Version", ""))
        at = text.find("{", end)
    return found


def check_flytectl(probe: Probe, flytectl: str = "flytectl") -> Check:
    line = flyte_line()
    answer = probe.run([flytectl, "--config", str(REPO_ROOT / "flytectl.yaml"), "version"])
    if answer.code == 127:
        return Check("flytectl", "FAIL", f"{flytectl} not found on PATH", "install flytectl (https://github.com/flyteorg/flyte/releases) or set FLYTECTL to its path")
    versions = flytectl_versions(answer.text)
    if "flytectl" not in versions:
        return Check("flytectl", "FAIL", f"`{flytectl} version` printed no version: {_first_line(answer.text)}", "reinstall flytectl")
    sandbox = versions.get("controlPlane", "")
    if sandbox and not _on_line(sandbox, line):
        return Check("flytectl", "FAIL", f"flytectl {versions['flytectl']} talks to a Flyte {sandbox} sandbox; this project pins Flyte {line}",
                     f"flytectl demo teardown; {start_sandbox_fix(line)}")  # fmt: skip
    seen = f"; its sandbox runs Flyte {sandbox}" if sandbox else " (no sandbox answered it; see the endpoint check)"
    return Check("flytectl", "PASS", f"flytectl {versions['flytectl']}{seen}")


def admin_base_url(probe: Probe) -> str:
    """FlyteAdmin's HTTP base URL from the config's [platform] url; the sandbox serves HTTP and gRPC on one port."""
    url = probe.setting("platform", "url", "localhost:30080").removeprefix("dns:///")
    insecure = probe.setting("platform", "insecure", "False").lower() in ("true", "1", "yes")
    return url if "://" in url else f"{'http' if insecure else 'https'}://{url}"


def check_endpoint(probe: Probe) -> Check:
    base, line = admin_base_url(probe), flyte_line()
    health = probe.get(f"{base}/healthcheck")  # flyteadmin's HTTP health route (flyteadmin/pkg/server/service.go)
    if health.code != 200:
        said = f"HTTP {health.code}" if health.code else health.text
        return Check("sandbox", "FAIL", f"no FlyteAdmin at {base} ({probe.config.name} [platform] url): {said}", start_sandbox_fix(line))
    answer = probe.get(f"{base}/api/v1/version")  # AdminService.GetVersion over HTTP (flyteidl service/admin.proto)
    try:
        version = json.loads(answer.text)["control_plane_version"]["Version"]
    except (ValueError, KeyError, TypeError):
        return Check("sandbox", "PASS", f"FlyteAdmin answers at {base} (its version is not readable: HTTP {answer.code})")
    if not _on_line(version, line):
        return Check("sandbox", "FAIL", f"the sandbox at {base} runs Flyte {version}; this project pins Flyte {line}", f"flytectl demo teardown; {start_sandbox_fix(line)}")
    return Check("sandbox", "PASS", f"FlyteAdmin answers at {base}, Flyte {version}")


def image_to_register(probe: Probe) -> str:
    """The image reference scripts/register.sh would build and register: what docker_build_and_tag.sh --dry-run
    prints as its last line (the registry, name and the version it derives from git)."""
    answer = probe.run(["bash", str(REPO_ROOT / "docker_build_and_tag.sh"), "--dry-run"])
    lines = answer.text.strip().splitlines() if answer.code == 0 else []
    return lines[-1].strip() if lines else ""


def check_image_registry(probe: Probe, image: str) -> Check:
    if not image:
        return Check("image", "FAIL", "cannot tell which image would be registered (docker_build_and_tag.sh --dry-run failed)", "run ./docker_build_and_tag.sh --dry-run to see why, or pass --image")
    registry, _, rest = image.partition("/")
    name, _, tag = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
    base = f"http://{registry}"
    api = probe.get(f"{base}/v2/")  # the Docker registry HTTP API v2's base route
    if api.code not in (200, 401):
        said = f"HTTP {api.code}" if api.code else api.text
        return Check("image", "FAIL", f"no image registry at {registry} (to hold {image}): {said}", f"start the sandbox, which serves it: {start_sandbox_fix(flyte_line())}")
    tags = probe.get(f"{base}/v2/{name}/tags/list")
    try:
        present = tag in (json.loads(tags.text).get("tags") or [])
    except (ValueError, AttributeError):
        present = False
    if not present:
        return Check("image", "FAIL", f"{registry} answers, but holds no {name}:{tag}", f"./docker_build_and_tag.sh --push (make register builds, pushes and registers {tag})")
    return Check("image", "PASS", f"{image} is in the registry")
