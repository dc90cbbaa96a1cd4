{{- /*
Helpers shared by the module's templates. Under Deckhouse the module's values
are .Values.secretsStoreIntegration and the hooks fill its `internal` section;
under plain `helm install` neither the globals nor `internal` exist, so every
helper here falls back to a default that renders valid objects.
*/ -}}

{{- /*
The module's values as JSON (use: include "ssi.settings" . | fromJson), or {}
under plain Helm without --set. JSON, not YAML: toYaml trims the output's
final newline, which would cut it off a PEM that happens to come last.
*/ -}}
{{- define "ssi.settings" -}}
{{- dig "secretsStoreIntegration" dict .Values.AsMap | toJson -}}
{{- end -}}

{{- /* Labels every object of the module carries (Deckhouse's convention). */ -}}
{{- define "ssi.labels" -}}
heritage: deckhouse
module: secrets-store-integration
{{- end -}}

{{- /*
ssi.image (tuple . "imageName"): the image of one of the module's images.
Deckhouse: registry.base@<digest> from global.modulesImages.digests.secretsStoreIntegration, the
registry being the module source's (secretsStoreIntegration.registry.base) when Deckhouse passes one.
Plain Helm (no digests): registry.example/secrets-store-integration/<image>:<version>, where
<version> is the chart's appVersion, else its version; override the registry with
global.modulesImages.registry.base (the images are then <base>/<image>:<version>).
ssi.image (tuple . "imageName" "upstream/ref:tag"): the Kubernetes sidecars; under Deckhouse the
image its common module ships for the cluster's Kubernetes minor
(global.modulesImages.digests.common.csi<ImageName><major><minor>, e.g. csiNodeDriverRegistrar137),
else the module's own digest; without digests and without a registry they come from their upstream
image (registry.k8s.io).
*/ -}}
{{- /*
ssi.imagePullSecrets: under Deckhouse the pods pull with the module source's registry Secret
(module-registry, rendered from registry.dockercfg, which Deckhouse passes to a module from a
module source) or else Deckhouse's own (deckhouse-registry); plain Helm pulls without one.
*/ -}}
{{- define "ssi.imagePullSecrets" -}}
{{- $s := include "ssi.settings" . | fromJson -}}
{{- if dig "registry" "dockercfg" "" $s -}}
imagePullSecrets:
  - name: module-registry
{{- else if dig "global" "modulesImages" "" .Values.AsMap -}}
imagePullSecrets:
  - name: deckhouse-registry
{{- end -}}
{{- end -}}

{{- define "ssi.image" -}}
{{- $ctx := index . 0 -}}
{{- $name := index . 1 -}}
{{- $upstream := "" -}}
{{- if gt (len .) 2 }}{{ $upstream = index . 2 }}{{ end -}}
{{- $digest := dig "global" "modulesImages" "digests" "secretsStoreIntegration" $name "" $ctx.Values.AsMap -}}
{{- $base := dig "global" "modulesImages" "registry" "base" "" $ctx.Values.AsMap -}}
{{- $common := "" -}}
{{- $kubeVersion := dig "global" "discovery" "kubernetesVersion" "" $ctx.Values.AsMap -}}
{{- if and $upstream $kubeVersion -}}
{{- $v := semver $kubeVersion -}}
{{- $common = dig "global" "modulesImages" "digests" "common" (printf "csi%s%d%d" (title $name) $v.Major $v.Minor) "" $ctx.Values.AsMap -}}
{{- end -}}
{{- if $common -}}
{{- $digest = $common -}}
{{- else -}}
{{- /* The module's own images: from its module source's registry when Deckhouse passes one. */ -}}
{{- $base = dig "secretsStoreIntegration" "registry" "base" $base $ctx.Values.AsMap -}}
{{- end -}}
{{- if $digest -}}
{{- printf "%s@%s" (required "global.modulesImages.registry.base is required with image digests" $base) $digest -}}
{{- else if and $upstream (not $base) -}}
{{- $upstream -}}
{{- else -}}
{{- printf "%s/%s:%s" ($base | default "registry.example/secrets-store-integration") (kebabcase $name) ($ctx.Chart.AppVersion | default $ctx.Chart.Version) -}}
{{- end -}}
{{- end -}}

