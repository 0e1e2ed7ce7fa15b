"""deploy/kubernetes: every kustomization renders, validates offline, and keeps its promises.

Each directory is rendered with the real kustomize (`kustomize build`, or the
one built into `kubectl kustomize`), every object is validated against the
Kubernetes JSON schemas of KUBERNETES_VERSION shipped in the
kubernetes-validate package (strict: unknown fields fail), and the security
properties docs/runtime.md describes are asserted. Without the tool the tests
skip locally and fail under CI=true.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from config.settings import SPECS, load_settings
from tests.support.redis_helpers import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
KUSTOMIZE_ROOT = ROOT / "deploy" / "kubernetes"
KUSTOMIZATIONS = ("base", "overlays/production", "overlays/redis-sentinel")
# The oldest Kubernetes the manifests must be valid for.
KUBERNETES_VERSION = "1.30.0"
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
SECRET_SETTINGS = frozenset(s.env for s in SPECS if s.secret) | {"REDIS_PASSWORD"}
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|_KEY$)")
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s]*:([^/@\s]+)@")
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")

Obj = dict[str, Any]


@cache
def _renderer() -> tuple[list[str], str] | None:
    """(command prefix, version) of a kustomize new enough for these files (v4+)."""
    if shutil.which("kustomize"):
        out = subprocess.run(["kustomize", "version"], capture_output=True, text=True).stdout
        found = re.search(r"v?(\d+)\.\d+\.\d+", out)
        if found and int(found.group(1)) >= 4:
            return ["kustomize", "build"], "kustomize " + found.group(0)
    if shutil.which("kubectl"):
        out = subprocess.run(["kubectl", "version", "--client"], capture_output=True,
                             text=True).stdout
        found = re.search(r"Kustomize Version: v?(\d+)\.\d+\.\d+", out)
        if found and int(found.group(1)) >= 4:
            client = re.search(r"Client Version: (\S+)", out)
            return ["kubectl", "kustomize"], (f"kubectl {client.group(1) if client else '?'}, "
                                              f"kustomize {found.group(0).split()[-1]}")
    return None


@cache
def _render(directory: str) -> tuple[Obj, ...]:
    import yaml

    command = _renderer()
    assert command is not None
    result = subprocess.run([*command[0], str(KUSTOMIZE_ROOT / directory)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


@pytest.fixture(params=KUSTOMIZATIONS)
def objects(request: pytest.FixtureRequest) -> tuple[Obj, ...]:
    if _renderer() is None:
        skip_or_fail("kustomize v4+ not found (kubectl with a built-in kustomize, or "
                     "kustomize itself): .ci/run installs it")
    return _render(request.param)


def _one(objects: tuple[Obj, ...], kind: str, name: str | None = None) -> Obj:
    found = [o for o in objects if o["kind"] == kind
             and (name is None or o["metadata"]["name"].startswith(name))]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def _pod(objects: tuple[Obj, ...]) -> Obj:
    spec: Obj = _one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def _container(objects: tuple[Obj, ...]) -> Obj:
    (container,) = _pod(objects)["containers"]
    return container


def _config(objects: tuple[Obj, ...]) -> dict[str, str]:
    data: dict[str, str] = _one(objects, "ConfigMap", "admin-gateway-config")["data"]
    return data


def _env_entries(objects: tuple[Obj, ...]) -> Iterator[Obj]:
    pod = _pod(objects)
    for container in pod["containers"] + pod.get("initContainers", []):
        yield from container.get("env", [])


def _gunicorn(env: dict[str, str], name: str) -> Any:
    """A setting of config/gunicorn.conf.py under ``env`` (in a child: the file sets env vars)."""
    code = ("import json, runpy, sys; "
            f"print(json.dumps(runpy.run_path(sys.argv[1])[{name!r}]))")
    child_env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": "/nonexistent", **env}
    out = subprocess.run([sys.executable, "-c", code, str(GUNICORN_CONF)], env=child_env,
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return json.loads(out)


def test_every_object_is_valid_for_the_pinned_kubernetes(objects: tuple[Obj, ...]) -> None:
    try:
        import kubernetes_validate
    except ImportError:
        skip_or_fail("kubernetes-validate is not installed (pip install -e '.[dev]')")
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} "
                        f"at {'.'.join(map(str, exc.path))}")


def test_the_expected_objects_and_no_secret_object(objects: tuple[Obj, ...]) -> None:
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(["ServiceAccount", "ConfigMap", "ConfigMap", "Service", "Deployment",
                            "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"])


def test_pod_runs_unprivileged(objects: tuple[Obj, ...]) -> None:
    pod = _pod(objects)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert _one(objects, "ServiceAccount")["automountServiceAccountToken"] is False
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context.get("privileged", False) is False
        assert context.get("runAsNonRoot", True) is True
        assert context.get("runAsUser", 10001) != 0
        assert context["capabilities"] == {"drop": ["ALL"]}


def test_writable_paths_are_empty_dirs(objects: tuple[Obj, ...]) -> None:
    pod, container = _pod(objects), _container(objects)
    empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert mounts["/tmp"]["name"] in empty_dirs
    # prometheus_client's multiprocess files go to an emptyDir, not the read-only root.
    metrics = env["PROMETHEUS_MULTIPROC_DIR"]
    assert metrics in mounts and mounts[metrics]["name"] in empty_dirs
    for volume in pod["volumes"]:
        if "emptyDir" in volume:
            assert volume["emptyDir"].get("sizeLimit"), volume["name"]
    for mount in container["volumeMounts"]:
        if mount["name"] not in empty_dirs:
            assert mount.get("readOnly") is True, mount["mountPath"]


def test_probes_hit_the_gateway_port(objects: tuple[Obj, ...]) -> None:
    container = _container(objects)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == int(_gunicorn(_config(objects), "bind").rsplit(":", 1)[1])
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    service = _one(objects, "Service")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]


def test_grace_period_outlasts_the_drain_and_gunicorns_graceful_timeout(
        objects: tuple[Obj, ...]) -> None:
    container = _container(objects)
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep" and len(command) == 2
    pre_stop = int(command[1])
    assert pre_stop >= 3, "endpoints need a few seconds to stop sending traffic"
    graceful = _gunicorn(_config(objects), "graceful_timeout")
    grace = _pod(objects)["terminationGracePeriodSeconds"]
    assert grace > pre_stop + graceful, (grace, pre_stop, graceful)


def test_secrets_only_by_secret_key_ref(objects: tuple[Obj, ...]) -> None:
    config = _config(objects)
    tiers = config["MGMT_TIERS"].split(",")
    secrets = SECRET_SETTINGS | {f"MGMT_TIER_{t.strip().upper()}_CLIENT_SECRET" for t in tiers}
    by_ref: set[str] = set()
    for entry in _env_entries(objects):
        if "valueFrom" in entry:
            if "secretKeyRef" in entry["valueFrom"]:
                by_ref.add(entry["name"])
            continue
        assert entry["name"] not in secrets and not SECRET_NAME.search(entry["name"]), entry
        # Credentials in a URL only as $(VAR) of a variable defined from the Secret.
        for password in CREDENTIALS_IN_URL.findall(entry.get("value", "")):
            assert re.fullmatch(r"\$\((\w+)\)", password), f"literal credential in {entry['name']}"
            assert password[2:-1] in by_ref, f"{password} must come from a secretKeyRef above"
    assert secrets <= by_ref, f"not from the Secret: {sorted(secrets - by_ref)}"
    for container in _pod(objects)["containers"]:
        assert all("secretRef" not in source for source in container.get("envFrom", []))
    for config_map in (o for o in objects if o["kind"] == "ConfigMap"):
        for key, value in config_map.get("data", {}).items():
            assert key not in secrets and not SECRET_NAME.search(key), key
            assert not CREDENTIALS_IN_URL.search(value), f"credential in ConfigMap key {key}"
    assert not [o for o in objects if o["kind"] == "Secret"], "Secrets are created out of band"


def _environ(objects: tuple[Obj, ...]) -> dict[str, str]:
    """The container's environment, with dummy secrets and the repository's policy file."""
    fernet = base64.urlsafe_b64encode(b"k" * 32).decode()
    environ = dict(_config(objects))
    for entry in _env_entries(objects):
        if entry.get("valueFrom", {}).get("secretKeyRef", {}).get("optional"):
            continue  # an optional key may be absent from the Secret: the variable unset
        if "valueFrom" in entry:
            environ[entry["name"]] = fernet if entry["name"] == "TOKEN_CACHE_KEY" else "dummy"
        else:  # Kubernetes' $(VAR) expansion from variables defined earlier
            environ[entry["name"]] = re.sub(r"\$\((\w+)\)", lambda m: environ[m.group(1)],
                                            entry["value"])
    environ["POLICY_FILE"] = str(ROOT / "config" / "policy.toml")
    return environ


def test_the_settings_are_the_gateways_and_load(objects: tuple[Obj, ...]) -> None:
    gunicorn_vars = set(re.findall(r"""(?:_int|_choice|environ\.get)\(\s*["'](\w+)["']""",
                                   GUNICORN_CONF.read_text()))
    known = {s.env for s in SPECS} | gunicorn_vars | {"PROMETHEUS_MULTIPROC_DIR"}
    tier_var = re.compile(r"^MGMT_TIER_[A-Z0-9_]+_(CLIENT_ID|CLIENT_SECRET|SCOPES)$")
    environ = _environ(objects)
    unknown = sorted(n for n in environ if n not in known | {"REDIS_PASSWORD"}
                     and not tier_var.match(n))
    assert not unknown, f"not a setting of the gateway or gunicorn: {unknown}"
    settings = load_settings(environ)
    assert settings.tier_names == tuple(_config(objects)["MGMT_TIERS"].split(","))


