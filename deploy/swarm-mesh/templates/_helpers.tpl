{{/* Names ------------------------------------------------------------------------------------- */}}

{{- define "swarm-mesh.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "swarm-mesh.fullname" -}}
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

{{/* Name of one component's resources: <fullname>-<service>, at most 63 characters. */}}
{{- define "swarm-mesh.componentName" -}}
{{- printf "%s-%s" (include "swarm-mesh.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "swarm-mesh.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "swarm-mesh.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels ------------------------------------------------------------------------------------ */}}

{{- define "swarm-mesh.chartLabel" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "swarm-mesh.labels" -}}
helm.sh/chart: {{ include "swarm-mesh.chartLabel" . }}
app.kubernetes.io/name: {{ include "swarm-mesh.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: swarm-mesh
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ include "swarm-mesh.imageTag" . | quote }}
swarm-mesh.io/environment: {{ .Values.environment }}
{{- end -}}

{{- define "swarm-mesh.selectorLabels" -}}
app.kubernetes.io/name: {{ include "swarm-mesh.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one component (dict root, name). */}}
{{- define "swarm-mesh.componentLabels" -}}
{{ include "swarm-mesh.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "swarm-mesh.componentSelectorLabels" -}}
{{ include "swarm-mesh.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Image ------------------------------------------------------------------------------------- */}}

{{/* The tag as a label value (digest-only images show "digest"). */}}
{{- define "swarm-mesh.imageTag" -}}
{{- $tag := .Values.image.tag | default "" | toString -}}
{{- if $tag -}}{{ $tag | trunc 63 | trimSuffix "-" }}{{- else -}}digest{{- end -}}
{{- end -}}

{{/* repository@digest when a digest is set (the tag then only documents it), else repository:tag. */}}
{{- define "swarm-mesh.image" -}}
{{- $img := .Values.image -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else if $img.tag -}}
{{- printf "%s:%s" $img.repository (toString $img.tag) -}}
{{- else -}}
{{- fail "image.tag or image.digest must be set (an immutable reference: promote it with scripts/promote.mjs)" -}}
{{- end -}}
{{- end -}}

{{/* Settings of one component: .Values.defaults merged under .Values.services.<name> (dict root, name). */}}
{{- define "swarm-mesh.component" -}}
{{- $svc := index .root.Values.services .name -}}
{{- $merged := mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy $svc) -}}
{{- toYaml $merged -}}
{{- end -}}

{{/* Replicas a component runs at least (HPA minimum when autoscaling). */}}
{{- define "swarm-mesh.minReplicas" -}}
{{- if .autoscaling.enabled -}}{{ .autoscaling.minReplicas }}{{- else -}}{{ .replicas }}{{- end -}}
{{- end -}}

{{/* env entry from a Secret reference (dict name, ref, optional). */}}
{{- define "swarm-mesh.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name }}
      key: {{ .ref.key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* Secure defaults every container gets (not configurable on purpose). */}}
{{- define "swarm-mesh.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "swarm-mesh.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}