{{- /*
ssi.highAvailability: "true" or "". The module's highAvailability setting
when given, else the cluster's global.highAvailability, else off.
*/ -}}
{{- define "ssi.highAvailability" -}}
{{- $s := include "ssi.settings" . | fromJson -}}
{{- if hasKey $s "highAvailability" -}}
{{- if $s.highAvailability }}true{{ end -}}
{{- else if dig "global" "highAvailability" false .Values.AsMap -}}
true
{{- end -}}
{{- end -}}

{{- define "ssi.replicas" -}}
{{- if include "ssi.highAvailability" . }}2{{ else }}1{{ end -}}
{{- end -}}

{{- /* The logLevel setting (Debug, Info, ...) as the binaries' --log-level. */ -}}
{{- define "ssi.logLevel" -}}
{{- $s := include "ssi.settings" . | fromJson -}}
{{- $s.logLevel | default "Info" | lower -}}
{{- end -}}

{{- /*
ssi.connection: the store the components use when an object names none, as
YAML {url, caCert, authPath, namespace}. The connection hook computes it into
internal.connection; without hooks (plain Helm) the same defaults are taken
from the settings, and the local Stronghold's address when none is given.
*/ -}}
{{- define "ssi.connection" -}}
{{- $s := include "ssi.settings" . | fromJson -}}
{{- $in := dig "internal" "connection" dict $s -}}
{{- $set := $s.connection | default dict -}}
{{- if and (eq ($s.connectionConfiguration | default "") "Manual") (not $in.url) (not $set.url) -}}
{{- fail "connectionConfiguration: Manual requires connection.url (the store's HTTPS address)" -}}
{{- end -}}
url: {{ $in.url | default $set.url | default "https://stronghold.d8-stronghold:8300" | quote }}
caCert: {{ $in.caCert | default $set.caCert | default "" | quote }}
authPath: {{ $in.authPath | default $set.authPath | default "kubernetes" | quote }}
namespace: {{ $in.namespace | default $set.namespace | default "" | quote }}
{{- end -}}

{{- /* Where the store's CA is mounted, for the binaries' CA file flags. */ -}}
{{- define "ssi.storeCAPath" -}}/etc/secrets-store-integration/store-ca/ca.crt{{- end -}}

{{- /*
ssi.webhookCert: the webhook's TLS as YAML {ca, crt, key}. Deckhouse: the
webhookcert hook's internal.webhookCert (kept, renewed before expiry).
Plain Helm has no hooks: a CA and a serving certificate are generated with
genCA/genSignedCert. They are new on every render, so every `helm upgrade`
rotates them; the webhook re-reads its certificate file when it changes and
the caBundle is updated in the same release, so the rotation is harmless.
Call it once per release render: the Secret and the webhook configuration
that must agree are rendered from one call (webhook/mutatingwebhook.yaml).
*/ -}}
{{- define "ssi.webhookCert" -}}
{{- $s := include "ssi.settings" . | fromJson -}}
{{- $c := dig "internal" "webhookCert" dict $s -}}
{{- if and $c.ca $c.crt $c.key -}}
{{- /* Quoted, not toYaml: toYaml drops the last PEM's final newline. */ -}}
ca: {{ $c.ca | quote }}
crt: {{ $c.crt | quote }}
key: {{ $c.key | quote }}
{{- else -}}
{{- $svc := "secrets-store-integration-webhook" -}}
{{- $ns := "d8-secrets-store-integration" -}}
{{- $ca := genCA "secrets-store-integration-webhook-ca" 3650 -}}
{{- $cert := genSignedCert (printf "%s.%s.svc" $svc $ns) nil (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns)) 3650 $ca -}}
ca: {{ $ca.Cert | quote }}
crt: {{ $cert.Cert | quote }}
key: {{ $cert.Key | quote }}
{{- end -}}
{{- end -}}