def test_policy_is_config_policy_toml_mounted_read_only(objects: tuple[Obj, ...]) -> None:
    policy = _one(objects, "ConfigMap", "admin-gateway-policy")
    assert policy["data"]["policy.toml"] == (ROOT / "config" / "policy.toml").read_text(), \
        "run: cp config/policy.toml deploy/kubernetes/base/policy.toml"
    container = _container(objects)
    env = {e["name"]: e.get("value") for e in container["env"]}
    directory, _, filename = env["POLICY_FILE"].rpartition("/")
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == directory]
    assert mount["readOnly"] is True
    (volume,) = [v for v in _pod(objects)["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == policy["metadata"]["name"]
    assert [i["path"] for i in volume["configMap"]["items"]] == [filename]


def test_resources_requested_and_limited(objects: tuple[Obj, ...]) -> None:
    resources = _container(objects)["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) >= {"cpu", "memory"}, kind


def test_selectors_and_targets_agree(objects: tuple[Obj, ...]) -> None:
    deployment = _one(objects, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selectors = [deployment["spec"]["selector"]["matchLabels"],
                 _one(objects, "Service")["spec"]["selector"],
                 _one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
                 _one(objects, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"]]
    for selector in selectors:
        assert selector.items() <= labels.items()
    hpa = _one(objects, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": deployment["metadata"]["name"]}
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert deployment["spec"]["replicas"] == hpa["spec"]["minReplicas"]
    assert _one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    assert _pod(objects)["serviceAccountName"] == _one(objects, "ServiceAccount")["metadata"][
        "name"]
    config = _config(objects)
    processes = int(config["MGMT_BUDGET_FALLBACK_PROCESSES"])
    assert processes >= hpa["spec"]["maxReplicas"] * int(config["WEB_CONCURRENCY"]), \
        "each process would take more than its share of the budget at full scale"


def test_network_policy_allows_only_dns_redis_and_https(objects: tuple[Obj, ...]) -> None:
    policy = _one(objects, "NetworkPolicy")["spec"]
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    for rule in policy["ingress"]:
        assert [p["port"] for p in rule["ports"]] == ["http"]
        assert all("namespaceSelector" in peer for peer in rule["from"])
    for rule in policy["egress"]:
        ports = {p["port"] for p in rule["ports"]}
        assert ports <= {53, 6379, 26379, 443}, ports
        blocks = [peer["ipBlock"] for peer in rule["to"] if "ipBlock" in peer]
        if blocks:
            assert ports == {443}, "only HTTPS goes to addresses outside the cluster"
            for block in blocks:
                if ipaddress.ip_network(block["cidr"]).version == 4:
                    assert set(PRIVATE_RANGES) <= set(block["except"])
        else:
            assert 443 not in ports


def test_overlays(objects: tuple[Obj, ...]) -> None:
    from app.redis_conn import parse_redis_url

    container = _container(objects)
    redis_url = _environ(objects)["REDIS_URL"]
    if _one(objects, "Deployment")["metadata"].get("namespace") is None:
        assert container["image"] == "admin-gateway:0.1.0"  # the base
        assert parse_redis_url(redis_url).kind == "single"
        return
    image = container["image"]
    assert "/" in image and not image.endswith(":latest") and ":" in image.rsplit("/", 1)[1]
    target = parse_redis_url(redis_url)
    if "26379" in redis_url:
        assert (target.kind, target.service_name, target.db) == ("sentinel", "mymaster", 0)
        assert len(target.hosts) == 3 and target.password == "dummy"
        ports = {p["port"] for r in _one(objects, "NetworkPolicy")["spec"]["egress"]
                 for p in r["ports"]}
        assert 26379 in ports
    else:
        assert target.kind == "single"


def test_renderer_is_reported() -> None:
    """Not an assertion about the manifests: names the tool in the test log (-rA)."""
    renderer = _renderer()
    if renderer is None:
        skip_or_fail("kustomize v4+ not found")
    else:
        print(renderer[1])
