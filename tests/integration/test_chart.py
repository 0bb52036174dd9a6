"""The Helm chart against the real local control plane (helm and kubectl from its bin dir).

What each test answers:

* the chart lints, renders in both RBAC modes, and the API server accepts every object
  (``kubectl apply --dry-run=server``); a typo'd value fails ``helm template`` (schema);
* ``helm install`` and ``helm upgrade`` (a values change reaches the Deployment) succeed;
* the chart's Deployment becomes Available on the real node, from the image built from
  the Dockerfile, and the RBAC is *sufficient*: the operator, with no credentials but its
  ServiceAccount's token, reconciles the weather example into a CronJob and reports Ready
  in status, in both modes, with no 403 in its log (``kubectl logs``);
* the RBAC is *not broader than needed*: ``kubectl auth can-i --as=<the ServiceAccount>``
  says no to Secrets, deletes and pods/exec, and in namespaced mode to every namespace
  it does not watch;
* the aggregated roles work: a user bound only to the default ``view`` role in a
  namespace can ``kubectl get assetschedules`` there, and cannot change them.

"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from assetcron_dev.binaries import KUBERNETES_VERSION
from tests.conftest import PlaneHandle, poll

pytestmark = pytest.mark.controlplane

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "assetcron"
WEATHER = ROOT / "examples" / "weather" / "manifests"

# `helm template` has no cluster to ask, and a helm built without helm's own ldflags
# assumes Kubernetes 1.20, below the chart's kubeVersion; render for the plane's version.
KUBE_VERSION = ["--kube-version", f"v{KUBERNETES_VERSION}"]


def _uid() -> str:
    return uuid.uuid4().hex[:6]


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def helm(control_plane: PlaneHandle) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the plane's helm with its kubeconfig; raises CalledProcessError when check fails."""
    exe = shutil.which("helm", path=control_plane.env["PATH"])
    assert exe, "helm is not in the control plane's bin dirs"

    def run(
        *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [exe, *args],
            input=input,
            capture_output=True,
            text=True,
            env=control_plane.env,
            check=False,
        )
        if check and proc.returncode != 0:
            raise subprocess.CalledProcessError(
                proc.returncode, proc.args, proc.stdout, proc.stderr
            )
        return proc

    return run


def _namespace(cp: PlaneHandle, prefix: str) -> str:
    ns = f"{prefix}-{_uid()}"
    cp.kubectl("create", "namespace", ns)
    return ns


@dataclass(frozen=True)
class Release:
    """A helm release of the chart installed into the plane."""

    name: str
    namespace: str  # where the operator (Deployment, ServiceAccount) lives
    scope: str  # rbac.scope
    watched: str  # the one namespace the operator watches in these tests
    fullname: str

    @property
    def service_account(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.fullname}"


@pytest.fixture(scope="module")
def cluster_release(
    control_plane: PlaneHandle, helm: Callable[..., subprocess.CompletedProcess[str]]
) -> Iterator[Release]:
    """rbac.scope=cluster; this release also installs the CRDs."""
    name = f"acc-{_uid()}"
    ns = f"{name}-system"
    watched = _namespace(control_plane, "acc-w")
    # --take-ownership: other tests of the session may have applied the CRDs already.
    helm(
        "install", name, str(CHART), "-n", ns, "--create-namespace", "--take-ownership",
        "--set", "operator.logFormat=text",
        # Cluster-wide rights, but other tests share this plane: reconcile only ours.
        "--set", f"watchNamespaces={{{watched}}}",
    )  # fmt: skip
    yield Release(name, ns, "cluster", watched, f"{name}-assetcron")
    helm("uninstall", name, "-n", ns, check=False)


@pytest.fixture(scope="module")
def namespaced_release(
    control_plane: PlaneHandle,
    helm: Callable[..., subprocess.CompletedProcess[str]],
    cluster_release: Release,  # provides the CRDs
) -> Iterator[Release]:
    """rbac.scope=namespaced, watching one namespace; CRDs left to the cluster release."""
    name = f"acn-{_uid()}"
    ns = f"{name}-system"
    watched = _namespace(control_plane, "acn-w")
    helm(
        "install", name, str(CHART), "-n", ns, "--create-namespace",
        "--set", "rbac.scope=namespaced",
        "--set", f"watchNamespaces={{{watched}}}",
        "--set", "crds.install=false",
        "--set", "rbac.aggregatedRoles=false",  # cluster-scoped; the cluster release has them
    )  # fmt: skip
    yield Release(name, ns, "namespaced", watched, f"{name}-assetcron")
    helm("uninstall", name, "-n", ns, check=False)


