package deploy_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, COPY…
	Args string
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []instruction
	var cur strings.Builder
	for line := range strings.Lines(string(data)) {
		line = strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t, "Dockerfile")

	type stage struct {
		image, name string
		body        []instruction
	}
	var stages []*stage
	for _, in := range ins {
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			s := &stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		require.NotEmpty(t, stages, "%s before FROM", in.Cmd)
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	require.GreaterOrEqual(t, len(stages), 2, "multi-stage")
	build, final := stages[0], stages[len(stages)-1]

	// The build stage uses the Go that go.mod asks for and builds a static
	// ./cmd/cxaudit.
	gomod, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	require.NotNil(t, goVer)
	require.True(t, strings.HasPrefix(build.image, "golang:"+string(goVer[1])), "build on Go %s, got %s", goVer[1], build.image)
	require.NotEmpty(t, build.name)
	var binary string
	for _, in := range build.body {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			require.Contains(t, in.Args, "CGO_ENABLED=0", "a static binary")
			require.Contains(t, in.Args, "./cmd/cxaudit")
			m := regexp.MustCompile(`-o (\S+)`).FindStringSubmatch(in.Args)
			require.NotNil(t, m)
			binary = m[1]
		}
		if in.Cmd == "COPY" && !strings.HasPrefix(in.Args, "--") {
			// What the build stage copies exists in the repository.
			f := strings.Fields(in.Args)
			for _, src := range f[:len(f)-1] {
				_, err := os.Stat("../" + src)
				require.NoError(t, err, "COPY %s", src)
			}
		}
	}
	require.NotEmpty(t, binary, "the build stage runs go build -o")

	// The final stage: distroless, non-root, the binary as entrypoint.
	require.Regexp(t, `^gcr\.io/distroless/static[-\w]*:nonroot$`, final.image)
	var entry, user string
	var copied []string
	for _, in := range final.body {
		switch in.Cmd {
		case "COPY":
			f := strings.Fields(in.Args)
			require.Equal(t, "--from="+build.name, f[0], "the final stage copies from the build stage only")
			if f[1] == binary {
				copied = append(copied, f[2])
			}
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			var argv []string
			require.NoError(t, yaml.Unmarshal([]byte(in.Args), &argv), "ENTRYPOINT in exec form")
			entry = argv[0]
		case "RUN":
			t.Fatalf("distroless has no shell: RUN in the final stage")
		}
	}
	require.Contains(t, []string{"nonroot", "nonroot:nonroot", "65532", "65532:65532"}, user)
	require.Len(t, copied, 1, "the binary is copied into the final image")
	require.Equal(t, copied[0], entry, "the entrypoint is the binary")
}

// TestKustomizeBuild renders the overlays with kustomize itself (kubectl's
// built-in) when it is installed, and checks it produces what the test's
// own resolution does.
func TestKustomizeBuild(t *testing.T) {
	t.Parallel()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not installed: the other tests resolve the kustomizations themselves")
		return
	}
	for _, dir := range []string{"base", "overlays/production"} {
		out, err := exec.Command(kubectl, "kustomize", dir).Output()
		require.NoError(t, err, "kubectl kustomize %s", dir)
		var fromKustomize []string
		for doc := range strings.SplitSeq(string(out), "\n---\n") {
			var o object
			require.NoError(t, yaml.Unmarshal([]byte(doc), &o))
			if o["kind"] == "ConfigMap" {
				// Generated names carry a content hash.
				md := o["metadata"].(map[string]any)
				name := md["name"].(string)
				md["name"] = name[:strings.LastIndex(name, "-")]
			}
			fromKustomize = append(fromKustomize, kindName(o))
		}
		require.ElementsMatch(t, kinds(render(t, dir)), fromKustomize, dir)
		require.Contains(t, string(out), "cxaudit-rules-", "configMapGenerator adds a hash: a rules change rolls the pods")
		require.NotRegexp(t, placeholder, string(out), "what kubectl apply -k %s deploys holds no placeholder", dir)
	}
}
