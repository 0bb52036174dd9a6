{{/*
Helpers of the assetcron chart. Every name is prefixed "assetcron." so that a parent chart
including this one as a subchart cannot collide with them.
*/}}

{{/* assetcron.name: the chart name, or nameOverride; at most 63 characters. */}}
{{- define "assetcron.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
assetcron.fullname: the prefix of every object name. fullnameOverride if set; otherwise
the release name when it already contains the chart name (release "assetcron" gives
"assetcron", not "assetcron-assetcron"), else "<release>-<chart>". At most 52 characters,
so that "<fullname>-view" and "<fullname>-edit" stay valid label values too.
*/}}
{{- define "assetcron.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* assetcron.chart: "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "assetcron.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
assetcron.selectorLabels: the immutable labels a Deployment selects its pods by.
*/}}
{{- define "assetcron.selectorLabels" -}}
app.kubernetes.io/name: {{ include "assetcron.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
assetcron.labels: the recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/)
on every object the chart renders, the generated CRD templates included.
*/}}
{{- define "assetcron.labels" -}}
helm.sh/chart: {{ include "assetcron.chart" . }}
{{ include "assetcron.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: assetcron
{{- end }}

{{/* assetcron.serviceAccountName: the ServiceAccount the operator runs as. */}}
{{- define "assetcron.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "assetcron.fullname" .) .Values.serviceAccount.name }}
{{- else if .Values.serviceAccount.name }}
{{- .Values.serviceAccount.name }}
{{- else }}
{{- fail "serviceAccount.name is required when serviceAccount.create is false: name the existing ServiceAccount the operator runs as" }}
{{- end }}
{{- end }}

{{/* assetcron.image: "repository@digest" when a digest is set, else "repository:tag". */}}
{{- define "assetcron.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* assetcron.leaseName: the leader-election Lease, in the release namespace. */}}
{{- define "assetcron.leaseName" -}}
{{- printf "%s-leader" (include "assetcron.fullname" .) }}
{{- end }}

{{/*
assetcron.watchNamespaces: the namespaces the operator reconciles, comma-separated (the
format of ASSETCRON_WATCH_NAMESPACES). Empty means the whole cluster, which only the
cluster scope can grant: with rbac.scope "namespaced" an empty list means the release
namespace.
*/}}
{{- define "assetcron.watchNamespaces" -}}
{{- if .Values.watchNamespaces }}
{{- join "," .Values.watchNamespaces }}
{{- else if eq .Values.rbac.scope "namespaced" }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/*
assetcron.operatorRules: the namespaced permissions the operator uses, no more. They are
granted by a ClusterRole (rbac.scope "cluster") or by a Role in each watched namespace
(rbac.scope "namespaced"). Each rule names the code that needs it; the control-plane test
tests/integration/test_chart.py runs the operator with exactly these permissions.
*/}}
{{- define "assetcron.operatorRules" -}}
# kopf lists and watches both kinds (handlers and indexes in handlers.py) and keeps its
# progress in annotations under assetcron.dev/ (patch); the service reads an AssetJob
# (get) and writes both kinds' status through the status subresource.
- apiGroups: ["assetcron.dev"]
  resources: ["assetjobs", "assetschedules"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["assetcron.dev"]
  resources: ["assetjobs/status", "assetschedules/status"]
  verbs: ["patch"]
# CronJobs: kopf index (list, watch); the service reads one (get) and server-side
# applies the desired one (patch; the API server also checks create when it is missing).
- apiGroups: ["batch"]
  resources: ["cronjobs"]
  verbs: ["get", "list", "watch", "create", "patch"]
# Jobs: kopf index and event handler (list, watch) feed the run history; a manual
# trigger, a backfill and catchUp All create Jobs (create) and read one back when it
# already exists or left the index (get); finished
# manual runs beyond the schedule's history limits are pruned (delete), as the CronJob
# controller prunes the runs it created.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
# Pods: kopf index (list, watch) of the run pods, for the runner's termination summary.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch"]
# Events on the reconciled objects (core v1): kopf posts warnings and errors; the
# operator posts one per run transition and spec problem under a deterministic name
# (create), and counts a spec problem that comes back on its existing Event (get, patch;
# events.py).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "get", "patch"]
{{- end }}

{{/*
assetcron.clusterRules: what kopf itself reads cluster-wide, granted with rbac.scope
"cluster" only (kopf/_core/reactor/observation.py, verified by running the operator with
the chart's ServiceAccount in tests/integration/test_chart.py):

* CRDs (list, watch): kopf's resource observer notices our CRDs being installed or
  upgraded after the operator started.

Namespaces are never listed: with watchNamespaces set the operator turns kopf's scanning
off (settings.scanning.disabled in handlers.py), so it needs neither rule then, and in
namespaced mode none is granted.
*/}}
{{- define "assetcron.clusterRules" -}}
# kopf's resource observer: notices our CRDs being installed or upgraded (read-only).
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- end }}
