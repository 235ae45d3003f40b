{{/* Names, labels, image references and the RBAC rules shared by cluster and namespaced mode. */}}

{{- define "eventreplay-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-<chart>, cut to 63 characters (the DNS label limit of Service names). */}}
{{- define "eventreplay-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Cluster-scoped objects carry the release namespace too: two releases of the same name in
     different namespaces (one operator per team, in namespaced mode) must not collide. */}}
{{- define "eventreplay-operator.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "eventreplay-operator.fullname" .) }}
{{- end }}

{{- define "eventreplay-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eventreplay-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "eventreplay-operator.labels" -}}
{{ include "eventreplay-operator.releaseLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The labels of everything the release makes, without the component. */}}
{{- define "eventreplay-operator.releaseLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "eventreplay-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: eventreplay
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* "true" when the approval policy is wanted and the API server serves it, else empty. */}}
{{- define "eventreplay-operator.approvalPolicy" -}}
{{- if and .Values.approvals.policy.enabled (.Capabilities.APIVersions.Has "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy") -}}
true
{{- end }}
{{- end }}

{{- define "eventreplay-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "eventreplay-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest when a digest is given (immutable), else repository:tag. */}}
{{- define "eventreplay-operator.imageRef" -}}
{{- if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository .tag }}
{{- end }}
{{- end }}

{{- define "eventreplay-operator.image" -}}
{{- $img := .Values.image }}
{{- include "eventreplay-operator.imageRef" (dict "repository" $img.repository "tag" (default .Chart.AppVersion $img.tag) "digest" $img.digest) }}
{{- end }}

{{/* The worker image: its own reference when any worker.image field is set, else the operator's. */}}
{{- define "eventreplay-operator.workerImage" -}}
{{- $w := .Values.worker.image }}
{{- if or $w.repository $w.tag $w.digest }}
{{- $repo := default .Values.image.repository $w.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) $w.tag }}
{{- include "eventreplay-operator.imageRef" (dict "repository" $repo "tag" $tag "digest" $w.digest) }}
{{- else }}
{{- include "eventreplay-operator.image" . }}
{{- end }}
{{- end }}

{{/*
Framework (kopf), cluster scope: kopf lists the CustomResourceDefinitions at start-up and
watches them to notice when the EventReplay CRD appears or changes. Read-only; kopf's peering
is off (standalone mode: one replica, Recreate), so no KopfPeering access is needed.
*/}}
{{- define "eventreplay-operator.rules.framework" -}}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
{{- end }}

{{/*
Application rules, the same in every watched namespace (or cluster-wide in cluster mode).
Deliberately absent: Secrets (worker pods get credentials through secretKeyRef, resolved by the
kubelet; the operator's own credentials come from its environment), pods create (the Job
controller creates pods), and any wildcard (it would also cover resources added later).
*/}}
{{- define "eventreplay-operator.rules.application" -}}
# Application: the EventReplays it reconciles; patch is kopf's finalizer and its progress
# annotations (status is never written through the main resource).
- apiGroups: [eventreplay.io]
  resources: [eventreplays]
  verbs: [get, list, watch, patch]
# Application: conditions, plan and progress, written as merge patches to the status subresource.
- apiGroups: [eventreplay.io]
  resources: [eventreplays/status]
  verbs: [patch]
# Application: the gap watches it scans (patch: kopf's finalizer and annotations), their status,
# and the draft EventReplays a watch makes for its gaps (create only: they go with the watch).
- apiGroups: [eventreplay.io]
  resources: [eventreplaywatches]
  verbs: [get, list, watch, patch]
- apiGroups: [eventreplay.io]
  resources: [eventreplaywatches/status]
  verbs: [patch]
- apiGroups: [eventreplay.io]
  resources: [eventreplays]
  verbs: [create]
# Application: worker Jobs carry owner references with blockOwnerDeletion; where the
# OwnerReferencesPermissionEnforcement admission plugin is on (e.g. OpenShift) that requires
# update on the owner's finalizers subresource.
- apiGroups: [eventreplay.io]
  resources: [eventreplays/finalizers, eventreplaywatches/finalizers]
  verbs: [update]
# Application: one worker Job per partition (and the combine, reconciliation and promotion Jobs),
# found by label (list); watched so a finished Job wakes its replay (kopf's event handler); patch
# suspends and resumes them, and sets a promoted replay's finished Jobs' ttlSecondsAfterFinished
# (Kubernetes' TTL controller deletes them); the rest go with the replay (owner references): no delete.
- apiGroups: [batch]
  resources: [jobs]
  verbs: [list, watch, create, patch]
# Application: a replay's inline JSON Schema, carried once in an immutable ConfigMap its partition
# Jobs mount (get: whose is one already holding the name); the replay owns it (owner reference),
# so Kubernetes' garbage collector deletes it: no delete.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [create, get]
# Application: a failed worker's reason is in its pod's termination message, and a stuck one's
# pod says why it cannot run (pull, Secret, node): pods listed by label.
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
# Framework: Kubernetes Events on every transition (kopf POSTs core/v1 Events, never patches them).
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end }}
