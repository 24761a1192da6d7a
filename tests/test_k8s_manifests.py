"""The Kubernetes manifests (deploy/k8s) are valid and keep the deployment's promises.

No cluster runs in CI, so the kustomizations are rendered here: the base is its resource
files, the overlay is the base with the few kustomize fields it uses (namespace, images,
replicas, JSON 6902 patches). Where kubectl is installed the rendering is compared with
`kubectl kustomize`, so this small renderer cannot drift from the real one. Every object
is validated offline against the Kubernetes schemas (kubernetes-validate, strict: an
unknown or misspelt field fails), then held to the promises: the Procfile's commands,
probes and resources on every container, exactly one beat that never overlaps itself,
migrations as a Job, web that rolls without losing capacity, and no committed secret.
"""

import copy
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate")

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = ["base", "overlays/production"]
# The oldest Kubernetes minor still in wide use whose schemas the validator ships.
KUBERNETES_VERSION = "1.30.0"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}
SECRET_NAME = "yuyue-secrets"
# Environment variables whose value is a secret: they may only come from the Secret.
SECRET_LIKE = re.compile(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|DATABASE_DIRECT_URL|REDIS_URL")
EXPANSION = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}")


def _pointer(path: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in path.lstrip("/").split("/")]


def _apply_json_patch(document: dict, operations: list[dict]) -> None:
    """RFC 6902 `add`, `replace` and `remove`: what the overlay's patches use."""
    for operation in operations:
        *parents, last = _pointer(operation["path"])
        target = document
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if operation["op"] == "remove":
            del target[int(last) if isinstance(target, list) else last]
        elif operation["op"] in ("add", "replace"):
            if operation["op"] == "replace":
                assert (int(last) < len(target)) if isinstance(target, list) else last in target
            if isinstance(target, list):
                if last == "-":
                    target.append(operation["value"])
                elif operation["op"] == "add":
                    target.insert(int(last), operation["value"])
                else:
                    target[int(last)] = operation["value"]
            else:
                target[last] = operation["value"]
        else:
            raise AssertionError(f"patch op {operation['op']} is not rendered here")


def _set_images(document: dict, images: list[dict]) -> None:
    pod = _pod_spec(document)
    if pod is None:
        return
    for container in pod.get("initContainers", []) + pod["containers"]:
        name = container["image"].split("@")[0].rsplit(":", 1)[0]
        for image in images:
            if image["name"] == name:
                new = image.get("newName", name)
                container["image"] = f"{new}:{image['newTag']}" if "newTag" in image else new


def render(directory: Path) -> list[dict]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "namespace", "resources", "images", "replicas", "patches"}
    assert set(kustomization) <= known, f"{directory}: fields not rendered by this test"
    objects: list[dict] = []
    for resource in kustomization["resources"]:
        path = directory / resource
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    objects = copy.deepcopy(objects)
    for document in objects:
        if "namespace" in kustomization and document["kind"] not in CLUSTER_SCOPED:
            document["metadata"]["namespace"] = kustomization["namespace"]
        _set_images(document, kustomization.get("images", []))
        for replicas in kustomization.get("replicas", []):
            if document["metadata"]["name"] == replicas["name"] and "replicas" in document["spec"]:
                document["spec"]["replicas"] = replicas["count"]
    for patch in kustomization.get("patches", []):
        target = patch["target"]
        matched = [
            d
            for d in objects
            if d["kind"] == target["kind"] and d["metadata"]["name"] == target["name"]
        ]
        assert len(matched) == 1, f"patch target {target} matches {len(matched)} objects"
        _apply_json_patch(matched[0], yaml.safe_load(patch["patch"]))
    return objects


def _pod_spec(document: dict) -> dict | None:
    if document["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return document["spec"]["template"]["spec"]
    return None


def _by_kind_and_name(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in objects}


@pytest.fixture(scope="module", params=KUSTOMIZATIONS)
def rendered(request) -> list[dict]:
    return render(K8S / request.param)


@pytest.fixture(scope="module")
def procfile() -> dict[str, list[str]]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            processes[match.group(1)] = shlex.split(EXPANSION.sub(r"\1", match.group(2)))
    return processes


def test_every_manifest_file_is_listed_in_the_base():
    """A manifest left out of kustomization.yaml would never be applied."""
    listed = set(yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())["resources"])
    files = {p.name for p in (K8S / "base").glob("*.yaml")} - {"kustomization.yaml"}
    assert files == listed


