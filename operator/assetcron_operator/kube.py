"""The storage layer: every call the operator makes to the Kubernetes API.

Built on the official ``kubernetes`` client's :class:`kubernetes.client.ApiClient`
(configuration, authentication, TLS, connection pool, retries) without its generated API
classes: objects go in and come out as plain JSON-shaped dicts in the API's own
camelCase, so the pure render/status code never sees client model classes. The
generated classes (``BatchV1Api``, ``CoreV1Api``, ...) would import their pydantic
models and build a validator per method: 23 MiB of the operator's resident memory
before any object is seen (64 -> 87 MiB, measured with kubernetes 37), and a
``validate_call`` per request; the few REST paths used here are spelled out instead.

Writes:

* CronJobs are written with server-side apply (``application/apply-patch+yaml``,
  field manager ``assetcron``, ``force=True``, as the Kubernetes docs advise for
  controllers: https://kubernetes.io/docs/reference/using-api/server-side-apply/#using-server-side-apply-in-a-controller).
  The service only calls :meth:`Kube.apply_cronjob` after comparing the desired object
  with the live one, so an idle resync writes nothing.
* Every write is counted in :attr:`Kube.writes` (verb -> count); the integration test
  and ``benchmarks/reconcile.py`` read it to prove an idle resync performs zero writes.

Errors: :class:`kubernetes.client.ApiException` propagates, except where a method's
docstring says it maps a status (404 -> ``None``, 409 on create -> the existing object).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

import kubernetes


class RefusedError(Exception):
    """The API server refused an object as invalid (HTTP 400/422).

    Attributes:
        code: the HTTP status.
        message: the API server's own message (its ``Status.message``), one line.
    """

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = " ".join(message.split())
        super().__init__(self.message)


class ConflictError(Exception):
    """A write's ``resourceVersion`` precondition failed (HTTP 409): the object changed
    since it was read; read it again and recompute."""


def _is_refusal(exc: kubernetes.client.ApiException) -> bool:
    """True when the API server refused the object itself, so that a retry cannot help.

    HTTP 400 and 422 (invalid), and the 500 a server-side apply answers when it cannot
    even convert the object to its Go type (a resource quantity such as ``12 parsecs``:
    "failed to convert new object ... to proper version", measured on Kubernetes 1.36).
    Every other error (conflicts, 5xx from an overloaded server, network) is retried.
    """
    if exc.status in (400, 422):
        return True
    return exc.status == 500 and "to proper version" in _api_message(exc)


def _api_message(exc: kubernetes.client.ApiException) -> str:
    """The ``message`` of the ``Status`` the API server answered with, else its reason."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or exc.reason or f"HTTP {exc.status}")


__all__ = [
    "FIELD_MANAGER",
    "GROUP",
    "JOB_PLURAL",
    "SCHEDULE_PLURAL",
    "VERSION",
    "ConflictError",
    "Kube",
    "make_api_client",
]

GROUP = "assetcron.dev"
VERSION = "v1alpha1"
JOB_PLURAL = "assetjobs"
SCHEDULE_PLURAL = "assetschedules"
FIELD_MANAGER = "assetcron"

_APPLY = "application/apply-patch+yaml"
_MERGE = "application/merge-patch+json"
_NOT_FOUND = 404
_CONFLICT = 409

JsonDict = dict[str, Any]


def make_api_client(
    *, kubeconfig: str | None = None, pool_size: int = 32, context: str | None = None
) -> Any:
    """Build a :class:`kubernetes.client.ApiClient` from in-cluster config or a kubeconfig.

    ``kubeconfig`` (a path) or ``context`` (a kubeconfig context name, as ``kubectl
    --context``) wins; otherwise the in-cluster service account is tried and then
    ``$KUBECONFIG`` / ``~/.kube/config``. ``pool_size`` is the urllib3 connection
    pool size: the operator calls the API from several handler threads at once.

    Raises:
        kubernetes.config.ConfigException: no usable configuration was found.
    """
    configuration = kubernetes.client.Configuration()
    # The config loaders carry no annotations; Any keeps mypy --strict honest about that.
    config: Any = kubernetes.config
    if kubeconfig is not None or context is not None:
        config.load_kube_config(
            config_file=kubeconfig, context=context, client_configuration=configuration
        )
    else:
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            config.load_kube_config(client_configuration=configuration)
    configuration.connection_pool_maxsize = pool_size
    return kubernetes.client.ApiClient(configuration)


