{{/* Names and labels shared by every template. */}}

{{- define "pmo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pmo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pmo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pmo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pmo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pmo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "pmo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pmo.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "pmo.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "pmo.peeringName" -}}
{{- default (include "pmo.fullname" .) .Values.ha.peeringName -}}
{{- end -}}

{{/* Cross-field checks the JSON schema cannot phrase as clearly. */}}
{{- define "pmo.validate" -}}
{{- if eq .Values.rbac.scope "namespaced" -}}
{{- if not .Values.watchNamespaces -}}
{{- fail "rbac.scope=namespaced needs watchNamespaces: the operator serves exactly those namespaces" -}}
{{- end -}}
{{- else if .Values.watchNamespaces -}}
{{- fail "watchNamespaces is only for rbac.scope=namespaced; with rbac.scope=cluster the operator serves every namespace" -}}
{{- end -}}
{{- if and .Values.ha.enabled (eq (include "pmo.peeringName" .) "default") -}}
{{- fail "ha.peeringName must not be \"default\": kopf joins a peering named default implicitly" -}}
{{- end -}}
{{- end -}}

{{/*
The API permissions the operator uses, and nothing more (see docs/helm.md for why each exists).
Rendered into the ClusterRole, or into one Role per watched namespace.
*/}}
{{- define "pmo.rbacRules" -}}
{{- /* The operator's own identity: serve ProviderMigrations, post Events, act as a namespace's ServiceAccount.
Everything a migration reads or writes is done as that ServiceAccount (impersonated): its RBAC decides. */ -}}
- apiGroups: ["migrations.llmops.dev"]
  resources: ["providermigrations"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["migrations.llmops.dev"]
  resources: ["providermigrations/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["impersonate"]
{{- /* Templates are shared policy, read as the operator itself, `get` only (once per migration start). */}}
- apiGroups: ["migrations.llmops.dev"]
  resources: ["migrationtemplates"]
  verbs: ["get"]
{{- if eq .Values.rbac.scope "cluster" }}
- apiGroups: ["migrations.llmops.dev"]
  resources: ["clustermigrationtemplates"]
  verbs: ["get"]
{{- end }}
{{- end -}}

{{/* kopf peering (ha.enabled): watch all peering objects, write only our own. */}}
{{- define "pmo.peeringRules" -}}
{{- $resource := ternary "clusterkopfpeerings" "kopfpeerings" (eq .Values.rbac.scope "cluster") -}}
- apiGroups: ["kopf.dev"]
  resources: [{{ $resource | quote }}]
  verbs: ["list", "watch"]
- apiGroups: ["kopf.dev"]
  resources: [{{ $resource | quote }}]
  resourceNames: [{{ include "pmo.peeringName" . | quote }}]
  verbs: ["get", "patch"]
{{- end -}}