# ---------------------------------------------------------------------------- lint, render
NAMESPACED = ["--set", "rbac.scope=namespaced", "--set", "watchNamespaces={team-a,team-b}"]


@pytest.mark.parametrize("values", [[], NAMESPACED], ids=["cluster", "namespaced"])
def test_helm_lint_strict(
    helm: Callable[..., subprocess.CompletedProcess[str]], values: list[str]
) -> None:
    result = helm("lint", "--strict", str(CHART), *values, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        # (value, where helm's schema error points: a JSON pointer and the culprit)
        ("operator.runHistoryLimt=5", "'/operator': additional properties 'runHistoryLimt'"),
        ("rbac.scope=everywhere", "'/rbac/scope'"),  # not in the enum
        ("operator.runHistoryLimit=0", "'/operator/runHistoryLimit'"),  # below the minimum
        ("watchNamespaces={Not_A_Namespace}", "'/watchNamespaces/0'"),  # not a DNS-1123 label
        ("serviceAccount.annotation.a=b", "additional properties 'annotation'"),
    ],
)
def test_bad_values_fail_helm_template(
    helm: Callable[..., subprocess.CompletedProcess[str]], setting: str, complaint: str
) -> None:
    result = helm("template", "t", str(CHART), *KUBE_VERSION, "--set", setting, check=False)
    assert result.returncode != 0, f"{setting} was accepted"
    assert complaint in result.stderr
    assert "values don't meet the specifications of the schema" in result.stderr