class Kube:
    """Typed-by-convention access to the objects assetcron reads and writes.

    Args:
        api_client: a :class:`kubernetes.client.ApiClient` (injected; tests pass the
            control plane's, the operator builds one with :func:`make_api_client`).
    """

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client
        self._lock = threading.Lock()
        #: Number of write calls made through this object, by verb (``apply``, ``patch``,
        #: ``create``, ``status``).
        self.writes: Counter[str] = Counter()

    # ------------------------------------------------------------------ helpers
    def _count(self, verb: str) -> None:
        with self._lock:
            self.writes[verb] += 1

    @staticmethod
    def _json(response: Any) -> JsonDict:
        return cast(JsonDict, json.loads(response.data))

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """One request through the client's ApiClient; returns the read response (``.data``
        is the body's bytes).

        Raises:
            kubernetes.client.ApiException: any answer other than 2xx (the subclass the
                generated API classes raise for that status, e.g. ``NotFoundException``).
        """
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = self.api_client.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query) or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(*request)
        response.read()
        if not 200 <= response.status <= 299:
            raise kubernetes.client.ApiException.from_response(
                http_resp=response, body=None, data=None
            )
        return response

    def _json_or_none(self, call: Callable[[], Any]) -> JsonDict | None:
        """``call()``'s JSON body, or ``None`` when the API answers 404 Not Found."""
        try:
            return self._json(call())
        except kubernetes.client.ApiException as exc:
            if exc.status == _NOT_FOUND:
                return None
            raise

    @property
    def total_writes(self) -> int:
        """Sum of :attr:`writes` over all verbs."""
        with self._lock:
            return sum(self.writes.values())

    # ------------------------------------------------------------------ CronJobs
    def get_cronjob(self, namespace: str, name: str) -> JsonDict | None:
        """The live CronJob, or ``None`` when it does not exist (404)."""
        return self._json_or_none(
            lambda: self._call("GET", _batch_path(namespace, "cronjobs", name))
        )

    def apply_cronjob(self, manifest: Mapping[str, Any]) -> JsonDict:
        """Server-side apply ``manifest`` (a full ``batch/v1`` CronJob) and return the result.

        Creates the CronJob when missing, updates it in place otherwise (same UID); fields
        this manager set before and no longer sets are removed by the API server.

        Raises:
            RefusedError: the API server found the CronJob invalid (see
                :func:`_is_refusal`), e.g. a resource quantity or volume of the AssetJob's
                template it cannot accept; retrying cannot help, so it is told apart from
                other API errors.
        """
        meta = manifest["metadata"]
        self._count("apply")
        try:
            response = self._call(
                "PATCH",
                _batch_path(meta["namespace"], "cronjobs", meta["name"]),
                query=(("fieldManager", FIELD_MANAGER), ("force", "true")),
                body=dict(manifest),
                content_type=_APPLY,
            )
        except kubernetes.client.ApiException as exc:
            if _is_refusal(exc):
                raise RefusedError(int(exc.status), _api_message(exc)) from exc
            raise
        return self._json(response)

    def patch_cronjob(self, namespace: str, name: str, patch: Mapping[str, Any]) -> JsonDict | None:
        """JSON merge-patch a CronJob (e.g. ``{"spec": {"suspend": true}}``); ``None`` if absent."""
        self._count("patch")
        return self._json_or_none(
            lambda: self._call(
                "PATCH",
                _batch_path(namespace, "cronjobs", name),
                query=(("fieldManager", FIELD_MANAGER),),
                body=dict(patch),
                content_type=_MERGE,
            )
        )

    # ------------------------------------------------------------------ Jobs
    def create_job(self, manifest: Mapping[str, Any]) -> tuple[JsonDict, bool]:
        """Create a Job; returns ``(job, created)``.

        A 409 AlreadyExists is not an error: the Job's name is derived from the trigger,
        so a retry after a crash finds the Job the first attempt made and returns it with
        ``created=False`` (this is what makes "run now" act once per trigger value).
        """
        meta = manifest["metadata"]
        self._count("create")
        try:
            resp = self._call(
                "POST",
                _batch_path(meta["namespace"], "jobs"),
                query=(("fieldManager", FIELD_MANAGER),),
                body=dict(manifest),
            )
            return self._json(resp), True
        except kubernetes.client.ApiException as exc:
            if exc.status != _CONFLICT:
                raise
        existing = self._call("GET", _batch_path(meta["namespace"], "jobs", meta["name"]))
        return self._json(existing), False

    def delete_job(self, namespace: str, name: str, *, uid: str | None = None) -> bool:
        """Delete a Job and, in the background, its pods; ``False`` when already gone.

        ``uid`` makes it a precondition: a newer Job of the same name is never deleted.
        """
        self._count("delete")
        body: Any = {"propagationPolicy": "Background"}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            self._call("DELETE", _batch_path(namespace, "jobs", name), body=body)
        except kubernetes.client.ApiException as exc:
            if exc.status in (_NOT_FOUND, _CONFLICT):
                return False
            raise
        return True

    # ------------------------------------------------------------------ our custom resources
    def get_assetjob(self, namespace: str, name: str) -> JsonDict | None:
        """The AssetJob ``namespace/name``, or ``None`` when it does not exist."""
        return self._get_custom(namespace, JOB_PLURAL, name)

    def get_schedule(self, namespace: str, name: str) -> JsonDict | None:
        """The AssetSchedule ``namespace/name``, or ``None`` when it does not exist."""
        return self._get_custom(namespace, SCHEDULE_PLURAL, name)

    def _get_custom(self, namespace: str, plural: str, name: str) -> JsonDict | None:
        return self._json_or_none(lambda: self._call("GET", _custom_path(namespace, plural, name)))

    def patch_schedule_status(
        self,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: str | None = None,
    ) -> JsonDict | None:
        """Merge-patch ``status`` through the AssetSchedule's status subresource.

        Used outside kopf handlers of the schedule itself (Job events); inside them the
        handler's ``patch.status`` is used instead. ``None`` when the schedule is gone.
        With ``resource_version`` the patch applies only to that version of the object
        (optimistic concurrency, for status fields computed from the previous ones).

        Raises:
            ConflictError: the object is at another ``resource_version``.
        """
        return self._patch_custom_status(
            namespace, SCHEDULE_PLURAL, name, status, resource_version=resource_version
        )

    def patch_assetjob_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> JsonDict | None:
        """Merge-patch ``status`` through the AssetJob's status subresource."""
        return self._patch_custom_status(namespace, JOB_PLURAL, name, status)

    def _patch_custom_status(
        self,
        namespace: str,
        plural: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: str | None = None,
    ) -> JsonDict | None:
        self._count("status")
        body: JsonDict = {"status": dict(status)}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        try:
            return self._json_or_none(
                lambda: self._call(
                    "PATCH",
                    _custom_path(namespace, plural, name) + "/status",
                    query=(("fieldManager", FIELD_MANAGER),),
                    body=body,
                    content_type=_MERGE,
                )
            )
        except kubernetes.client.ApiException as exc:
            if exc.status == _CONFLICT and resource_version is not None:
                raise ConflictError(_api_message(exc)) from exc
            raise

    def list_jobs(self, namespace: str, label_selector: str) -> list[JsonDict]:
        """The Jobs of ``namespace`` matching ``label_selector`` (one list call)."""
        response = self._call(
            "GET", _batch_path(namespace, "jobs"), query=(("labelSelector", label_selector),)
        )
        return cast(list[JsonDict], self._json(response).get("items") or [])

    def get_job(self, namespace: str, name: str) -> JsonDict | None:
        """The Job ``namespace/name``, or ``None`` when it does not exist."""
        return self._json_or_none(lambda: self._call("GET", _batch_path(namespace, "jobs", name)))

    def annotate_schedule(
        self, namespace: str, name: str, annotations: Mapping[str, str | None]
    ) -> JsonDict | None:
        """Merge-patch annotations on an AssetSchedule (``None`` values remove a key).

        Returns ``None`` when the schedule does not exist.
        """
        self._count("patch")
        return self._json_or_none(
            lambda: self._call(
                "PATCH",
                _custom_path(namespace, SCHEDULE_PLURAL, name),
                query=(("fieldManager", FIELD_MANAGER),),
                body={"metadata": {"annotations": dict(annotations)}},
                content_type=_MERGE,
            )
        )

    # ------------------------------------------------------------------ events
    def post_event(
        self,
        *,
        namespace: str,
        name: str,
        involved: Mapping[str, Any],
        type_: str,
        reason: str,
        message: str,
        component: str,
        now: datetime,
        series: bool = False,
    ) -> bool:
        """Create the ``core/v1`` Event ``name`` about ``involved`` (an object reference).

        The name is deterministic (:func:`assetcron_operator.events.event_name`), so an
        Event that exists already (409) was posted before: nothing more is done, unless
        ``series``, in which case its ``count`` is bumped and ``lastTimestamp`` set to
        ``now`` (how ``kubectl describe`` shows a repeated event: ``(x2 over 5m)``).
        Returns True when something was written. Other API errors propagate.
        """
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body: Any = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": dict(involved),
            "type": type_,
            "reason": reason,
            "message": message,
            "count": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "source": {"component": component},
            "reportingComponent": component,
            "reportingInstance": component,
        }
        events = f"/api/v1/namespaces/{quote(namespace, safe='')}/events"
        self._count("event")
        try:
            self._call("POST", events, body=body)
            return True
        except kubernetes.client.ApiException as exc:
            if exc.status != _CONFLICT:
                raise
        if not series:
            return False
        one = f"{events}/{quote(name, safe='')}"
        existing = self._json(self._call("GET", one))
        self._count("event")
        self._call(
            "PATCH",
            one,
            body={"count": int(existing.get("count") or 1) + 1, "lastTimestamp": stamp},
            content_type=_MERGE,
        )
        return True

    # ------------------------------------------------------------------ the CLI's reads
    def list_schedules(self, namespace: str | None) -> list[JsonDict]:
        """AssetSchedules of ``namespace`` (every namespace when ``None``), by name."""
        if namespace is None:
            path = f"/apis/{GROUP}/{VERSION}/{SCHEDULE_PLURAL}"
        else:
            path = (
                f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace, safe='')}/{SCHEDULE_PLURAL}"
            )
        items = cast(list[JsonDict], self._json(self._call("GET", path)).get("items") or [])
        return sorted(items, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))

    def patch_schedule(
        self, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> JsonDict | None:
        """JSON merge-patch an AssetSchedule (e.g. ``{"spec": {"suspend": true}}``);
        ``None`` when it does not exist."""
        self._count("patch")
        return self._json_or_none(
            lambda: self._call(
                "PATCH",
                _custom_path(namespace, SCHEDULE_PLURAL, name),
                query=(("fieldManager", "kubectl-assetcron"),),
                body=dict(patch),
                content_type=_MERGE,
            )
        )

    def list_pods(self, namespace: str, label_selector: str) -> list[JsonDict]:
        """Pods of ``namespace`` matching ``label_selector``, oldest first."""
        response = self._call(
            "GET",
            f"/api/v1/namespaces/{quote(namespace, safe='')}/pods",
            query=(("labelSelector", label_selector),),
        )
        items = cast(list[JsonDict], self._json(response).get("items") or [])
        return sorted(items, key=lambda p: p["metadata"].get("creationTimestamp") or "")

    def pod_log(self, namespace: str, pod: str, *, container: str, follow: bool = False) -> Any:
        """The log of ``container`` in ``pod``: an iterable of byte chunks (streamed when
        ``follow``), from ``GET /api/v1/namespaces/NS/pods/POD/log``. The CLI's only use of
        a generated API class (streaming), created here so the operator never loads it."""
        core = kubernetes.client.CoreV1Api(self.api_client)
        resp: Any = core.read_namespaced_pod_log(
            pod, namespace, container=container, follow=follow, _preload_content=False
        )
        return resp.stream(64 * 1024)


def _batch_path(namespace: str, plural: str, name: str | None = None) -> str:
    path = f"/apis/batch/v1/namespaces/{quote(namespace, safe='')}/{plural}"
    return path if name is None else f"{path}/{quote(name, safe='')}"


def _custom_path(namespace: str, plural: str, name: str) -> str:
    ns, obj = quote(namespace, safe=""), quote(name, safe="")
    return f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{plural}/{obj}"
