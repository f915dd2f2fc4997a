package rules

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

var update = flag.Bool("update", false, "rewrite the expected .bad.txt files")

// golden runs check on each file matching pattern (below the repository
// root), in parallel subtests, and compares what it returns with the .txt
// file beside it (foo.bad.yaml → foo.bad.txt); -update rewrites them.
func golden(t *testing.T, pattern string, check func(t *testing.T, name string, data []byte) string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("../..", pattern))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimPrefix(filepath.ToSlash(file), "../../")
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			got := check(t, name, data)
			want := strings.TrimSuffix(file, ".yaml") + ".txt"
			if *update {
				require.NoError(t, os.WriteFile(want, []byte(got+"\n"), 0o644))
			}
			b, err := os.ReadFile(want)
			require.NoError(t, err)
			require.Equal(t, strings.TrimSuffix(string(b), "\n"), got)
		})
	}
}

// loadError requires err to be a *LoadError and returns its text.
func loadError(t *testing.T, err error) string {
	t.Helper()
	require.Error(t, err)
	var le *LoadError
	require.True(t, errors.As(err, &le), "want a *LoadError, got %T", err)
	return err.Error()
}

// TestBadFiles loads each testdata/rules/*.bad.yaml and compares the error
// with the .bad.txt beside it. Run with -update to rewrite them.
func TestBadFiles(t *testing.T) {
	t.Parallel()
	golden(t, "testdata/rules/*.bad.yaml", func(t *testing.T, name string, data []byte) string {
		_, err := ParseFile(name, data)
		return loadError(t, err)
	})
}

// TestWarnFiles loads each testdata/rules/*.warn.yaml: it loads, and its
// rules' warnings equal the .warn.txt beside it (-update rewrites them).
func TestWarnFiles(t *testing.T) {
	t.Parallel()
	golden(t, "testdata/rules/*.warn.yaml", func(t *testing.T, name string, data []byte) string {
		rs, err := ParseFile(name, data)
		require.NoError(t, err)
		var got []string
		for _, r := range rs {
			for _, w := range r.Warnings() {
				require.True(t, w.Warning)
				got = append(got, w.Error())
			}
		}
		require.NotEmpty(t, got)
		return strings.Join(got, "\n")
	})
}

// TestCheckPrintsWarnings: rules check prints the warnings and still
// passes.
func TestCheckPrintsWarnings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, err := os.ReadFile("../../testdata/rules/enum_values.warn.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "enum.yaml"), data, 0o644))
	var out strings.Builder
	require.NoError(t, Check(dir, &out))
	require.Contains(t, out.String(), `enum.yaml:9:30: warning: rule "enum.p1" ($.rules[0].when): ticket.priority is never "P1"`)
	require.Contains(t, out.String(), "urgent, high, normal, low")
	require.Contains(t, out.String(), "new, open, pending, hold, solved, closed")
	require.Contains(t, out.String(), "rules: 5 rules in 1 file OK, 6 warnings\n")
}

func TestLoadErrorMessages(t *testing.T) {
	t.Parallel()
	base := `rules:
  - id: backlog.p2_stale
    title: x
    category: backlog_aging
    severity: medium
    entity: ticket
    message: '"x"'
`
	tests := []struct {
		name string
		when string
		want string
	}{
		{"plain", "    when: tiket.open\n",
			`rules/backlog.yaml:8:11: rule "backlog.p2_stale" ($.rules[0].when): undeclared reference to 'tiket' (did you mean 'ticket'?)`},
		{"plain offset", "    when: ticket.open && ticket.priorit == \"high\"\n",
			`rules/backlog.yaml:8:32: rule "backlog.p2_stale" ($.rules[0].when): undefined field 'priorit' (did you mean 'priority'?)`},
		{"single-quoted", "    when: 'ticket.open && ticket.priorit == ''high'''\n",
			`rules/backlog.yaml:8:33: rule "backlog.p2_stale" ($.rules[0].when): undefined field 'priorit' (did you mean 'priority'?)`},
		{"double-quoted", "    when: \"ticket.open && ticket.priorit == 'high'\"\n",
			`rules/backlog.yaml:8:33: rule "backlog.p2_stale" ($.rules[0].when): undefined field 'priorit' (did you mean 'priority'?)`},
		{"literal block", "    when: |\n      ticket.open &&\n        tiket.open\n",
			`rules/backlog.yaml:10:9: rule "backlog.p2_stale" ($.rules[0].when): undeclared reference to 'tiket' (did you mean 'ticket'?)`},
		{"folded block", "    when: >-\n      ticket.open &&\n      days_betwen(ticket.created_at, now) > 1.0\n",
			`rules/backlog.yaml:10:18: rule "backlog.p2_stale" ($.rules[0].when): undeclared reference to 'days_betwen' (did you mean 'days_between'?)`},
		{"multi-line plain", "    when: ticket.open &&\n      tiket.open\n",
			`rules/backlog.yaml:9:7: rule "backlog.p2_stale" ($.rules[0].when): undeclared reference to 'tiket' (did you mean 'ticket'?)`},
		{"not bool", "    when: ticket.subject\n",
			`rules/backlog.yaml:8:11: rule "backlog.p2_stale" ($.rules[0].when): expression must yield true or false (bool), but yields string`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseFile("rules/backlog.yaml", []byte(base+tc.when))
			require.Error(t, err)
			require.Equal(t, tc.want, err.Error())
		})
	}
}

