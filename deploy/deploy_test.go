// Package deploy_test checks cxaudit's Kubernetes manifests and Dockerfile:
// every manifest decodes strictly into the Kubernetes API types, and the
// Deployment agrees with the binary it runs (its subcommands, flags,
// environment and HTTP endpoints).
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// rendered is a kustomization decoded into API types.
type rendered struct {
	Deployment     appsv1.Deployment
	Service        corev1.Service
	ServiceAccount corev1.ServiceAccount
	PDB            policyv1.PodDisruptionBudget
	ServiceMonitor monitoringv1.ServiceMonitor
	ConfigMaps     map[string]corev1.ConfigMap
	Namespace      *corev1.Namespace
}

func decodeAll(t *testing.T, objs []object) rendered {
	t.Helper()
	r := rendered{ConfigMaps: map[string]corev1.ConfigMap{}}
	seen := map[string]bool{}
	for _, o := range objs {
		require.False(t, seen[kindName(o)], "%s twice", kindName(o))
		seen[kindName(o)] = true
		switch o["kind"] {
		case "Deployment":
			decodeStrict(t, o, &r.Deployment)
		case "Service":
			decodeStrict(t, o, &r.Service)
		case "ServiceAccount":
			decodeStrict(t, o, &r.ServiceAccount)
		case "PodDisruptionBudget":
			decodeStrict(t, o, &r.PDB)
		case "ServiceMonitor":
			decodeStrict(t, o, &r.ServiceMonitor)
		case "ConfigMap":
			var cm corev1.ConfigMap
			decodeStrict(t, o, &cm)
			r.ConfigMaps[cm.Name] = cm
		case "Namespace":
			r.Namespace = new(corev1.Namespace)
			decodeStrict(t, o, r.Namespace)
		default:
			t.Fatalf("unexpected object %s", kindName(o))
		}
	}
	for _, want := range []string{"Deployment/cxaudit", "Service/cxaudit", "ServiceAccount/cxaudit",
		"PodDisruptionBudget/cxaudit", "ServiceMonitor/cxaudit", "ConfigMap/cxaudit-rules", "ConfigMap/cxaudit-env"} {
		require.True(t, seen[want], "renders %s", want)
	}
	return r
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// cxauditBinary builds cmd/cxaudit once for the package's tests.
func cxauditBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cxaudit-deploytest")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "cxaudit")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/cxaudit").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// cliFlags runs `cxaudit <subcommand> --help` and returns the flags it
// lists, each with whether it takes a value.
func cliFlags(t *testing.T, subcommand string) map[string]bool {
	t.Helper()
	cmd := exec.Command(cxauditBinary(t), subcommand, "--help")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "cxaudit %s --help is a real subcommand:\n%s", subcommand, out.String())
	require.Contains(t, out.String(), "Usage: cxaudit "+subcommand)
	flags := map[string]bool{}
	re := regexp.MustCompile(`^\s+-(\S+)(?:\s+(\S+))?`)
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			flags[m[1]] = m[2] != ""
		}
	}
	return flags
}