def test_missing_service_account_name_is_a_clear_error(
    helm: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    args = ("template", "t", str(CHART), *KUBE_VERSION, "--set", "serviceAccount.create=false")
    result = helm(*args, check=False)
    assert result.returncode != 0
    assert "serviceAccount.name is required when serviceAccount.create is false" in result.stderr
    rendered = helm(*args, "--set", "serviceAccount.name=ops-sa").stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    assert not [d for d in docs if d["kind"] == "ServiceAccount"]
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    assert deploy["spec"]["template"]["spec"]["serviceAccountName"] == "ops-sa"


def _render(helm: Callable[..., subprocess.CompletedProcess[str]], *args: str) -> list[Any]:
    out = helm("template", "t", str(CHART), "-n", "ops", *KUBE_VERSION, *args).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_rendered_operator_is_hardened_and_configured(
    helm: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    docs = _render(helm, "--set", "operator.runHistoryLimit=7", "--set", "watchNamespaces={a,b}")
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    spec = deploy["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["assetcron-operator"]
    env = {e["name"]: e.get("value", "") for e in container["env"]}
    assert env["ASSETCRON_WATCH_NAMESPACES"] == "a,b"
    assert env["ASSETCRON_RUN_HISTORY_LIMIT"] == "7"
    assert env["ASSETCRON_LOG_FORMAT"] == "json"
    assert env["ASSETCRON_LIVENESS_ENDPOINT"] == "http://0.0.0.0:8080/healthz"
    probe = container["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports[probe["port"]] == 8080
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["limits"]["memory"]
    assert container["image"] == "ghcr.io/assetcron/assetcron:0.1.0"


def test_rbac_modes_render_the_right_kinds(
    helm: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    cluster = {(d["kind"], d["metadata"].get("namespace")) for d in _render(helm)}
    assert ("ClusterRole", None) in cluster
    assert ("ClusterRoleBinding", None) in cluster
    assert not {k for k, _ in cluster} & {"Role", "RoleBinding"}

    docs = _render(helm, *NAMESPACED, "--set", "rbac.aggregatedRoles=false")
    kinds = {(d["kind"], d["metadata"].get("namespace")) for d in docs}
    assert {("Role", "team-a"), ("Role", "team-b")} <= kinds
    assert {("RoleBinding", "team-a"), ("RoleBinding", "team-b")} <= kinds
    # Nothing cluster-wide for the operator in namespaced mode (the CRDs are not RBAC).
    assert not {k for k, _ in kinds} & {"ClusterRole", "ClusterRoleBinding"}
    # With no namespaces given, namespaced mode means the release namespace.
    docs = _render(helm, "--set", "rbac.scope=namespaced")
    assert {d["metadata"]["namespace"] for d in docs if d["kind"] == "Role"} == {"ops"}


def test_metrics_port_service_and_optional_monitors_render(
    helm: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    docs = _render(helm)
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert ports["metrics"] == 8081
    assert env["ASSETCRON_METRICS_PORT"] == "8081"
    (service,) = [d for d in docs if d["kind"] == "Service"]
    assert service["metadata"]["name"] == "t-assetcron-metrics"
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8081, "targetPort": "metrics", "protocol": "TCP"}
    ]
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    monitoring = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    assert not {d["kind"] for d in docs} & monitoring  # off by default

    docs = _render(
        helm, "--set", "metrics.serviceMonitor.enabled=true",
        "--set", "metrics.prometheusRule.enabled=true",
        "--set", "metrics.prometheusRule.noSuccessIntervals=3",
        "--set", "metrics.serviceMonitor.labels.release=kps",
    )  # fmt: skip
    by_kind = {d["kind"]: d for d in docs}
    monitor = by_kind["ServiceMonitor"]
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    # The metrics' own `namespace` label (the schedule's) must win over the target's.
    assert monitor["spec"]["endpoints"][0]["honorLabels"] is True
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    rules = {r["alert"]: r for r in by_kind["PrometheusRule"]["spec"]["groups"][0]["rules"]}
    assert set(rules) == {
        "AssetcronScheduleNoRecentSuccess", "AssetcronRunsFailing", "AssetcronOperatorDown"
    }  # fmt: skip
    assert "3 * max by (namespace, schedule)" in rules["AssetcronScheduleNoRecentSuccess"]["expr"]
    assert 'job="t-assetcron-metrics"' in rules["AssetcronOperatorDown"]["expr"]
    assert "{{ $labels.schedule }}" in rules["AssetcronRunsFailing"]["annotations"]["summary"]

    # A PodMonitor's targets are labelled job="<namespace>/<PodMonitor name>".
    docs = _render(
        helm, "--set", "metrics.podMonitor.enabled=true",
        "--set", "metrics.prometheusRule.enabled=true",
    )  # fmt: skip
    by_kind = {d["kind"]: d for d in docs}
    endpoint = by_kind["PodMonitor"]["spec"]["podMetricsEndpoints"][0]
    assert (endpoint["port"], endpoint["honorLabels"]) == ("metrics", True)
    rules = {r["alert"]: r for r in by_kind["PrometheusRule"]["spec"]["groups"][0]["rules"]}
    assert 'job="ops/t-assetcron"' in rules["AssetcronOperatorDown"]["expr"]

    # Off: no Service, no port, the operator serves nothing.
    docs = _render(helm, "--set", "metrics.enabled=false")
    assert not [d for d in docs if d["kind"] == "Service"]
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    assert "metrics" not in {p["name"] for p in container["ports"]}
    assert {e["name"]: e.get("value") for e in container["env"]}["ASSETCRON_METRICS_PORT"] == "0"


@pytest.mark.parametrize("values", [[], NAMESPACED], ids=["cluster", "namespaced"])
def test_rendered_chart_is_accepted_by_the_api_server(
    control_plane: PlaneHandle,
    helm: Callable[..., subprocess.CompletedProcess[str]],
    values: list[str],
) -> None:
    release_ns = _namespace(control_plane, "dry")
    if values:  # namespaced: the Roles go into namespaces that must exist
        values = ["--set", "rbac.scope=namespaced", "--set", f"watchNamespaces={{{release_ns}}}"]
    manifest = helm(
        "template", f"dry-{_uid()}", str(CHART), "-n", release_ns, *KUBE_VERSION, *values
    ).stdout
    result = control_plane.kubectl(
        "apply", "--dry-run=server", "-n", release_ns, "-f", "-", input=manifest, check=False
    )
    assert result.returncode == 0, result.stderr
    applied = result.stdout.splitlines()
    assert any(line.startswith("deployment.apps/") for line in applied), applied
    assert any("customresourcedefinition" in line for line in applied), applied


# ---------------------------------------------------------------------------- install/upgrade
def test_install_then_upgrade_changes_the_operator_settings(
    control_plane: PlaneHandle,
    helm: Callable[..., subprocess.CompletedProcess[str]],
    cluster_release: Release,
) -> None:
    r = cluster_release
    status = json.loads(helm("status", r.name, "-n", r.namespace, "-o", "json").stdout)
    assert status["info"]["status"] == "deployed"
    assert "kubectl get assetschedules" in status["info"]["notes"]  # NOTES.txt: what next
    for crd in ("assetjobs.assetcron.dev", "assetschedules.assetcron.dev"):
        control_plane.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=30s")

    helm(
        "upgrade", r.name, str(CHART), "-n", r.namespace, "--reuse-values",
        "--set", "operator.runHistoryLimit=3",
    )  # fmt: skip
    status = json.loads(helm("status", r.name, "-n", r.namespace, "-o", "json").stdout)
    assert status["version"] == 2
    assert status["info"]["status"] == "deployed"
    deploy = json.loads(
        control_plane.kubectl("get", "deploy", r.fullname, "-n", r.namespace, "-o", "json").stdout
    )
    env = {
        e["name"]: e.get("value", "")
        for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["ASSETCRON_RUN_HISTORY_LIMIT"] == "3"
    assert env["ASSETCRON_LOG_FORMAT"] == "text"  # --reuse-values kept the install's value


# ---------------------------------------------------------------------------- RBAC sufficient
@pytest.mark.parametrize("mode", ["cluster", "namespaced"])
def test_the_charts_deployment_runs_on_the_node_and_reconciles_with_only_its_rbac(
    control_plane: PlaneHandle,
    cluster_release: Release,
    namespaced_release: Release,
    mode: str,
) -> None:
    release = cluster_release if mode == "cluster" else namespaced_release
    ns = release.namespace
    # The Deployment rolls out on the real node: the operator's image, the chart's
    # ServiceAccount (its token is its only credential), probes, security context, limits.
    control_plane.kubectl(
        "rollout", "status", f"deployment/{release.fullname}", "-n", ns, "--timeout=180s"
    )
    deploy = json.loads(
        control_plane.kubectl("get", "deploy", release.fullname, "-n", ns, "-o", "json").stdout
    )
    available = {c["type"]: c["status"] for c in deploy["status"]["conditions"]}
    assert available["Available"] == "True"

    def the_pod() -> dict[str, Any] | None:
        # One pod once an earlier upgrade's pod (strategy Recreate) has gone.
        pods = json.loads(
            control_plane.kubectl(
                "get", "pods", "-n", ns, "-l", f"app.kubernetes.io/instance={release.name}",
                "-o", "json",
            ).stdout
        )["items"]  # fmt: skip
        live = [p for p in pods if "deletionTimestamp" not in p["metadata"]]
        return live[0] if len(pods) == 1 and live else None

    pod = poll(the_pod, 60, "one operator pod")
    assert pod["spec"]["serviceAccountName"] == release.fullname
    assert pod["spec"]["nodeName"] == "assetcron-dev"
    (container,) = pod["status"]["containerStatuses"]
    assert container["image"] == "ghcr.io/assetcron/assetcron:0.1.0"
    assert container["imageID"]
    assert container["ready"] is True

    for manifest in ("assetjob.yaml", "assetschedule.yaml"):
        control_plane.kubectl("apply", "-n", release.watched, "-f", str(WEATHER / manifest))

    def cronjob() -> dict[str, Any] | None:
        out = control_plane.kubectl(
            "get", "cronjobs", "-n", release.watched, "-l", "assetcron.dev/schedule=weather-daily",
            "-o", "json",
        ).stdout  # fmt: skip
        items: list[dict[str, Any]] = json.loads(out)["items"]
        return items[0] if items else None

    def ready() -> bool:
        out = control_plane.kubectl(
            "get", "assetschedule", "weather-daily", "-n", release.watched, "-o", "json"
        )
        conditions = json.loads(out.stdout).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    cj = poll(cronjob, 90, "the weather CronJob")
    assert cj["spec"]["schedule"] == "0 6 * * *"
    assert cj["spec"]["timeZone"] == "America/Los_Angeles"
    assert cj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "assetcron"
    poll(ready, 90, "Ready=True in the AssetSchedule's status")

    # The liveness probe (kopf's endpoint) has passed all along: no restart.
    pod_now = json.loads(
        control_plane.kubectl("get", "pod", pod["metadata"]["name"], "-n", ns, "-o", "json").stdout
    )
    assert pod_now["status"]["containerStatuses"][0]["restartCount"] == 0
    log_text = control_plane.kubectl("logs", pod["metadata"]["name"], "-n", ns).stdout
    assert log_text, "kubectl logs shows the operator's log"
    # Any call the RBAC did not allow is a 403 in kopf's or our logs. (kopf lists namespaces
    # for explicit namespace names unless settings.scanning.disabled is set: namespaced mode
    # grants no such cluster-wide read, so the operator must switch that scan off.)
    denied = [line for line in log_text.splitlines() if "403" in line or "orbidden" in line]
    assert denied == [], "\n".join(line[:300] for line in denied[:5])


# ---------------------------------------------------------------------------- RBAC not broader
def _can_i(cp: PlaneHandle, who: str, *args: str) -> bool:
    result = cp.kubectl("auth", "can-i", *args, f"--as={who}", check=False)
    answer = result.stdout.strip()
    assert answer in ("yes", "no"), result.stderr
    return answer == "yes"


@pytest.mark.parametrize(
    "question",
    [
        ("get", "secrets"),
        ("list", "secrets"),
        ("get", "configmaps"),
        ("create", "pods"),
        ("create", "pods", "--subresource=exec"),
        ("delete", "cronjobs.batch"),
        # delete jobs: yes, to prune manual runs to the history limits; never in bulk
        ("deletecollection", "jobs.batch"),
        ("update", "assetschedules.assetcron.dev"),
        ("delete", "assetschedules.assetcron.dev"),
        ("create", "rolebindings.rbac.authorization.k8s.io"),
    ],
    ids=" ".join,
)
@pytest.mark.parametrize("mode", ["cluster", "namespaced"])
def test_operator_cannot_do_what_it_does_not_need(
    control_plane: PlaneHandle,
    cluster_release: Release,
    namespaced_release: Release,
    mode: str,
    question: tuple[str, ...],
) -> None:
    release = cluster_release if mode == "cluster" else namespaced_release
    assert not _can_i(control_plane, release.service_account, *question, "-n", release.watched)


def test_namespaced_operator_is_confined_to_its_namespaces(
    control_plane: PlaneHandle, namespaced_release: Release
) -> None:
    sa = namespaced_release.service_account
    watched = namespaced_release.watched
    other = _namespace(control_plane, "other")
    # What it needs, where it works...
    assert _can_i(control_plane, sa, "patch", "cronjobs.batch", "-n", watched)
    assert _can_i(control_plane, sa, "watch", "assetschedules.assetcron.dev", "-n", watched)
    # ...and nothing elsewhere, nor anything cluster-wide.
    for verb, resource in [
        ("patch", "cronjobs.batch"),
        ("list", "assetschedules.assetcron.dev"),
        ("list", "pods"),
        ("create", "events"),
    ]:
        assert not _can_i(control_plane, sa, verb, resource, "-n", other), (verb, resource)
        assert not _can_i(control_plane, sa, verb, resource, "-n", namespaced_release.namespace)
    assert not _can_i(control_plane, sa, "list", "assetschedules.assetcron.dev", "--all-namespaces")
    assert not _can_i(control_plane, sa, "list", "namespaces")
    assert not _can_i(control_plane, sa, "delete", "namespaces")


# ---------------------------------------------------------------------------- user roles
def test_user_bound_to_view_can_list_assetschedules_but_not_change_them(
    control_plane: PlaneHandle, cluster_release: Release
) -> None:
    cp = control_plane
    ns = _namespace(cp, "view")
    cp.kubectl(
        "create", "rolebinding", "someone-view", "--clusterrole=view", "--user=someone", "-n", ns
    )
    cp.kubectl(
        "create", "rolebinding", "editor-edit", "--clusterrole=edit", "--user=editor", "-n", ns
    )
    cp.kubectl("apply", "-n", ns, "-f", str(WEATHER / "assetjob.yaml"))
    cp.kubectl("apply", "-n", ns, "-f", str(WEATHER / "assetschedule.yaml"))

    # ClusterRole aggregation is asynchronous (kube-controller-manager's
    # clusterrole-aggregation controller): wait until "view" carries our rules.
    def aggregated() -> bool:
        view = json.loads(cp.kubectl("get", "clusterrole", "view", "-o", "json").stdout)
        return any("assetcron.dev" in rule.get("apiGroups", []) for rule in view.get("rules") or [])

    poll(
        aggregated,
        30,
        "our rules in ClusterRole 'view': kube-controller-manager must run "
        "clusterrole-aggregation-controller, as on every real cluster",
    )

    listed = cp.kubectl("get", "assetschedules", "-n", ns, "--as=someone", "-o", "name")
    assert listed.stdout.split() == ["assetschedule.assetcron.dev/weather-daily"]
    assert cp.kubectl("get", "asch", "-n", ns, "--as=someone").returncode == 0  # short name
    assert cp.kubectl("get", "assetjobs", "-n", ns, "--as=someone", "-o", "name").stdout.strip()
    assert not _can_i(cp, "someone", "patch", "assetschedules.assetcron.dev", "-n", ns)
    assert not _can_i(cp, "someone", "list", "assetschedules.assetcron.dev", "-n", "default")
    # edit (and admin, which aggregates edit) may change them; nobody but the operator
    # writes status.
    assert _can_i(cp, "editor", "patch", "assetschedules.assetcron.dev", "-n", ns)
    assert _can_i(cp, "editor", "delete", "assetjobs.assetcron.dev", "-n", ns)
    assert not _can_i(
        cp, "editor", "patch", "assetschedules.assetcron.dev", "--subresource=status", "-n", ns
    )