@pytest.mark.parametrize("directory", KUSTOMIZATIONS)
def test_the_rendering_matches_kubectl_kustomize(directory):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; the schema checks below still run")
    result = subprocess.run(  # noqa: S603
        [kubectl, "kustomize", str(K8S / directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    theirs = _by_kind_and_name([d for d in yaml.safe_load_all(result.stdout) if d])
    ours = _by_kind_and_name(render(K8S / directory))
    assert theirs == ours


def test_every_object_is_valid_against_the_kubernetes_schemas(rendered):
    for document in rendered:
        assert document.get("apiVersion") and document.get("kind")
        assert document["metadata"].get("name")
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_objects_are_the_ones_the_deployment_needs(rendered):
    objects = _by_kind_and_name(rendered)
    for key in [
        ("ConfigMap", "yuyue-config"),
        ("Deployment", "yuyue-web"),
        ("Service", "yuyue-web"),
        ("PodDisruptionBudget", "yuyue-web"),
        ("HorizontalPodAutoscaler", "yuyue-web"),
        ("Deployment", "yuyue-worker"),
        ("Deployment", "yuyue-beat"),
        ("Job", "yuyue-migrate"),
        ("Deployment", "yuyue-pgbouncer"),
        ("Service", "yuyue-pgbouncer"),
    ]:
        assert key in objects, f"{key} is missing"


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_the_processes_run_the_procfile_commands(rendered, procfile, name):
    pod = _pod_spec(_by_kind_and_name(rendered)[("Deployment", f"yuyue-{name}")])
    (container,) = pod["containers"]
    assert container["command"] == procfile[name]
    assert "args" not in container


def test_the_migrate_job_runs_migrate_on_the_direct_connection(rendered):
    pod = _pod_spec(_by_kind_and_name(rendered)[("Job", "yuyue-migrate")])
    (container,) = pod["containers"]
    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert pod["restartPolicy"] == "Never"
    database = next(e for e in container["env"] if e["name"] == "DATABASE_URL")
    assert database["valueFrom"]["secretKeyRef"] == {
        "name": SECRET_NAME,
        "key": "DATABASE_DIRECT_URL",
    }


def test_every_container_has_resources_and_every_long_running_one_a_liveness_probe(rendered):
    for document in rendered:
        pod = _pod_spec(document)
        if pod is None:
            continue
        for container in pod["containers"]:
            where = f"{document['metadata']['name']}/{container['name']}"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), where
            if document["kind"] != "Job":
                assert "livenessProbe" in container, where


def test_web_is_ready_on_readyz_and_alive_on_healthz(rendered):
    (container,) = _pod_spec(_by_kind_and_name(rendered)[("Deployment", "yuyue-web")])["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        # The kubelet's own Host would be refused by ALLOWED_HOSTS (400, a failing probe).
        headers = {h["name"]: h["value"] for h in container[probe]["httpGet"]["httpHeaders"]}
        assert headers["Host"] in _config(rendered)["DJANGO_ALLOWED_HOSTS"].split(",")


def test_the_worker_is_alive_while_it_answers_a_ping(rendered):
    (container,) = _pod_spec(_by_kind_and_name(rendered)[("Deployment", "yuyue-worker")])[
        "containers"
    ]
    command = " ".join(container["livenessProbe"]["exec"]["command"])
    assert "inspect ping" in command and "celery@$HOSTNAME" in command


def test_there_is_exactly_one_beat_and_it_never_overlaps_itself(rendered):
    beat = _by_kind_and_name(rendered)[("Deployment", "yuyue-beat")]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    for document in rendered:
        if document["kind"] == "HorizontalPodAutoscaler":
            assert document["spec"]["scaleTargetRef"]["name"] != "yuyue-beat"


def test_web_rolls_without_losing_capacity_and_survives_a_drain(rendered):
    objects = _by_kind_and_name(rendered)
    web = objects[("Deployment", "yuyue-web")]
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert (
        objects[("PodDisruptionBudget", "yuyue-web")]["spec"]["selector"]
        == (web["spec"]["selector"])
    )
    hpa = objects[("HorizontalPodAutoscaler", "yuyue-web")]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "yuyue-web",
    }
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    assert hpa["minReplicas"] >= 2


def test_services_select_their_pods(rendered):
    objects = _by_kind_and_name(rendered)
    for name in ("yuyue-web", "yuyue-pgbouncer"):
        labels = objects[("Deployment", name)]["spec"]["template"]["metadata"]["labels"]
        selector = objects[("Service", name)]["spec"]["selector"]
        assert selector.items() <= labels.items()


def test_pgbouncer_pools_transactions_and_django_knows_it(rendered):
    (container,) = _pod_spec(_by_kind_and_name(rendered)[("Deployment", "yuyue-pgbouncer")])[
        "containers"
    ]
    env = {e["name"]: e for e in container["env"]}
    assert env["POOL_MODE"]["value"] == "transaction"
    # The URL itself is in the Secret; the rule for it is written where it is made.
    kustomization = (K8S / "base" / "kustomization.yaml").read_text()
    assert "disable_server_side_cursors=True" in kustomization


def _config(rendered: list[dict]) -> dict[str, str]:
    return _by_kind_and_name(rendered)[("ConfigMap", "yuyue-config")]["data"]


def test_no_secret_is_committed(rendered):
    """Secrets are read from the Secret by name; none is written, and the ConfigMap and
    literal env values hold nothing secret."""
    for document in rendered:
        assert document["kind"] != "Secret", "make the Secret outside the repository"
    assert not any(SECRET_LIKE.search(name) for name in _config(rendered))
    for document in rendered:
        pod = _pod_spec(document)
        if pod is None:
            continue
        for container in pod["containers"]:
            for entry in container.get("env", []):
                if SECRET_LIKE.search(entry["name"]):
                    assert "value" not in entry, f"{entry['name']} written in the manifest"
                    assert entry["valueFrom"]["secretKeyRef"]["name"] == SECRET_NAME
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] == SECRET_NAME
    for directory in KUSTOMIZATIONS:
        kustomization = yaml.safe_load((K8S / directory / "kustomization.yaml").read_text())
        assert "secretGenerator" not in kustomization


def test_the_app_pods_write_nothing_to_their_image(rendered):
    """Files never go to a pod's disk: the root filesystem is read-only (a scratch /tmp
    only), so a second pod never misses what the first one wrote."""
    for name in ("yuyue-web", "yuyue-worker", "yuyue-beat"):
        pod = _pod_spec(_by_kind_and_name(rendered)[("Deployment", name)])
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
        assert mounts == ["/tmp"]  # noqa: S108 (an emptyDir scratch, the pod's own)
        assert all("emptyDir" in v for v in pod.get("volumes", []))
        assert pod["securityContext"]["runAsNonRoot"] is True
