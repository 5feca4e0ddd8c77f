{{- define "housekeeper.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "housekeeper.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "housekeeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "housekeeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "housekeeper.labels" -}}
{{ include "housekeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "housekeeper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "housekeeper.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The operator's own kinds (plural resource names). */}}
{{- define "housekeeper.kinds" -}}
[clickhouseconnections, clickhousemigrations, retentionpolicies, clickhousebackups, clickhouserestores, reportmarts]
{{- end -}}

{{/* What the operator may do in a namespace it watches: one list, used by the ClusterRole or by each Role. */}}
{{- define "housekeeper.operatorRules" -}}
- apiGroups: ["housekeeper.dev"]
  resources: [clickhouseconnections, clickhousemigrations, retentionpolicies, clickhousebackups, clickhouserestores, reportmarts]
  verbs: [get, list, watch, patch, update]
- apiGroups: ["housekeeper.dev"]
  resources: [clickhouseconnections/status, clickhousemigrations/status, retentionpolicies/status, clickhousebackups/status, clickhouserestores/status, reportmarts/status]
  verbs: [get, patch, update]
- apiGroups: ["housekeeper.dev"]
  resources: [clickhouseconnections/finalizers, clickhousemigrations/finalizers, retentionpolicies/finalizers, clickhousebackups/finalizers, clickhouserestores/finalizers, reportmarts/finalizers]
  verbs: [update, patch]
# RBAC cannot narrow by label: the operator lists and watches only those labelled
# housekeeper.dev/allow=true, and uses no other (docs/security.md).
- apiGroups: [""]
  resources: [secrets, configmaps]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: ["events.k8s.io"]
  resources: [events]
  verbs: [create, patch]
{{- end -}}
