"""The ValidatingAdmissionPolicy shipped with the CRDs: no escalation through assetcron.

An AssetJob or AssetSchedule is a way to run pods: the operator turns it into a CronJob
whose Jobs run the AssetJob's image with its pod settings (service account, volumes,
environment). Whoever may create or change one must therefore already be allowed to
create Jobs in that namespace, so they gain nothing through the operator that they did
not have. This is the model of Kubernetes' own CronJob (creating a CronJob needs no
more than the right to create it, and the CronJob controller creates Jobs with its own
rights) made explicit, as Argo Workflows documents for its workflow controller.

The rule is checked by the API server itself, at admission, with the requesting user's
identity (a ``ValidatingAdmissionPolicy``, GA since Kubernetes 1.30; its CEL has an
``authorizer``), so the operator never needs to be trusted to enforce it:

* on CREATE of an AssetJob or AssetSchedule;
* on UPDATE when the ``spec`` changes, or when the ``assetcron.dev/trigger`` annotation
  changes (``assetcron schedule trigger``, which starts a run) or the
  ``assetcron.dev/backfill`` annotation (``assetcron schedule backfill``, which starts
  many);
* never on status, metadata-only updates or deletes (the operator, the garbage collector
  and people tidying labels are not running anything).

The refusal names the user, the namespace and the right that is missing.
"""

from __future__ import annotations

from typing import Any

from assetcron_operator.models import GROUP
from assetcron_operator.render import BACKFILL_ANNOTATION, TRIGGER_ANNOTATION

__all__ = ["POLICY_NAME", "documents"]

#: Name of the policy and of its binding (cluster-scoped).
POLICY_NAME = f"{GROUP}-requires-job-rights"

_API = "admissionregistration.k8s.io/v1"


def _annotation(obj: str, key: str = TRIGGER_ANNOTATION) -> str:
    """CEL for ``obj``'s annotation ``key``, ``''`` when absent."""
    return (
        f"(has({obj}.metadata.annotations) && '{key}' in {obj}.metadata.annotations"
        f" ? {obj}.metadata.annotations['{key}'] : '')"
    )


#: Which requests the policy looks at (CEL ``matchConditions``): what can start a run.
RUNS_SOMETHING = (
    "request.operation == 'CREATE' || oldObject.spec != object.spec || "
    f"{_annotation('oldObject')} != {_annotation('object')} || "
    f"{_annotation('oldObject', BACKFILL_ANNOTATION)}"
    f" != {_annotation('object', BACKFILL_ANNOTATION)}"
)

#: The rule: the requesting user may create Jobs in the object's namespace.
MAY_CREATE_JOBS = (
    "authorizer.group('batch').resource('jobs').namespace(request.namespace)"
    ".check('create').allowed()"
)

_MESSAGE = (
    "'an ' + request.kind.kind + ' runs pods as Jobs: ' + request.userInfo.username"
    " + ' must be allowed to create jobs.batch in namespace ' + request.namespace"
    " + ' to create or change one (or to trigger or backfill runs)'"
)


def documents() -> list[dict[str, Any]]:
    """The ``ValidatingAdmissionPolicy`` and its ``ValidatingAdmissionPolicyBinding``
    (``admissionregistration.k8s.io/v1``, cluster-scoped), as plain dicts in that order."""
    policy = {
        "apiVersion": _API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        # The main resources only: status writes are the operator's.
                        "resources": ["assetjobs", "assetschedules"],
                    }
                ]
            },
            "matchConditions": [{"name": "starts-runs", "expression": RUNS_SOMETHING}],
            "validations": [
                {
                    "expression": MAY_CREATE_JOBS,
                    "messageExpression": _MESSAGE,
                    "reason": "Forbidden",
                }
            ],
        },
    }
    binding = {
        "apiVersion": _API,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME},
        "spec": {"policyName": POLICY_NAME, "validationActions": ["Deny"]},
    }
    return [policy, binding]