// configEnv returns the environment variables internal/config reads.
func configEnv(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile("../internal/config/config.go")
	require.NoError(t, err)
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`r\.(\w+)\("([A-Z][A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
		names[m[2]] = true
		if m[1] == "secret" {
			names[m[2]+"_FILE"] = true
		}
	}
	require.Contains(t, names, "CXAUDIT_DATABASE_URL")
	return names
}

// otelEnv are the OpenTelemetry SDK variables cxaudit's tracing honours.
var otelEnv = regexp.MustCompile(`^OTEL_(SERVICE_NAME|RESOURCE_ATTRIBUTES|TRACES_EXPORTER|TRACES_SAMPLER(_ARG)?|EXPORTER_OTLP(_TRACES)?_(ENDPOINT|HEADERS|PROTOCOL|TIMEOUT|INSECURE|COMPRESSION))$`)

func TestManifestsBase(t *testing.T) {
	t.Parallel()
	r := decodeAll(t, render(t, "base"))
	require.Equal(t, int32(1), *r.Deployment.Spec.Replicas)
	checkInvariants(t, r)
}

func TestManifestsProduction(t *testing.T) {
	t.Parallel()
	r := decodeAll(t, render(t, "overlays/production"))
	checkInvariants(t, r)

	d := r.Deployment
	require.Equal(t, int32(3), *d.Spec.Replicas, "production runs several replicas")
	require.Equal(t, "cxaudit", d.Namespace)
	require.NotNil(t, r.Namespace)
	require.Equal(t, "restricted", r.Namespace.Labels["pod-security.kubernetes.io/enforce"])
	for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
		require.Equal(t, "ghcr.io/cxaudit/cxaudit:v1.0.0", c.Image, "a pinned release, never latest")
	}
	require.NotEmpty(t, d.Spec.Template.Spec.TopologySpreadConstraints)
	main := d.Spec.Template.Spec.Containers[0]
	require.Equal(t, "1Gi", main.Resources.Limits.Memory().String(), "the overlay's sizing patch applied")
	require.NotNil(t, main.Resources.Requests.Cpu(), "the patch keeps what it does not mention")
	require.NotEmpty(t, main.LivenessProbe, "the patch keeps the probes")
	env := r.ConfigMaps["cxaudit-env"].Data
	require.Equal(t, "2m", env["CXAUDIT_SYNC_INTERVAL"], "overlay settings merge")
	require.Equal(t, "json", env["CXAUDIT_LOG_FORMAT"], "base settings stay")

	// The example Secret holds every key the pods read, and points the
	// worker at a managed PostgreSQL with TLS verified.
	secret := exampleSecret(t)
	require.Equal(t, d.Namespace, secret.Namespace)
	for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if ref := e.ValueFrom.SecretKeyRef; ref != nil {
				require.Equal(t, secret.Name, ref.Name, "%s reads Secret %s", e.Name, ref.Name)
				require.Contains(t, secret.StringData, ref.Key, "%s: key %q is in the example Secret", e.Name, ref.Key)
			}
		}
	}
	// So is every key a Secret volume mounts.
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret == nil {
			continue
		}
		require.Equal(t, secret.Name, v.Secret.SecretName, "volume %s", v.Name)
		require.NotEmpty(t, v.Secret.Items, "volume %s mounts named keys, not the whole Secret", v.Name)
		for _, it := range v.Secret.Items {
			require.Contains(t, secret.StringData, it.Key, "volume %s: key %q is in the example Secret", v.Name, it.Key)
		}
	}
	dbURL := secret.StringData["database-url"]
	require.True(t, strings.HasPrefix(dbURL, "postgres://"), "production runs on PostgreSQL")
	checkDatabaseTLS(t, d, dbURL)
	checkSalesforceJWT(t, d, secret)

	// What `kubectl apply -k` deploys holds no placeholder: the site's
	// own values are in the examples, which the overlay does not apply.
	for _, o := range render(t, "overlays/production") {
		b, err := yaml.Marshal(o)
		require.NoError(t, err)
		require.NotRegexp(t, placeholder, string(b), "%s deploys a placeholder", kindName(o))
	}
	for _, key := range []string{"SALESFORCE_TASK_FALLBACK_OWNER_ID", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		require.NotContains(t, env, key, "%s is the site's (cxaudit-site), not the overlay's", key)
		require.Contains(t, exampleConfigMaps(t)["cxaudit-site"].Data, key, "config.example.yaml shows %s", key)
	}

	// The example Secret is not applied with the overlay: placeholders
	// never overwrite real credentials.
	var k kustomization
	kd, err := os.ReadFile("overlays/production/kustomization.yaml")
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(kd, &k))
	require.NotContains(t, k.Resources, "secret.example.yaml")
	require.NotContains(t, k.Resources, "config.example.yaml")
}

// checkDatabaseTLS: the example URL verifies the server's certificate
// (sslmode=verify-full) against a CA bundle (sslrootcert) that both the
// migrating init container and the worker have mounted, from a ConfigMap
// or Secret whose example holds the key; and the driver reads the bundle
// from that parameter.
func checkDatabaseTLS(t *testing.T, d appsv1.Deployment, dbURL string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	require.Equal(t, "verify-full", u.Query().Get("sslmode"))
	rootCert := u.Query().Get("sslrootcert")
	require.NotEmpty(t, rootCert, "the distroless image has no CA bundle for a managed database: sslrootcert names the mounted one")
	pod := d.Spec.Template.Spec
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		v, key := mountedFile(t, pod, c, rootCert)
		switch {
		case v.ConfigMap != nil:
			cm, ok := exampleConfigMaps(t)[v.ConfigMap.Name]
			require.True(t, ok, "ConfigMap %s is in config.example.yaml", v.ConfigMap.Name)
			require.Contains(t, cm.Data[key], "BEGIN CERTIFICATE", "ConfigMap %s: key %s is a PEM bundle", cm.Name, key)
		case v.Secret != nil:
			require.Equal(t, "cxaudit-credentials", v.Secret.SecretName)
			require.Contains(t, exampleSecret(t).StringData[key], "BEGIN CERTIFICATE")
		}
	}

	// pgx reads the bundle named by sslrootcert (here a fresh CA at a
	// temporary path), and refuses a URL whose bundle is missing.
	ca := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(ca, selfSignedCA(t), 0o644))
	q := u.Query()
	q.Set("sslrootcert", ca)
	u.RawQuery = q.Encode()
	cfg, err := pgxpool.ParseConfig(u.String())
	require.NoError(t, err)
	require.NotNil(t, cfg.ConnConfig.TLSConfig, "TLS is on")
	require.NotNil(t, cfg.ConnConfig.TLSConfig.RootCAs, "the bundle is the trust root")
	require.Equal(t, u.Hostname(), cfg.ConnConfig.TLSConfig.ServerName, "verify-full checks the host name")
	q.Set("sslrootcert", filepath.Join(t.TempDir(), "missing.crt"))
	u.RawQuery = q.Encode()
	_, err = pgxpool.ParseConfig(u.String())
	require.Error(t, err, "a bundle that is not mounted fails at start, not at the first query")
}

func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// checkSalesforceJWT: the worker signs in to Salesforce with the JWT
// bearer flow, not a static access token (which expires within hours):
// the consumer key and the user from the Secret, and the private key as a
// file mounted from the Secret where SALESFORCE_PRIVATE_KEY_FILE points.
func checkSalesforceJWT(t *testing.T, d appsv1.Deployment, secret corev1.Secret) {
	t.Helper()
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	vars := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		vars[e.Name] = e
	}
	for _, name := range []string{"SALESFORCE_INSTANCE_URL", "SALESFORCE_CLIENT_ID", "SALESFORCE_USERNAME"} {
		e, ok := vars[name]
		require.True(t, ok, "the worker sets %s", name)
		require.NotNil(t, e.ValueFrom, name)
		require.NotNil(t, e.ValueFrom.SecretKeyRef, name)
		require.NotEmpty(t, secret.StringData[e.ValueFrom.SecretKeyRef.Key], "%s: the example Secret has %s", name, e.ValueFrom.SecretKeyRef.Key)
	}
	require.NotContains(t, vars, "SALESFORCE_ACCESS_TOKEN", "no static access token: it expires within hours")
	require.NotContains(t, vars, "SALESFORCE_PRIVATE_KEY", "the key is a mounted file, not a variable")
	keyFile, ok := vars["SALESFORCE_PRIVATE_KEY_FILE"]
	require.True(t, ok, "the worker sets SALESFORCE_PRIVATE_KEY_FILE")
	v, key := mountedFile(t, pod, c, keyFile.Value)
	require.NotNil(t, v.Secret, "the private key is mounted from a Secret")
	require.Equal(t, secret.Name, v.Secret.SecretName)
	require.Contains(t, secret.StringData[key], "-----BEGIN PRIVATE KEY-----", "the example Secret's %s is a PEM key", key)
	require.NotNil(t, v.Secret.DefaultMode)
	require.Zero(t, *v.Secret.DefaultMode&0o007, "the key file is not world-readable")
	require.NotZero(t, *v.Secret.DefaultMode&0o040, "the pod's group (fsGroup) reads the key: the process is not its owner")
}

func checkInvariants(t *testing.T, r rendered) {
	t.Helper()
	d := r.Deployment
	pod := d.Spec.Template.Spec
	podLabels := labels.Set(d.Spec.Template.Labels)

	// Selectors agree: the Deployment owns its pods, the Service and the
	// PDB select them, the ServiceMonitor selects the Service.
	sel, err := metaSelector(d.Spec.Selector.MatchLabels)
	require.NoError(t, err)
	require.True(t, sel.Matches(podLabels))
	require.True(t, labels.SelectorFromSet(r.Service.Spec.Selector).Matches(podLabels), "the Service selects the pods")
	pdbSel, err := metaSelector(r.PDB.Spec.Selector.MatchLabels)
	require.NoError(t, err)
	require.True(t, pdbSel.Matches(podLabels), "the PDB selects the pods")
	require.NotNil(t, r.PDB.Spec.MaxUnavailable)
	smSel, err := metaSelector(r.ServiceMonitor.Spec.Selector.MatchLabels)
	require.NoError(t, err)
	require.True(t, smSel.Matches(labels.Set(r.Service.Labels)), "the ServiceMonitor selects the Service")
	require.Equal(t, r.ServiceAccount.Name, pod.ServiceAccountName)
	require.False(t, *pod.AutomountServiceAccountToken, "cxaudit does not talk to the Kubernetes API")

	// Pod security: non-root (distroless nonroot's uid), seccomp.
	require.True(t, *pod.SecurityContext.RunAsNonRoot)
	require.Equal(t, int64(65532), *pod.SecurityContext.RunAsUser, "distroless nonroot")
	require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SecurityContext.SeccompProfile.Type)

	require.Len(t, pod.Containers, 1)
	require.Len(t, pod.InitContainers, 1)
	configEnvNames := configEnv(t)
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		sc := c.SecurityContext
		require.NotNil(t, sc, c.Name)
		require.False(t, *sc.AllowPrivilegeEscalation, c.Name)
		require.True(t, *sc.ReadOnlyRootFilesystem, c.Name)
		require.True(t, *sc.RunAsNonRoot, c.Name)
		require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop, c.Name)
		require.Empty(t, sc.Capabilities.Add, c.Name)
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			require.Contains(t, c.Resources.Requests, res, "%s requests %s", c.Name, res)
			require.Contains(t, c.Resources.Limits, res, "%s limits %s", c.Name, res)
			req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
			require.LessOrEqual(t, req.Cmp(lim), 0, "%s: %s request within limit", c.Name, res)
		}
		require.Empty(t, c.Command, "%s: the image's ENTRYPOINT is the binary", c.Name)
		checkArgs(t, c, pod)
		// Every variable set is one cxaudit reads.
		for _, e := range c.Env {
			require.True(t, configEnvNames[e.Name] || otelEnv.MatchString(e.Name), "%s: env %s is not read by internal/config", c.Name, e.Name)
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				require.False(t, strings.Contains(strings.ToLower(e.Name), "password") && e.Value != "", e.Name)
			}
		}
		for _, from := range c.EnvFrom {
			require.NotNil(t, from.ConfigMapRef, "%s: envFrom ConfigMaps only", c.Name)
			cm, ok := r.ConfigMaps[from.ConfigMapRef.Name]
			if !ok {
				// A site's own ConfigMap: optional, and in the examples.
				require.True(t, from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional,
					"%s: envFrom %s is rendered, or optional", c.Name, from.ConfigMapRef.Name)
				cm, ok = exampleConfigMaps(t)[from.ConfigMapRef.Name]
				require.True(t, ok, "%s: envFrom %s is in config.example.yaml", c.Name, from.ConfigMapRef.Name)
			}
			for k := range cm.Data {
				require.True(t, configEnvNames[k] || otelEnv.MatchString(k), "ConfigMap %s: %s is not read by internal/config", cm.Name, k)
			}
		}
		// Credentials come from Secrets, never from literal values; a
		// _FILE variable names a file mounted from a Secret.
		for _, e := range c.Env {
			if isSecretName(e.Name) && strings.HasSuffix(e.Name, "_FILE") && e.ValueFrom == nil {
				v, _ := mountedFile(t, pod, c, e.Value)
				require.NotNil(t, v.Secret, "%s: %s=%s is mounted from a Secret", c.Name, e.Name, e.Value)
				continue
			}
			if isSecretName(e.Name) {
				require.NotNil(t, e.ValueFrom, "%s: %s comes from a Secret", c.Name, e.Name)
				require.NotNil(t, e.ValueFrom.SecretKeyRef, "%s: %s comes from a Secret", c.Name, e.Name)
			}
		}
	}
	for _, cm := range r.ConfigMaps {
		for k := range cm.Data {
			require.False(t, isSecretName(k), "ConfigMap %s holds credential %s", cm.Name, k)
		}
	}

	// The worker: probes on the endpoints it serves, on its port.
	c := pod.Containers[0]
	require.Equal(t, "run", c.Args[0])
	require.Len(t, c.Ports, 1)
	port := c.Ports[0]
	listen := envValue(t, c, r, "CXAUDIT_LISTEN_ADDR")
	require.Equal(t, fmt.Sprintf(":%d", port.ContainerPort), listen, "the container port is where the worker listens")
	require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		require.NotNil(t, p)
		require.Equal(t, port.Name, p.HTTPGet.Port.String())
	}
	require.Equal(t, port.Name, r.Service.Spec.Ports[0].TargetPort.String())
	require.Len(t, r.ServiceMonitor.Spec.Endpoints, 1)
	ep := r.ServiceMonitor.Spec.Endpoints[0]
	require.Equal(t, r.Service.Spec.Ports[0].Name, ep.Port)
	require.Equal(t, "/metrics", ep.Path)
	servedPaths(t, c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path, c.StartupProbe.HTTPGet.Path, ep.Path)

	// Rules: mounted from the generated ConfigMap where CXAUDIT_RULES_DIR
	// points.
	rulesDir := envValue(t, c, r, "CXAUDIT_RULES_DIR")
	var mounted bool
	for _, m := range c.VolumeMounts {
		if m.MountPath != rulesDir {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name {
				require.NotNil(t, v.ConfigMap)
				require.Equal(t, "cxaudit-rules", v.ConfigMap.Name)
				mounted = true
			}
		}
	}
	require.True(t, mounted, "the rules ConfigMap is mounted at CXAUDIT_RULES_DIR=%s", rulesDir)
	require.NotEmpty(t, r.ConfigMaps["cxaudit-rules"].Data, "TestRulesCopy checks the rule files")
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		if _, ok := r.ConfigMaps[v.ConfigMap.Name]; !ok {
			require.True(t, v.ConfigMap.Optional != nil && *v.ConfigMap.Optional, "volume %s: ConfigMap %s is rendered, or optional", v.Name, v.ConfigMap.Name)
			require.Contains(t, exampleConfigMaps(t), v.ConfigMap.Name, "volume %s: ConfigMap %s is in config.example.yaml", v.Name, v.ConfigMap.Name)
		}
	}
}

// mountedFile returns the volume that provides the file at path in
// container c, and the key of the Secret or ConfigMap it comes from.
func mountedFile(t *testing.T, pod corev1.PodSpec, c corev1.Container, path string) (corev1.Volume, string) {
	t.Helper()
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok || m.SubPath != "" {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			var items []corev1.KeyToPath
			switch {
			case v.Secret != nil:
				items = v.Secret.Items
			case v.ConfigMap != nil:
				items = v.ConfigMap.Items
			default:
				t.Fatalf("%s: %s is on volume %s, which is neither a Secret nor a ConfigMap", c.Name, path, v.Name)
			}
			if len(items) == 0 {
				return v, rel
			}
			for _, it := range items {
				if it.Path == rel {
					return v, it.Key
				}
			}
			t.Fatalf("%s: volume %s mounted at %s has no item at %s", c.Name, v.Name, m.MountPath, rel)
		}
	}
	t.Fatalf("%s: nothing is mounted at %s", c.Name, path)
	return corev1.Volume{}, ""
}

// exampleSecret is overlays/production/secret.example.yaml.
func exampleSecret(t *testing.T) corev1.Secret {
	t.Helper()
	var secret corev1.Secret
	data, err := os.ReadFile("overlays/production/secret.example.yaml")
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(data, &secret))
	return secret
}

// exampleConfigMaps are the ConfigMaps of overlays/production/config.example.yaml.
func exampleConfigMaps(t *testing.T) map[string]corev1.ConfigMap {
	t.Helper()
	out := map[string]corev1.ConfigMap{}
	for _, o := range readObjects(t, "overlays/production/config.example.yaml") {
		var cm corev1.ConfigMap
		decodeStrict(t, o, &cm)
		require.Equal(t, "cxaudit", cm.Namespace, kindName(o))
		out[cm.Name] = cm
	}
	return out
}

// placeholder matches the values the examples carry and a deployment must
// not: CHANGE_ME, and the fake owner id and collector address the overlay
// once held.
var placeholder = regexp.MustCompile(`CHANGE_ME|005000000000001AAA|otel-collector\.observability`)

func isSecretName(name string) bool {
	n := strings.ToUpper(name)
	return strings.Contains(n, "TOKEN") || strings.Contains(n, "PASSWORD") || strings.Contains(n, "SECRET") ||
		strings.Contains(n, "DATABASE_URL") || strings.Contains(n, "PRIVATE_KEY")
}

func metaSelector(m map[string]string) (labels.Selector, error) {
	if len(m) == 0 {
		return nil, fmt.Errorf("empty selector")
	}
	return labels.SelectorFromSet(m), nil
}

// envValue is the value a container sees for name, from env or envFrom.
func envValue(t *testing.T, c corev1.Container, r rendered, name string) string {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	for _, from := range c.EnvFrom {
		if v, ok := r.ConfigMaps[from.ConfigMapRef.Name].Data[name]; ok {
			return v
		}
	}
	t.Fatalf("%s: %s is not set", c.Name, name)
	return ""
}

// checkArgs checks a container's arguments against the CLI: a real
// subcommand, real flags, values where the flag takes one.
func checkArgs(t *testing.T, c corev1.Container, pod corev1.PodSpec) {
	t.Helper()
	require.NotEmpty(t, c.Args, c.Name)
	flags := cliFlags(t, c.Args[0])
	args := c.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		require.True(t, strings.HasPrefix(a, "-"), "%s: unexpected argument %q", c.Name, a)
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, ok := flags[name]
		require.True(t, ok, "%s: cxaudit %s has no flag %s", c.Name, c.Args[0], a)
		if takesValue && !hasVal {
			require.Less(t, i+1, len(args), "%s: %s needs a value", c.Name, a)
			i++
			val = args[i]
		}
		if name == "grace" {
			d, err := time.ParseDuration(val)
			require.NoError(t, err)
			require.Less(t, d+5*time.Second, time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second,
				"the kubelet waits longer than running jobs are given after SIGTERM")
		}
	}
}

var update = flag.Bool("update", false, "copy the repository's rule files into deploy/base/rules and list them in its kustomization")

// repoRules returns the repository's rule files (what rules.LoadDir reads:
// *.yaml and *.yml but not the *_test rule tests) by name.
func repoRules(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir("../rules")
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") || strings.HasSuffix(strings.TrimSuffix(e.Name(), ext), "_test") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("../rules", e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	require.NotEmpty(t, out)
	return out
}

// TestRulesCopy checks that deploy/base/rules holds the repository's rule
// files, and with -update makes it so.
func TestRulesCopy(t *testing.T) {
	want := repoRules(t)
	names := slices.Sorted(maps.Keys(want))
	if *update {
		old, err := filepath.Glob("base/rules/*")
		require.NoError(t, err)
		for _, f := range old {
			require.NoError(t, os.Remove(f))
		}
		for name, body := range want {
			require.NoError(t, os.WriteFile(filepath.Join("base/rules", name), []byte(body), 0o644))
		}
		kpath := "base/kustomization.yaml"
		k, err := os.ReadFile(kpath)
		require.NoError(t, err)
		re := regexp.MustCompile(`(?s)(\n(\s*)# BEGIN rules[^\n]*\n).*?(\s*# END rules)`)
		require.Regexp(t, re, string(k))
		k = re.ReplaceAllFunc(k, func(m []byte) []byte {
			sub := re.FindSubmatch(m)
			var b strings.Builder
			b.Write(sub[1])
			for _, n := range names {
				fmt.Fprintf(&b, "%s- rules/%s\n", sub[2], n)
			}
			b.WriteString(strings.TrimLeft(string(sub[3]), "\n"))
			return []byte(b.String())
		})
		require.NoError(t, os.WriteFile(kpath, k, 0o644))
	}
	got := map[string]string{}
	files, err := filepath.Glob("base/rules/*")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		got[filepath.Base(f)] = string(b)
	}
	const hint = "deploy/base/rules is a copy of the rule files in rules/: run go test ./deploy -update"
	require.Equal(t, names, slices.Sorted(maps.Keys(got)), hint)
	for _, n := range names {
		require.True(t, want[n] == got[n], "%s differs. %s", n, hint)
	}
	var listed []string
	for _, o := range render(t, "base") {
		if kindName(o) == "ConfigMap/cxaudit-rules" {
			listed = slices.Sorted(maps.Keys(o["data"].(map[string]any)))
		}
	}
	require.Equal(t, names, listed, "the rules ConfigMap lists every rule file. %s", hint)
}

// servedPaths starts the real worker (on an SQLite file, no sources) and
// checks that it answers 200 on every path the manifests probe or scrape,
// then that SIGTERM stops it cleanly.
func servedPaths(t *testing.T, paths ...string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(cxauditBinary(t), "run")
	cmd.Env = append(os.Environ(),
		"CXAUDIT_DATABASE_URL="+filepath.Join(dir, "cxaudit.db"),
		"CXAUDIT_RULES_DIR=../rules",
		"CXAUDIT_LISTEN_ADDR=127.0.0.1:0",
		"CXAUDIT_LOG_FORMAT=json",
	)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not log its listen address")
	}
	for _, p := range paths {
		require.Eventually(t, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 10*time.Second, 100*time.Millisecond, "the worker answers 200 on %s", p)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "SIGTERM exits 0")
}
