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
  namespace can ``kubectl get assetschedules`` there, and cannot change them;
* high availability: two replicas from the chart, one holding the leader Lease and the
  other standing by (no kopf, no writes); the active operator process is killed with
  SIGKILL (what a lost node amounts to for the Lease: renewals stop, nothing is
  released; this plane has one real node, so the node itself cannot be lost) and the
  standby takes over: the takeover time is measured and printed, a schedule created
  meanwhile gets its CronJob, and no CronJob or manual Job is duplicated;
* the chart's options (affinity, tolerations, topology spread, extraEnv with valueFrom,
  extra volumes, pod annotations/labels, NetworkPolicy, PodDisruptionBudget, the
  ``helm test`` pod) render as documented and the API server accepts them; ``helm
  test`` passes against the installed releases.

"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
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
#: The time stamp a log line opens with, text ("[2026-12-03 10:11:55,403] ") or JSON (its
#: "timestamp" field): its digits are no HTTP status, and ",403" milliseconds failed this once.
_TIMESTAMP = re.compile(r'^\[[^\]]*\]|"timestamp":\s*"[^"]*"')
#: An HTTP 403 in the rest of a log line: "403" not inside a longer number or a time of day.
_HTTP_403 = re.compile(r"(?<![\w.:,])403(?!\w)")

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
        ("affinity.nodeAffinty.x=y", "'/affinity': additional properties 'nodeAffinty'"),
        ("replicaCount=0", "'/replicaCount'"),
        ("leaderElection.leaseDuraton=9", "additional properties 'leaseDuraton'"),
        ("networkPolicy.apiServer.cidrs={10.0.0.1}", "'/networkPolicy/apiServer/cidrs/0'"),
        (  # an EnvVar has a value or a valueFrom, not both
            "operator.extraEnv[0].name=A,operator.extraEnv[0].value=x,"
            "operator.extraEnv[0].valueFrom.fieldRef.fieldPath=metadata.name",
            "'/operator/extraEnv/0'",
        ),
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
    # Leader election is on by default: the new pod of a rolling update stands by until
    # the old one releases the Lease.
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
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
    def operator_rbac(docs: list[Any]) -> list[Any]:
        # The leader-election Role/RoleBinding (the release namespace's Lease) are the same
        # in both modes: tested in test_chart_options_render_as_given.
        return [d for d in docs if not d["metadata"]["name"].endswith("-leader-election")]

    cluster = {(d["kind"], d["metadata"].get("namespace")) for d in operator_rbac(_render(helm))}
    assert ("ClusterRole", None) in cluster
    assert ("ClusterRoleBinding", None) in cluster
    assert not {k for k, _ in cluster} & {"Role", "RoleBinding"}

    docs = operator_rbac(_render(helm, *NAMESPACED, "--set", "rbac.aggregatedRoles=false"))
    kinds = {(d["kind"], d["metadata"].get("namespace")) for d in docs}
    assert {("Role", "team-a"), ("Role", "team-b")} <= kinds
    assert {("RoleBinding", "team-a"), ("RoleBinding", "team-b")} <= kinds
    # Nothing cluster-wide for the operator in namespaced mode (the CRDs are not RBAC).
    assert not {k for k, _ in kinds} & {"ClusterRole", "ClusterRoleBinding"}
    # With no namespaces given, namespaced mode means the release namespace.
    docs = operator_rbac(_render(helm, "--set", "rbac.scope=namespaced"))
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
    # --skip-tests: the helm test pod needs the ServiceAccount, which a dry run never makes.
    manifest = helm(
        "template", f"dry-{_uid()}", str(CHART), "-n", release_ns, *KUBE_VERSION, *values,
        "--skip-tests",
    ).stdout  # fmt: skip
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
    # A 403 on its own, outside the line's time stamp: not digits of a longer number or of
    # the time ("08:44:02.863403" and "10:11:55,403" each failed this test once).
    denied = [
        line
        for line in log_text.splitlines()
        if _HTTP_403.search(_TIMESTAMP.sub("", line)) or "orbidden" in line
    ]
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