func TestLoadFS(t *testing.T) {
	t.Parallel()
	rule := func(id string) string {
		return `rules:
  - id: ` + id + `
    title: t
    category: crm_hygiene
    severity: low
    entity: organization
    when: "!organization.linked"
    message: organization.name
`
	}
	fsys := fstest.MapFS{
		"rules/b.yaml":         {Data: []byte(rule("b.rule"))},
		"rules/a.yml":          {Data: []byte(rule("a.rule"))},
		"rules/a_test.yaml":    {Data: []byte("not: [rules")},
		"rules/README.md":      {Data: []byte("# docs")},
		"rules/empty.yaml":     {Data: []byte("# nothing yet\n")},
		"rules/sub/c.yaml":     {Data: []byte("broken: [")},
		"rules/no_rules.yaml":  {Data: []byte("rules:\n")},
		"rules/dup/dup_1.yaml": {Data: []byte(rule("a.rule"))},
	}
	s, err := LoadFS(fsys, "rules")
	require.NoError(t, err)
	require.Len(t, s.Rules(), 2)
	require.Equal(t, "a.rule", s.Rules()[0].ID)
	require.Equal(t, "rules/a.yml", s.Rules()[0].File)
	require.Equal(t, 2, s.Rules()[0].Line)
	require.Equal(t, cxaudit.ModeEnforce, s.Rules()[0].Mode)
	require.Len(t, s.ForEntity(cxaudit.EntityOrganization), 2)
	require.Empty(t, s.ForEntity(cxaudit.EntityTicket))
	require.Equal(t, 4, s.Files())

	// Duplicates across files name both places.
	fsys["rules/c.yaml"] = &fstest.MapFile{Data: []byte(rule("a.rule"))}
	_, err = LoadFS(fsys, "rules")
	require.EqualError(t, err, `rules/c.yaml:2:9: rule "a.rule" ($.rules[0].id): duplicate rule id 'a.rule' (also defined at rules/a.yml:2)`)
}

// TestLoadDirFileChecks: only regular files (or symlinks to them, as a
// ConfigMap mount has) of at most MaxFileSize are read. A named pipe once
// hung start-up (even SIGTERM did not stop it), /dev/zero took all memory.
func TestLoadDirFileChecks(t *testing.T) {
	t.Parallel()
	good := "rules:\n  - {id: a, title: t, category: backlog_aging, severity: low, entity: ticket, when: ticket.open, message: '\"m\"'}\n"
	for _, tc := range []struct {
		name string
		make func(t *testing.T, path string)
		want string // "" when the file loads
	}{
		{"named pipe", func(t *testing.T, p string) { require.NoError(t, syscall.Mkfifo(p, 0o644)) },
			"not a regular file but a named pipe (FIFO); rule files must be regular files or symlinks to them"},
		{"symlink to /dev/zero", func(t *testing.T, p string) { require.NoError(t, os.Symlink("/dev/zero", p)) },
			"not a regular file but a character device; rule files must be regular files or symlinks to them"},
		{"symlink to a directory", func(t *testing.T, p string) { require.NoError(t, os.Symlink(t.TempDir(), p)) },
			"not a regular file but a directory; rule files must be regular files or symlinks to them"},
		{"too large", func(t *testing.T, p string) {
			require.NoError(t, os.WriteFile(p, []byte(good+strings.Repeat("#\n", MaxFileSize/2)), 0o644))
		}, fmt.Sprintf("file is too large: %d bytes, over the limit of 1 MiB (1048576 bytes) for a rule file", len(good)+MaxFileSize)},
		{"symlink to a regular file", func(t *testing.T, p string) {
			target := filepath.Join(t.TempDir(), "b.yaml")
			require.NoError(t, os.WriteFile(target, []byte(strings.ReplaceAll(good, "id: a", "id: b")), 0o644))
			require.NoError(t, os.Symlink(target, p))
		}, ""},
		{"exactly the limit", func(t *testing.T, p string) {
			require.NoError(t, os.WriteFile(p, []byte(strings.Repeat("\n", MaxFileSize)), 0o644))
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(good), 0o644))
			file := filepath.Join(dir, "zz.yaml")
			tc.make(t, file)
			done := make(chan error, 1)
			go func() {
				_, err := LoadDir(dir)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("LoadDir did not return")
			}
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, file+": "+tc.want)
		})
	}
}

