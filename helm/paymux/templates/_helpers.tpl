{{/* Names, labels and the shared pieces of the paymux pods. */}}

{{- define "paymux.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped name; truncated so "<fullname>-migrate" still fits 63 characters. */}}
{{- define "paymux.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "paymux.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "paymux.selectorLabels" -}}
app.kubernetes.io/name: {{ include "paymux.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "paymux.labels" -}}
helm.sh/chart: {{ include "paymux.chart" . }}
{{ include "paymux.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: paymux
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Usage: include "paymux.componentSelectorLabels" (dict "root" $ "component" "api") */}}
{{- define "paymux.componentSelectorLabels" -}}
{{ include "paymux.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "paymux.componentLabels" -}}
{{ include "paymux.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "paymux.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "paymux.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "paymux.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The paymux configuration file. Operator settings come from .Values.config; the chart owns
server.listen, database.url and delivery.encryption_key, so secrets are always ${ENV} references.
Rendering fails on a literal secret, on a ${NAME} no environment variable provides, and on a
termination grace period too short to drain.
*/}}
{{- define "paymux.config" -}}
{{- $config := deepCopy .Values.config }}
{{- if hasKey ($config.database | default dict) "url" }}
{{- fail "config.database.url: do not set it; the chart renders \"${PAYMUX_DATABASE_URL}\" from secrets.databaseUrl" }}
{{- end }}
{{- if hasKey ($config.delivery | default dict) "encryption_key" }}
{{- fail "config.delivery.encryption_key: do not set it; the chart renders \"${PAYMUX_SECRETS_KEY}\" from secrets.encryptionKey" }}
{{- end }}
{{- $server := omit ($config.server | default dict) "listen" }}
{{- $_ := set $server "listen" (printf "0.0.0.0:%d" (int .Values.containerPort)) }}
{{- $_ := set $config "server" $server }}
{{- $database := $config.database | default dict }}
{{- $_ := set $database "url" "${PAYMUX_DATABASE_URL}" }}
{{- $_ := set $config "database" $database }}
{{- if .Values.secrets.encryptionKey.existingSecret }}
{{- $delivery := $config.delivery | default dict }}
{{- $_ := set $delivery "encryption_key" "${PAYMUX_SECRETS_KEY}" }}
{{- $_ := set $config "delivery" $delivery }}
{{- end }}
{{- $reference := "^\\$\\{[^}]+\\}$" }}
{{- range $i, $connector := $config.connectors | default list }}
{{- range $key, $value := $connector.credentials | default dict }}
{{- if and $value (not (regexMatch $reference (toString $value))) }}
{{- fail (printf "config.connectors[%d].credentials.%s: must be a \"${NAME}\" or \"${file:/path}\" reference (secrets.env), never a literal secret" $i $key) }}
{{- end }}
{{- end }}
{{- $webhook := $connector.webhook | default dict }}
{{- if and $webhook.secret (not (regexMatch $reference (toString $webhook.secret))) }}
{{- fail (printf "config.connectors[%d].webhook.secret: must be a \"${NAME}\" or \"${file:/path}\" reference (secrets.env), never a literal secret" $i) }}
{{- end }}
{{- end }}
{{- $text := toYaml $config }}
{{- $provided := list "PAYMUX_DATABASE_URL" }}
{{- if .Values.secrets.encryptionKey.existingSecret }}
{{- $provided = append $provided "PAYMUX_SECRETS_KEY" }}
{{- end }}
{{- range .Values.secrets.env }}
{{- $provided = append $provided .name }}
{{- end }}
{{- range .Values.extraEnv }}
{{- $provided = append $provided .name }}
{{- end }}
{{- range regexFindAll "\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}" $text -1 }}
{{- $name := trimSuffix "}" (trimPrefix "${" .) }}
{{- if not (has $name $provided) }}
{{- fail (printf "config uses ${%s} but no environment variable %s is provided: add it to secrets.env (or extraEnv)" $name $name) }}
{{- end }}
{{- end }}
{{- $graceMs := int (($config.server).shutdown_grace_ms | default 20000) }}
{{- $needMs := add (mul (int .Values.api.preStopSleepSeconds) 1000) $graceMs }}
{{- if le (mul (int .Values.api.terminationGracePeriodSeconds) 1000) $needMs }}
{{- fail (printf "api.terminationGracePeriodSeconds (%d s) must exceed api.preStopSleepSeconds + config.server.shutdown_grace_ms (%d ms), or rolling updates cut requests" (int .Values.api.terminationGracePeriodSeconds) $needMs) }}
{{- end }}
{{- $text }}
{{- end }}

{{/* Environment of every paymux container: secret references, then extraEnv. */}}
{{- define "paymux.env" -}}
- name: PAYMUX_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "secrets.databaseUrl.existingSecret is required" .Values.secrets.databaseUrl.existingSecret }}
      key: {{ .Values.secrets.databaseUrl.key }}
{{- if .Values.secrets.encryptionKey.existingSecret }}
- name: PAYMUX_SECRETS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.encryptionKey.existingSecret }}
      key: {{ .Values.secrets.encryptionKey.key }}
{{- end }}
{{- range .Values.secrets.env }}
- name: {{ required "secrets.env[].name is required" .name }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "secrets.env %s: existingSecret is required" .name) .existingSecret }}
      key: {{ required (printf "secrets.env %s: key is required" .name) .key }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* topologySpreadConstraints with this component's labelSelector filled in when omitted. */}}
{{- define "paymux.topologySpread" -}}
{{- $out := list }}
{{- range .constraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" (include "paymux.componentSelectorLabels" (dict "root" $.root "component" $.component) | fromYaml)) }}
{{- end }}
{{- $out = append $out $c }}
{{- end }}
{{- toYaml $out }}
{{- end }}