# ---------------------------------------------------------------------------- chart options
FULL_VALUES = """\
replicaCount: 2
podAnnotations: {example.com/note: "hello"}
podLabels: {team: data}
nodeSelector: {kubernetes.io/os: linux}
tolerations:
  - {key: dedicated, operator: Equal, value: ops, effect: NoSchedule}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions:
            - {key: kubernetes.io/os, operator: In, values: [linux]}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels: {app.kubernetes.io/name: assetcron}
operator:
  extraEnv:
    - {name: PLAIN, value: "1"}
    - name: FROM_SECRET
      valueFrom: {secretKeyRef: {name: proxy, key: url, optional: true}}
    - name: MY_NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
extraVolumes:
  - name: ca
    configMap: {name: corp-ca, optional: true}
extraVolumeMounts:
  - {name: ca, mountPath: /etc/corp-ca, readOnly: true}
networkPolicy:
  enabled: true
  apiServer: {cidrs: [10.96.0.1/32], ports: [443, 6443]}
  extraEgress:
    - to: [{ipBlock: {cidr: 10.1.2.3/32}}]
      ports: [{port: 3128, protocol: TCP}]
"""


def _kinds(docs: list[Any], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def test_chart_options_render_as_given(
    helm: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(FULL_VALUES)
    docs = _render(helm, "-f", str(values))
    (deploy,) = _kinds(docs, "Deployment")
    assert deploy["spec"]["replicas"] == 2
    template = deploy["spec"]["template"]
    assert template["metadata"]["annotations"] == {"example.com/note": "hello"}
    assert template["metadata"]["labels"]["team"] == "data"
    pod = template["spec"]
    given = yaml.safe_load(FULL_VALUES)
    for key in ("nodeSelector", "tolerations", "affinity", "topologySpreadConstraints"):
        assert pod[key] == given[key], key
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    # extraEnv entries are EnvVar objects rendered as they are (valueFrom included).
    for var in given["operator"]["extraEnv"]:
        assert env[var["name"]] == var
    assert env["ASSETCRON_LEADER_ELECTION"]["value"] == "true"
    assert env["ASSETCRON_LEADER_ELECTION_ID"]["value"] == "t-assetcron-leader"
    assert env["POD_NAMESPACE"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert {"name": "ca", "configMap": {"name": "corp-ca", "optional": True}} in pod["volumes"]
    assert {"name": "ca", "mountPath": "/etc/corp-ca", "readOnly": True} in container[
        "volumeMounts"
    ]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True  # still

    (pdb,) = _kinds(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()

    (policy,) = _kinds(docs, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    # Nothing comes in but scrapes of the metrics port (metrics are on by default).
    assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": "metrics"}]}]
    api_rule, extra = policy["spec"]["egress"]
    assert api_rule["to"] == [{"ipBlock": {"cidr": "10.96.0.1/32"}}]
    assert {p["port"] for p in api_rule["ports"]} == {443, 6443}
    assert extra == given["networkPolicy"]["extraEgress"][0]

    # The Lease rights: in the release namespace only, get/update on our Lease by name.
    roles = {r["metadata"]["name"]: r for r in _kinds(docs, "Role")}
    lease_role = roles["t-assetcron-leader-election"]
    assert lease_role["metadata"]["namespace"] == "ops"
    assert lease_role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["t-assetcron-leader"],
            "verbs": ["get", "update"],
        },
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    ]
    (test_pod,) = [d for d in _kinds(docs, "Pod") if d["metadata"]["name"] == "t-assetcron-test"]
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert test_pod["spec"]["containers"][0]["image"] == "ghcr.io/assetcron/assetcron:0.1.0"
    assert "ops/t-assetcron-leader" in test_pod["spec"]["containers"][0]["command"]


def test_replicas_default_to_different_nodes_and_one_replica_has_no_pdb(
    helm: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    docs = _render(helm, "--set", "replicaCount=2")
    (deploy,) = _kinds(docs, "Deployment")
    anti = deploy["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    (term,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    one = _render(helm)
    assert not _kinds(one, "PodDisruptionBudget")  # it would block every drain
    assert "affinity" not in _kinds(one, "Deployment")[0]["spec"]["template"]["spec"]
    assert not _kinds(one, "NetworkPolicy")


def test_without_leader_election_one_replica_and_recreate(
    helm: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    docs = _render(helm, "--set", "leaderElection.enabled=false")
    (deploy,) = _kinds(docs, "Deployment")
    assert deploy["spec"]["strategy"] == {"type": "Recreate"}
    env = {
        e["name"]: e.get("value")
        for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["ASSETCRON_LEADER_ELECTION"] == "false"
    assert not [r for r in _kinds(docs, "Role") if "leader" in r["metadata"]["name"]]
    for settings, complaint in [
        (["--set", "leaderElection.enabled=false", "--set", "replicaCount=2"],
         "replicaCount > 1 requires leaderElection.enabled=true"),
        (["--set", "leaderElection.leaseDuration=10"],
         "leaderElection.leaseDuration must be greater than leaderElection.renewDeadline"),
        (["--set", "leaderElection.retryPeriod=9"],
         "leaderElection.renewDeadline must be greater than 1.2 x leaderElection.retryPeriod"),
    ]:  # fmt: skip
        result = helm("template", "t", str(CHART), *KUBE_VERSION, *settings, check=False)
        assert result.returncode != 0, settings
        assert complaint in result.stderr


def test_every_option_is_accepted_by_the_api_server(
    control_plane: PlaneHandle,
    helm: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    release_ns = _namespace(control_plane, "dryfull")
    values = tmp_path / "values.yaml"
    values.write_text(FULL_VALUES)
    manifest = helm(
        "template", f"dry-{_uid()}", str(CHART), "-n", release_ns, *KUBE_VERSION,
        "-f", str(values), "--set", "crds.install=false", "--skip-tests",
    ).stdout  # fmt: skip
    result = control_plane.kubectl(
        "apply", "--dry-run=server", "-n", release_ns, "-f", "-", input=manifest, check=False
    )
    assert result.returncode == 0, result.stderr
    applied = result.stdout
    for kind in ("networkpolicy", "poddisruptionbudget", "deployment", "role.rbac"):
        assert f"{kind}" in applied, applied


# ---------------------------------------------------------------------------- helm test
@pytest.mark.parametrize("mode", ["cluster", "namespaced"])
def test_helm_test_passes_against_the_installed_operator(
    control_plane: PlaneHandle,
    helm: Callable[..., subprocess.CompletedProcess[str]],
    cluster_release: Release,
    namespaced_release: Release,
    mode: str,
) -> None:
    release = cluster_release if mode == "cluster" else namespaced_release
    control_plane.kubectl(
        "rollout", "status", f"deployment/{release.fullname}", "-n", release.namespace,
        "--timeout=180s",
    )  # fmt: skip
    result = helm(
        "test", release.name, "-n", release.namespace, "--logs", "--timeout", "120s", check=False
    )
    if result.returncode != 0:  # show what the operator pods were doing
        logs = control_plane.kubectl(
            "logs", "-n", release.namespace, "-l", f"app.kubernetes.io/instance={release.name}",
            "--prefix", "--tail=40", check=False,
        )  # fmt: skip
        pods = control_plane.kubectl("get", "pods", "-n", release.namespace, check=False)
        pytest.fail(f"{result.stdout}{result.stderr}\n{pods.stdout}\n{logs.stdout}")
    assert "ok: assetcron.dev/v1alpha1 serves assetjobs, assetschedules" in result.stdout
    assert f"ok: lease {release.namespace}/{release.fullname}-leader held by" in result.stdout


# ---------------------------------------------------------------------------- HA
@pytest.fixture(scope="module")
def ha_release(
    control_plane: PlaneHandle,
    helm: Callable[..., subprocess.CompletedProcess[str]],
    cluster_release: Release,  # provides the CRDs
) -> Iterator[Release]:
    """Two replicas with leader election (the chart's default durations)."""
    name = f"ach-{_uid()}"
    ns = f"{name}-system"
    watched = _namespace(control_plane, "ach-w")
    helm(
        "install", name, str(CHART), "-n", ns, "--create-namespace",
        "--set", "replicaCount=2",
        "--set", "operator.logFormat=text",
        "--set", f"watchNamespaces={{{watched}}}",
        "--set", "crds.install=false",
        "--set", "rbac.aggregatedRoles=false",
    )  # fmt: skip
    yield Release(name, ns, "cluster", watched, f"{name}-assetcron")
    helm("uninstall", name, "-n", ns, check=False)


def _json(cp: PlaneHandle, *args: str) -> Any:
    return json.loads(cp.kubectl("get", *args, "-o", "json").stdout)


def _holder(cp: PlaneHandle, release: Release) -> str:
    lease = cp.kubectl(
        "get", "lease", f"{release.fullname}-leader", "-n", release.namespace, "-o", "json",
        check=False,
    )  # fmt: skip
    if lease.returncode != 0:
        return ""
    return str(json.loads(lease.stdout)["spec"].get("holderIdentity") or "")


def _operator_pods(cp: PlaneHandle, release: Release) -> list[dict[str, Any]]:
    pods = _json(
        cp, "pods", "-n", release.namespace, "-l", f"app.kubernetes.io/instance={release.name}"
    )["items"]
    return [p for p in pods if "deletionTimestamp" not in p["metadata"]]


def _two(pods: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    return pods if len(pods) == 2 else None


def _new_holder(cp: PlaneHandle, release: Release, old: str) -> str | None:
    holder = _holder(cp, release)
    return holder if holder and holder != old else None


def _kill_container(pod: dict[str, Any]) -> list[int]:
    """SIGKILL every process of the pod's operator container, found on this host by its
    cgroup (the node is this machine; its runc puts each container in a cgroup named
    after the container ID). Returns the PIDs killed."""
    (status,) = pod["status"]["containerStatuses"]
    container_id = status["containerID"].split("://", 1)[1]
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cgroups = (proc / "cgroup").read_text()
        except OSError:
            continue
        if container_id in cgroups:
            pids.append(int(proc.name))
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids


def _schedule_manifest(name: str) -> str:
    doc = yaml.safe_load((WEATHER / "assetschedule.yaml").read_text())
    doc["metadata"]["name"] = name
    return yaml.safe_dump(doc)


def test_two_replicas_one_leader_and_a_killed_leader_is_replaced(
    control_plane: PlaneHandle, ha_release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    from assetcron_operator.trigger import make_trigger_value

    cp, r = control_plane, ha_release
    cp.kubectl("rollout", "status", f"deployment/{r.fullname}", "-n", r.namespace, "--timeout=240s")
    pods = poll(lambda: _two(_operator_pods(cp, r)), 60, "two operator pods")
    names = {p["metadata"]["name"] for p in pods}
    holder = poll(lambda: _holder(cp, r), 60, "a leader in the Lease")
    leader_name = holder.split("_", 1)[0]
    assert leader_name in names
    (standby_name,) = names - {leader_name}

    # The leader acts.
    cp.kubectl("apply", "-n", r.watched, "-f", str(WEATHER / "assetjob.yaml"))
    cp.kubectl("apply", "-n", r.watched, "-f", str(WEATHER / "assetschedule.yaml"))

    def cronjobs(schedule: str) -> list[dict[str, Any]]:
        return list(
            _json(cp, "cronjobs", "-n", r.watched, "-l", f"assetcron.dev/schedule={schedule}")[
                "items"
            ]
        )

    poll(lambda: cronjobs("weather-daily"), 90, "the weather CronJob")
    # A manual run, handled once before the takeover.
    value = make_trigger_value(datetime.now(UTC).replace(microsecond=0))
    cp.kubectl(
        "annotate", "assetschedule", "weather-daily", "-n", r.watched,
        f"assetcron.dev/trigger={value}",
    )  # fmt: skip

    def trigger_result() -> str:
        st = _json(cp, "assetschedule", "weather-daily", "-n", r.watched).get("status") or {}
        last = st.get("lastTrigger") or {}
        return str(last.get("result") or "") if last.get("value") == value else ""

    assert poll(trigger_result, 60, "the manual run") == "Created"

    # The standby has not started kopf: no handler ran, nothing was written by it.
    standby_log = cp.kubectl("logs", standby_name, "-n", r.namespace).stdout
    assert "standing by" in standby_log
    assert "assetcron operator started" not in standby_log
    leader_log = cp.kubectl("logs", leader_name, "-n", r.namespace).stdout
    assert "became the leader" in leader_log
    assert "assetcron operator started" in leader_log

    # Kill the active operator process hard: no SIGTERM, no release of the Lease.
    leader_pod = _json(cp, "pod", leader_name, "-n", r.namespace)
    killed_at = time.monotonic()
    assert _kill_container(leader_pod), "no process of the leader's container found"
    cp.kubectl("apply", "-n", r.watched, "-f", "-", input=_schedule_manifest("weather-late"))

    new_holder = poll(lambda: _new_holder(cp, r, holder), 60, "a new leader")
    lease_after = time.monotonic() - killed_at
    poll(lambda: cronjobs("weather-late"), 60, "the CronJob of the schedule made meanwhile")
    acted_after = time.monotonic() - killed_at
    # The kubelet restarts the killed container at once, and it takes its own pod's Lease
    # without waiting (leader.is_predecessor); the standby wins only if it is faster. A
    # lost node restarts nothing: then the standby takes over after leaseDuration
    # (benchmarks/takeover.py measures that path).
    who = (
        "the killed pod's restarted container"
        if new_holder.startswith(f"{leader_name}_")
        else "the standby"
    )
    with capsys.disabled():
        print(
            f"\n[takeover] SIGKILL of the active replica {leader_name}: new leader ({who})"
            f" {new_holder.split('_', 1)[0]} holds the Lease after {lease_after:.1f}s; the"
            f" AssetSchedule created after the kill has its CronJob after {acted_after:.1f}s"
            " (leaseDuration 15s, renewDeadline 10s, retryPeriod 2s)"
        )

    # Converged, nothing duplicated: one CronJob per schedule, one manual Job.
    def ready(name: str) -> bool:
        st = _json(cp, "assetschedule", name, "-n", r.watched).get("status") or {}
        return any(
            c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or []
        )

    for name in ("weather-daily", "weather-late"):
        poll(lambda name=name: ready(name), 60, f"{name} Ready")
        assert len(cronjobs(name)) == 1
    jobs = _json(cp, "jobs", "-n", r.watched, "-l", "assetcron.dev/schedule=weather-daily")
    manual = [j for j in jobs["items"] if j["metadata"]["labels"].get("assetcron.dev/trigger")]
    assert len(manual) == 1, [j["metadata"]["name"] for j in manual]

    # The killed container restarted as a standby; both pods Ready, one leader.
    def restarted() -> bool:
        pod = _json(cp, "pod", leader_name, "-n", r.namespace)
        (cs,) = pod["status"]["containerStatuses"]
        return bool(cs["restartCount"] >= 1 and cs["ready"])

    poll(restarted, 90, "the killed container restarted")
    assert _holder(cp, r) == new_holder  # kept: nobody took it back
    # Whichever pod lost the race stands by (the restarted one is a new candidate too).
    other = ({leader_name, standby_name} - {new_holder.split("_", 1)[0]}).pop()
    assert "standing by" in cp.kubectl("logs", other, "-n", r.namespace).stdout


def test_a_deleted_leader_pod_hands_over_at_once(
    control_plane: PlaneHandle, ha_release: Release, capsys: pytest.CaptureFixture[str]
) -> None:
    cp, r = control_plane, ha_release
    cp.kubectl("rollout", "status", f"deployment/{r.fullname}", "-n", r.namespace, "--timeout=240s")
    holder = poll(lambda: _holder(cp, r), 60, "a leader in the Lease")
    leader_name = holder.split("_", 1)[0]
    started = time.monotonic()
    # A normal delete (drain, rolling update): SIGTERM, the leader releases the Lease.
    cp.kubectl("delete", "pod", leader_name, "-n", r.namespace, "--wait=false")
    new_holder = poll(lambda: _new_holder(cp, r, holder), 60, "a new leader")
    handed_over = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\n[takeover] kubectl delete pod of the leader (SIGTERM, Lease released): new"
            f" leader {new_holder.split('_', 1)[0]} after {handed_over:.1f}s"
        )
    # The Deployment replaces the pod; it stands by.
    cp.kubectl("rollout", "status", f"deployment/{r.fullname}", "-n", r.namespace, "--timeout=240s")
    poll(lambda: len(_operator_pods(cp, r)) == 2, 120, "two operator pods again")