// TestLoadFileMemory: a rule file costs memory in proportion to its size,
// not several times that (every line was kept as []rune: a 300 MB file
// took 1.97 GB). It measures the process's allocations, so it does not run
// in parallel with other tests.
func TestLoadFileMemory(t *testing.T) {
	dir := t.TempDir()
	body := "rules:\n  - {id: a, title: t, category: backlog_aging, severity: low, entity: ticket, when: tiket.open, message: '\"m\"'}\n" +
		strings.Repeat("\n", MaxFileSize-200)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(body), 0o644))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := LoadDir(dir)
	runtime.ReadMemStats(&after)
	// The error is placed on its line and column: that line was decoded.
	require.ErrorContains(t, err, `a.yaml:2:85: rule "a" ($.rules[0].when): undeclared reference to 'tiket'`)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8*len(body)))
}

func TestVersion(t *testing.T) {
	t.Parallel()
	src := `rules:
  - id: a
    title: t
    category: crm_hygiene
    severity: low
    entity: account
    when: "!account.owner_active"
    message: account.name
`
	load := func(src string) *Set {
		s, err := LoadFS(fstest.MapFS{"r.yaml": {Data: []byte(src)}}, ".")
		require.NoError(t, err)
		return s
	}
	a := load(src)
	// Comments and formatting do not change versions.
	b := load("# the owner rule\n" + strings.Replace(src, `"!account.owner_active"`, `'!account.owner_active'`, 1))
	c := load(strings.Replace(src, "severity: low", "severity: high", 1))
	require.Equal(t, a.Rules()[0].Version, b.Rules()[0].Version)
	require.Equal(t, a.Version(), b.Version())
	require.NotEqual(t, a.Rules()[0].Version, c.Rules()[0].Version)
	require.NotEqual(t, a.Version(), c.Version())
	require.Regexp(t, `^[0-9a-f]{12}$`, a.Rules()[0].Version)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	require.NoError(t, Check("../../rules", &out))
	require.Regexp(t, `^targets: \.\./\.\./rules/targets\.yaml OK \(11 KPIs\)\nrules: \d+ rules in 5 files OK\n$`, out.String())

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.yaml"), []byte("rules:\n  - id: x\n"), 0o644))
	out.Reset()
	require.Error(t, Check(dir, &out))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Equal(t, "rules: 6 errors", lines[len(lines)-1])
	require.Len(t, lines, 7)
	require.Contains(t, lines[0], `x.yaml:2:5: rule "x" ($.rules[0]): missing required field 'category'`)

	// A directory without a rule is an error: the worker would not start.
	empty := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(empty, "x.yaml"), []byte("rules:\n"), 0o644))
	out.Reset()
	require.Error(t, Check(empty, &out))
	require.Equal(t, empty+": no rules (rule files, *.yaml or *.yml: 1)\nrules: 1 error\n", out.String())
}

// FuzzLoad feeds arbitrary file contents to the loader: it must never
// panic, and must either load rules or explain why not.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/rules/*.yaml")
	defaults, _ := filepath.Glob("../../rules/*.yaml")
	for _, file := range append(seeds, defaults...) {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("rules: [{id: a, when: &x [*x]}]"))
	f.Add([]byte("rules:\n  - &a {id: a}\n  - *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.yaml"), data, 0o644); err != nil {
			t.Skip()
		}
		s, err := LoadDir(dir)
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || len(le.Errors) == 0 {
				t.Fatalf("want a non-empty *LoadError, got %T: %v", err, err)
			}
			return
		}
		for _, r := range s.Rules() {
			if r.when == nil || r.message == nil {
				t.Fatalf("rule %s loaded without programs", r.ID)
			}
		}
	})
}

// TestBadFieldMaps loads each testdata/fieldmaps/*.bad.yaml as a field map
// and compares the error with the .bad.txt beside it (-update rewrites
// them): every problem, at its line and column.
func TestBadFieldMaps(t *testing.T) {
	t.Parallel()
	golden(t, "testdata/fieldmaps/*.bad.yaml", func(t *testing.T, name string, data []byte) string {
		_, err := ParseFieldMap(name, data)
		return loadError(t, err)
	})
}