{{- /* Pod security context of the unprivileged components. */ -}}
{{- define "ssi.nonRootContainer" -}}
runAsNonRoot: true
runAsUser: 64535
runAsGroup: 64535
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- /*
Resources of every container, one table for the containers and their VPAs
(docs/BENCHMARKS.md, "Memory limits"): requests near the measured RSS,
memory limits a few times the measured peak so that one tenant's burst
cannot take a node's memory, no CPU limit (throttling would slow every
tenant's mounts and admissions alike). A VPA moves requests only, up to the
limit.
*/ -}}
{{- define "ssi.resourceTable" -}}
csi-driver: {cpu: 20m, memory: 48Mi, limit: 256Mi}
vault-provider: {cpu: 20m, memory: 32Mi, limit: 192Mi}
node-driver-registrar: {cpu: 5m, memory: 16Mi, limit: 64Mi}
livenessprobe: {cpu: 5m, memory: 16Mi, limit: 64Mi}
webhook: {cpu: 20m, memory: 48Mi, limit: 256Mi}
controller: {cpu: 20m, memory: 96Mi, limit: 512Mi}
nri-plugin: {cpu: 10m, memory: 32Mi, limit: 192Mi}
{{- end -}}

{{- /* resources: of container (tuple . "name"). */ -}}
{{- define "ssi.resources" -}}
{{- $r := get (include "ssi.resourceTable" (index . 0) | fromYaml) (index . 1) -}}
requests:
  cpu: {{ $r.cpu }}
  memory: {{ $r.memory }}
limits:
  memory: {{ $r.limit }}
{{- end -}}

{{- /*
ssi.storePolicyArgs: the flags of what an import may name besides the
module's connection (settings allowedStoreAddresses, allowSkipTLSVerify,
allowedAudiences), as container args lines. The provider, the controller
and the webhook get the same ones (images/internal/storepolicy).
*/ -}}
{{- define "ssi.storePolicyArgs" -}}
{{- $s := include "ssi.settings" . | fromJson -}}
- --allowed-audiences={{ include "ssi.audiences" . | fromJsonArray | join "," }}
{{- with $s.allowedStoreAddresses }}
- --allowed-store-addresses={{ join "," . }}
{{- end }}
{{- if $s.allowSkipTLSVerify }}
- --allow-skip-tls-verify
{{- end }}
{{- end -}}

{{- /* ssi.audiences: the allowedAudiences setting as a JSON list, ["vault"] by default. */ -}}
{{- define "ssi.audiences" -}}
{{- $s := include "ssi.settings" . | fromJson -}}
{{- $s.allowedAudiences | default (list "vault") | toJson -}}
{{- end -}}

{{- /*
ssi.policyEngine: non-empty when Deckhouse's admission-policy-engine (its
CRDs) is enabled. Then the namespace keeps the baseline pod policy and the
CSI node pod alone gets a SecurityPolicyException
(templates/csi-driver/security-policy-exception.yaml).
*/ -}}
{{- define "ssi.policyEngine" -}}
{{- $global := .Values.global | default dict -}}
{{- if has "admission-policy-engine-crd" ($global.enabledModules | default list) -}}true{{- end -}}
{{- end -}}

{{- /*
ssi.containerdDelivery: "true" or "": the containerdDelivery.enabled setting.
ssi.containerdNodeLabel: the node label (key=value) of the nodes where
containerd's NRI is set up for the module (the NodeGroupConfiguration sets
it); the NRI plugin runs there and the webhook keeps pods of containerd
delivery there.
*/ -}}
{{- define "ssi.containerdDelivery" -}}
{{- $s := include "ssi.settings" . | fromJson -}}
{{- if dig "containerdDelivery" "enabled" false $s }}true{{ end -}}
{{- end -}}
{{- define "ssi.containerdNodeLabel" -}}secrets-store.deckhouse.io/containerd-delivery=enabled{{- end -}}
