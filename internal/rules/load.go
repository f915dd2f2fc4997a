package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	"gopkg.in/yaml.v3"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// LoadDir loads and compiles every rule file in dir: the *.yaml and *.yml
// files, except *_test.yaml (rule tests). Problems are reported together as
// a *LoadError.
func LoadDir(dir string) (*Set, error) {
	return load(os.DirFS(dir), ".", func(name string) string { return filepath.Join(dir, name) })
}

// LoadFS is LoadDir on a file system; file names in errors are relative to
// fsys.
func LoadFS(fsys fs.FS, dir string) (*Set, error) {
	return load(fsys, dir, func(name string) string { return path.Join(dir, name) })
}

// isRuleFile reports whether name is a rule file (not a test file).
func isRuleFile(name string) bool {
	if isFieldMapFile(name) || isTargetsFile(name) {
		return false
	}
	ext := path.Ext(name)
	if ext != ".yaml" && ext != ".yml" {
		return false
	}
	return !strings.HasSuffix(strings.TrimSuffix(name, ext), "_test")
}

func load(fsys fs.FS, dir string, display func(string) string) (*Set, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("rules: reading directory %s: %w", display("."), err)
	}
	l := &loader{seen: map[string]*Rule{}}
	for _, e := range entries {
		if e.IsDir() || !isRuleFile(e.Name()) {
			continue
		}
		name := display(e.Name())
		data, err := readRuleFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			l.errs = append(l.errs, FileError{File: name, Msg: err.Error()})
			continue
		}
		l.files++
		l.loadFile(name, data)
	}
	for _, e := range entries {
		if e.IsDir() || !isFieldMapFile(e.Name()) {
			continue
		}
		name := display(e.Name())
		if l.fieldMap != nil {
			l.errs = append(l.errs, FileError{File: name, Msg: "a second field map: keep one of fields.yaml and fields.yml"})
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			l.errs = append(l.errs, FileError{File: name, Msg: err.Error()})
			continue
		}
		l.loadFieldMap(name, data)
	}
	var targets *Targets
	for _, e := range entries {
		if e.IsDir() || !isTargetsFile(e.Name()) {
			continue
		}
		name := display(e.Name())
		if targets != nil {
			l.errs = append(l.errs, FileError{File: name, Msg: "a second targets file: keep one of targets.yaml and targets.yml"})
			continue
		}
		data, err := readRuleFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			l.errs = append(l.errs, FileError{File: name, Msg: err.Error()})
			continue
		}
		var refs []targetRuleRef
		targets, refs = l.loadTargets(name, data)
		l.checkTargetRules(name, refs)
	}
	if len(l.errs) > 0 {
		le := &LoadError{Errors: l.errs}
		le.sort()
		return nil, le
	}
	set := newSet(l.rules, l.files)
	set.setFieldMap(l.fieldMap)
	if targets == nil {
		targets = DefaultTargets()
	}
	set.targets = targets
	return set, nil
}

// MaxFileSize is the largest rule file loaded. The default rules are a few
// KiB each; a larger file is a mistake (a log or a dump in the rules
// directory), and parsing it would take memory in proportion.
const MaxFileSize = 1 << 20

// errTooLarge is the problem with a file over MaxFileSize.
func errTooLarge(size int64) error {
	return fmt.Errorf("file is too large: %d bytes, over the limit of 1 MiB (%d bytes) for a rule file", size, MaxFileSize)
}

// readRuleFile reads the rule file at name, which must be a regular file
// (a symlink is followed, as Kubernetes mounts ConfigMap keys as symlinks)
// of at most MaxFileSize bytes. The type is checked before the file is
// opened: opening a named pipe blocks until something writes to it, and a
// device such as /dev/zero never ends.
func readRuleFile(fsys fs.FS, name string) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if what := irregular(fi.Mode()); what != "" {
		return nil, fmt.Errorf("not a regular file but %s; rule files must be regular files or symlinks to them", what)
	}
	if fi.Size() > MaxFileSize {
		return nil, errTooLarge(fi.Size())
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The file may have grown since it was looked at.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the file: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, errTooLarge(int64(len(data)))
	}
	return data, nil
}

// irregular names what a file of mode m is when it is no regular file,
// and is "" for a regular one.
func irregular(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file (mode " + m.String() + ")"
}

// ParseFile parses and compiles the rules of one file's contents. name is
// used in errors only.
func ParseFile(name string, data []byte) ([]*Rule, error) {
	l := &loader{seen: map[string]*Rule{}}
	l.loadFile(name, data)
	if len(l.errs) > 0 {
		le := &LoadError{Errors: l.errs}
		le.sort()
		return nil, le
	}
	sortRules(l.rules)
	return l.rules, nil
}

type loader struct {
	rules    []*Rule
	seen     map[string]*Rule
	errs     []FileError
	files    int
	fieldMap *tenant.FieldMap // nil: the directory has none
}

// fileLoader loads one file.
type fileLoader struct {
	*loader
	name string
	// data is the file's text. Its lines are decoded only to place an
	// error in an expression (positions), and only those lines.
	data []byte
	rule string // id of the rule being read, for error messages
}

func (f *fileLoader) errorf(n *yaml.Node, path, format string, args ...any) {
	fe := FileError{File: f.name, RuleID: f.rule, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		fe.Line, fe.Column = n.Line, n.Column
	}
	f.errs = append(f.errs, fe)
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (l *loader) loadFile(name string, data []byte) {
	if len(data) > MaxFileSize {
		l.errs = append(l.errs, FileError{File: name, Msg: errTooLarge(int64(len(data))).Error()})
		return
	}
	f := &fileLoader{loader: l, name: name, data: data}
	var doc yaml.Node
	if err := safeUnmarshal(data, &doc); err != nil {
		l.errs = append(l.errs, yamlError(name, data, err))
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return // empty file: no rules
	}
	root := resolve(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return
	}
	fields := f.mapping(root, "$", []string{"rules"})
	if fields == nil {
		return
	}
	list, ok := fields["rules"]
	if !ok {
		f.errorf(root, "$", "missing required field 'rules'")
		return
	}
	list = resolve(list)
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return
	}
	if list.Kind != yaml.SequenceNode {
		f.errorf(list, "$.rules", "expected a list of rules, got %s", kindName(list))
		return
	}
	for i, n := range list.Content {
		f.rule = ""
		if r := f.parseRule(resolve(n), fmt.Sprintf("$.rules[%d]", i)); r != nil {
			l.rules = append(l.rules, r)
		}
	}
}

// yamlError places a YAML syntax error at its line.
// yaml.v3 names the line of the mapping it was in (from 0) rather than the
// problem's: the problem's line is looked for (problemLine), and a quoted
// value that goes on after its quote is said as such.
func yamlError(name string, data []byte, err error) FileError {
	msg := err.Error()
	fe := FileError{File: name, Line: 1, Column: 1}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		fe.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if line, ok := problemLine(data, fe.Line, msg); ok {
		fe.Line = line
	}
	if col, said := quotedThenMore(lineOf(data, fe.Line)); col > 0 {
		fe.Column, msg = col, said
	}
	fe.Msg = "invalid YAML: " + msg
	return fe
}

// safeUnmarshal parses YAML, turning a panic of the parser into an error.
func safeUnmarshal(data []byte, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(data, n)
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

// mapping checks that n is a mapping with keys from known only (any keys
// when known is nil), each once, and returns its values by key. It returns
// nil when n is no mapping.
func (f *fileLoader) mapping(n *yaml.Node, path string, known []string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		f.errorf(n, path, "expected a mapping, got %s", kindName(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			f.errorf(k, path, "expected a field name, got %s", kindName(k))
			continue
		}
		if known != nil && !slices.Contains(known, k.Value) {
			f.errorf(k, path, "unknown field '%s'%s", k.Value, didYouMean(nearest(k.Value, known)))
			continue
		}
		if prev, dup := keys[k.Value]; dup {
			f.errorf(k, path+"."+k.Value, "field '%s' given twice (first at line %d)", k.Value, prev.Line)
			continue
		}
		keys[k.Value] = k
		out[k.Value] = resolve(v)
	}
	return out
}

// scalar returns the string value of a scalar field, "" for null.
func (f *fileLoader) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		f.errorf(n, path, "expected a single value, got %s", kindName(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	if said, ok := yamlTag(n, path[strings.LastIndexAny(path, ".]")+1:]); ok {
		f.errorf(n, path, "%s", said)
		return "", false
	}
	return n.Value, true
}

var ruleFields = []string{"id", "title", "category", "severity", "entity", "mode", "audience", "owner", "docs", "when", "message", "actions"}

var idRe = regexp.MustCompile(`^[a-z0-9_.]+$`)

func (f *fileLoader) parseRule(n *yaml.Node, p string) *Rule {
	if n.Kind == yaml.MappingNode {
		// Name the rule in every error about it, even those found first.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], resolve(n.Content[i+1]); k.Value == "id" && v.Kind == yaml.ScalarNode {
				f.rule = v.Value
			}
		}
	}
	fields := f.mapping(n, p, ruleFields)
	if fields == nil {
		return nil
	}
	before := len(f.errs)
	r := &Rule{File: f.name, Line: n.Line, Mode: cxaudit.ModeEnforce, Audience: AudienceAgent, path: p}
	str := func(key string, required bool) (string, *yaml.Node) {
		v, ok := fields[key]
		if !ok {
			if required {
				f.errorf(n, p, "missing required field '%s'", key)
			}
			return "", nil
		}
		s, ok := f.scalar(v, p+"."+key)
		if ok && s == "" && required {
			f.errorf(v, p+"."+key, "'%s' must not be empty", key)
		}
		return s, v
	}
	enum := func(key string, required bool, allowed []string) (string, *yaml.Node) {
		s, v := str(key, required)
		if s != "" && !slices.Contains(allowed, s) {
			f.errorf(v, p+"."+key, "invalid %s '%s': must be one of %s%s", key, s, strings.Join(allowed, ", "), didYouMean(nearest(s, allowed)))
		}
		return s, v
	}

	var idNode *yaml.Node
	r.ID, idNode = str("id", true)
	if r.ID != "" && !idRe.MatchString(r.ID) {
		f.errorf(idNode, p+".id", "invalid id '%s': use lower-case letters, digits, '_' and '.' only", r.ID)
	}
	var titleNode *yaml.Node
	r.Title, titleNode = str("title", true)
	if n := utf8.RuneCountInString(r.Title); n > MaxTitle {
		f.errorf(titleNode, p+".title", "title is %d characters long; at most %d (it heads notes, and Task subjects of 255 characters after cxaudit's marker)", n, MaxTitle)
	}
	r.Owner, _ = str("owner", false)
	r.Docs, _ = str("docs", false)
	cat, _ := enum("category", true, toStrings(cxaudit.Categories))
	r.Category = cxaudit.Category(cat)
	sev, _ := enum("severity", true, toStrings(cxaudit.Severities))
	r.Severity = cxaudit.Severity(sev)
	ent, _ := enum("entity", true, []string{string(cxaudit.EntityTicket), string(cxaudit.EntityOrganization), string(cxaudit.EntityAccount)})
	r.Entity = cxaudit.EntityKind(ent)
	if mode, _ := enum("mode", false, []string{string(cxaudit.ModeObserve), string(cxaudit.ModeEnforce)}); mode != "" {
		r.Mode = cxaudit.Mode(mode)
	}
	if aud, _ := enum("audience", false, []string{string(AudienceAgent), string(AudienceLead)}); aud != "" {
		r.Audience = Audience(aud)
	}
	var whenNode, msgNode *yaml.Node
	r.When, whenNode = str("when", true)
	r.Message, msgNode = str("message", true)
	if a, ok := fields["actions"]; ok {
		r.Actions = f.parseActions(a, p+".actions", r)
		if r.Audience == AudienceLead {
			f.errorf(a, p+".actions", "a rule for leads (audience: lead) writes nothing to tickets or accounts: remove its actions; "+
				"its findings are recorded for the scorecard and the store (audience: agent puts them on the ticket or account)")
		}
	}

	if r.ID != "" {
		if prev, dup := f.seen[r.ID]; dup {
			f.errorf(idNode, p+".id", "duplicate rule id '%s' (also defined at %s:%d)", r.ID, prev.File, prev.Line)
		} else {
			f.seen[r.ID] = r
		}
	}
	// Compile only against a known entity: it decides the variables.
	if r.Entity != "" && slices.Contains([]cxaudit.EntityKind{cxaudit.EntityTicket, cxaudit.EntityOrganization, cxaudit.EntityAccount}, r.Entity) {
		if whenNode != nil && r.When != "" {
			r.when = f.compile(r, r.When, whenNode, p+".when", cel.BoolType)
		}
		if msgNode != nil && r.Message != "" {
			r.message = f.compile(r, r.Message, msgNode, p+".message", cel.StringType)
		}
	}
	if len(f.errs) > before {
		return nil
	}
	r.Version = r.hash()
	return r
}

func toStrings[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

var tagRe = regexp.MustCompile(`^[a-z0-9_:/-]+$`)

var taskPriorities = []string{"High", "Normal", "Low"}

// MaxTitle is the longest rule title, in characters: it heads notes, and
// follows cxaudit's marker in Task subjects, which hold 255.
const MaxTitle = 200

func (f *fileLoader) parseActions(n *yaml.Node, p string, r *Rule) cxaudit.Actions {
	var a cxaudit.Actions
	fields := f.mapping(n, p, []string{"zendesk", "salesforce"})
	if zn, ok := fields["zendesk"]; ok {
		if r.Entity != "" && r.Entity != cxaudit.EntityTicket {
			f.errorf(zn, p+".zendesk", "zendesk actions need a ticket, but the rule's entity is %s", r.Entity)
		}
		zf := f.mapping(zn, p+".zendesk", []string{"note", "tags"})
		if v, ok := zf["note"]; ok {
			if err := v.Decode(&a.ZendeskNote); err != nil || v.Kind != yaml.ScalarNode {
				f.errorf(v, p+".zendesk.note", "expected true or false, got %s", kindName(v))
			}
		}
		if v, ok := zf["tags"]; ok {
			if v.Kind != yaml.SequenceNode {
				f.errorf(v, p+".zendesk.tags", "expected a list of tags, got %s", kindName(v))
			} else {
				for i, t := range v.Content {
					t = resolve(t)
					tp := fmt.Sprintf("%s.zendesk.tags[%d]", p, i)
					if s, ok := f.scalar(t, tp); ok {
						if !tagRe.MatchString(s) {
							f.errorf(t, tp, "invalid Zendesk tag '%s': use lower-case letters, digits, '_', '-', ':' and '/' only, no spaces", s)
						}
						a.ZendeskTags = append(a.ZendeskTags, s)
					}
				}
			}
		}
	}
	if sn, ok := fields["salesforce"]; ok {
		switch r.Entity {
		case cxaudit.EntityTicket, cxaudit.EntityOrganization:
			// An organization's findings have no Salesforce record to go
			// to: write the rule on the linked account instead.
			f.errorf(sn, p+".salesforce", "salesforce actions need an account, but the rule's entity is %s (write the rule on the linked account: entity: account)", r.Entity)
		}
		sf := f.mapping(sn, p+".salesforce", []string{"task"})
		if tn, ok := sf["task"]; ok {
			task := &cxaudit.TaskAction{}
			if !(tn.Kind == yaml.ScalarNode && tn.Tag == "!!null") {
				tf := f.mapping(tn, p+".salesforce.task", []string{"priority", "due_in_days"})
				if v, ok := tf["priority"]; ok {
					if s, ok := f.scalar(v, p+".salesforce.task.priority"); ok {
						if s != "" && !slices.Contains(taskPriorities, s) {
							f.errorf(v, p+".salesforce.task.priority", "invalid priority '%s': must be one of %s%s", s, strings.Join(taskPriorities, ", "), didYouMean(nearest(s, taskPriorities)))
						}
						task.Priority = s
					}
				}
				if v, ok := tf["due_in_days"]; ok {
					if err := v.Decode(&task.DueInDays); err != nil || v.Kind != yaml.ScalarNode || task.DueInDays < 0 || task.DueInDays > 365 {
						f.errorf(v, p+".salesforce.task.due_in_days", "expected a whole number of days from 0 to 365, got %s", kindName(v))
					}
				}
			}
			if task.Priority == "" {
				task.Priority = cxaudit.TaskPriority(r.Severity)
			}
			a.SalesforceTask = task
		}
	}
	return a
}

// hash returns the rule's content hash: it changes whenever anything that
// decides or describes a finding changes.
func (r *Rule) hash() string {
	def := struct {
		ID, Title, Owner, Docs      string
		Category, Severity          string
		Entity, Mode, When, Message string
		Actions                     cxaudit.Actions
		// Audience only when not the default, so that the rules written
		// before it keep their versions.
		Audience string `json:",omitempty"`
	}{r.ID, r.Title, r.Owner, r.Docs, string(r.Category), string(r.Severity), string(r.Entity), string(r.Mode), r.When, r.Message, r.Actions, ""}
	if r.Audience != AudienceAgent {
		def.Audience = string(r.Audience)
	}
	b, _ := json.Marshal(def)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// compile type-checks src against the rule's entity environment, requires
// its result type, estimates its cost and returns the program.
func (f *fileLoader) compile(r *Rule, src string, n *yaml.Node, p string, want *cel.Type) (prg cel.Program) {
	defer func() {
		if rec := recover(); rec != nil {
			f.errorf(n, p, "internal error compiling expression: %v", rec)
			prg = nil
		}
	}()
	env, err := envFor(r.Entity)
	if err != nil {
		f.errorf(n, p, "%v", err)
		return nil
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		pos := f.positions(n)
		for _, e := range iss.Errors() {
			fe := FileError{File: f.name, RuleID: r.ID, Path: p, Msg: f.celMessage(r.Entity, e.Message)}
			fe.Line, fe.Column = n.Line, n.Column
			if loc := e.Location; loc != nil && loc.Line() > 0 {
				fe.Line, fe.Column = pos(exprOffset(src, loc.Line(), loc.Column()))
			}
			hint := celSyntaxHint(strings.TrimPrefix(path.Ext(p), "."), src, e.Message)
			if hint != "" {
				fe.Msg += " (" + hint + ")"
			}
			f.errs = append(f.errs, fe)
			if hint != "" {
				// One slip, one error: what CEL's parser says after it
				// is the same slip seen again.
				break
			}
		}
		return nil
	}
	if !ast.OutputType().IsExactType(want) {
		what := map[bool]string{true: "true or false (bool)", false: "text (string)"}[want == cel.BoolType]
		f.errorf(n, p, "expression must yield %s, but yields %s", what, ast.OutputType())
		return nil
	}
	est, err := env.EstimateCost(ast, costEstimator{sizes: newSizer(ast.NativeRep())})
	if err != nil {
		f.errorf(n, p, "estimating cost: %v", err)
		return nil
	}
	if est.Max > MaxCost {
		f.errorf(n, p, "expression too expensive: estimated cost up to %d exceeds the limit of %d (avoid nested loops over tickets and comments)", est.Max, MaxCost)
		return nil
	}
	prg, err = newBudgeted(env, ast)
	if err != nil {
		f.errorf(n, p, "%v", err)
		return nil
	}
	native := ast.NativeRep()
	posOf := f.positions(n)
	at := func(id int64) (int, int) {
		loc := native.SourceInfo().GetStartLocation(id)
		if loc.Line() <= 0 {
			return n.Line, n.Column
		}
		return posOf(exprOffset(src, loc.Line(), loc.Column()))
	}
	r.reads = r.reads.or(readsOf(native, strings.TrimPrefix(path.Ext(p), "."), at))
	if r.Entity == cxaudit.EntityTicket && want == cel.BoolType {
		r.statuses, r.anyStatus = statusesOf(native.Expr())
		r.anyStatus = !r.anyStatus
	}
	r.warnings = append(r.warnings, f.enumWarnings(r, native, p, at)...)
	return prg
}

var (
	undeclaredRe = regexp.MustCompile(`^undeclared reference to '([^']*)' \(in container '[^']*'\)$`)
	undefFieldRe = regexp.MustCompile(`^undefined field '([^']*)'$`)
)

// celMessage rewrites a CEL error message for rule authors and adds hints.
func (f *fileLoader) celMessage(kind cxaudit.EntityKind, msg string) string {
	// business_hours_between is a macro over a hidden function: speak of
	// what the author wrote.
	msg = strings.ReplaceAll(msg, "'"+fnBusinessHours+"' applied to '("+scheduleTypeName+", ", "'business_hours_between' applied to '(")
	if m := undeclaredRe.FindStringSubmatch(msg); m != nil {
		name := m[1]
		msg = fmt.Sprintf("undeclared reference to '%s'", name)
		switch {
		case name == varTicket && kind != cxaudit.EntityTicket:
			return msg + fmt.Sprintf(" (%s rules see the customer's recent tickets as 'tickets', not one 'ticket')", kind)
		case name == varTickets && kind == cxaudit.EntityTicket:
			return msg + " (ticket rules see one 'ticket'; 'tickets' is for organization and account rules)"
		}
		return msg + didYouMean(suggestIdent(kind, name))
	}
	if m := undefFieldRe.FindStringSubmatch(msg); m != nil {
		names := make([]string, 0, len(fieldNames))
		for n := range fieldNames {
			names = append(names, n)
		}
		return msg + didYouMean(nearest(m[1], names))
	}
	return msg
}

// exprOffset converts CEL's 1-based line and 0-based column into a rune
// offset in src.
func exprOffset(src string, line, col int) int {
	off := 0
	for i, l := range strings.Split(src, "\n") {
		if i == line-1 {
			return off + col
		}
		off += len([]rune(l)) + 1
	}
	return off
}

// positions maps rune offsets in the value of scalar n to 1-based line and
// column in the file. It aligns the value with the file text: exact for
// plain and single-line scalars, close for quoted scalars with escapes and
// for block scalars.
func (f *fileLoader) positions(n *yaml.Node) func(off int) (int, int) {
	value := []rune(n.Value)
	line, col := n.Line-1, n.Column-1 // 0-based
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		line, col = line+1, 0
	}
	lines := lineCursor{data: f.data}
	type pos struct{ line, col int }
	at := make([]pos, 0, len(value)+1)
	next := func() {
		col++
		if l, ok := lines.at(line); ok && col > len(l) {
			line, col = line+1, 0
		}
	}
	cur := func() (rune, bool) {
		l, ok := lines.at(line)
		if !ok {
			return 0, false
		}
		if col >= len(l) {
			return '\n', true
		}
		return l[col], true
	}
	for _, v := range value {
		for {
			c, ok := cur()
			if !ok {
				break
			}
			if c == v || (unicode.IsSpace(c) && unicode.IsSpace(v)) {
				break
			}
			next()
		}
		at = append(at, pos{line, col})
		next()
	}
	at = append(at, pos{line, col})
	return func(off int) (int, int) {
		off = max(0, min(off, len(at)-1))
		return at[off].line + 1, at[off].col + 1
	}
}

// lineCursor decodes the lines of a file one at a time, as positions walks
// them: forward from the line an expression starts on.
type lineCursor struct {
	data  []byte
	set   bool   // line, start and runes hold a line
	line  int    // that line, 0-based
	start int    // the byte offset it starts at
	runes []rune // its text, without the newline
}

// at returns line i (0-based) of the file, and false past its last line.
// A file of n newlines has n+1 lines, the last one empty when the file
// ends with a newline.
func (c *lineCursor) at(i int) ([]rune, bool) {
	if i < 0 {
		return nil, false
	}
	if !c.set || i < c.line {
		c.line, c.start, c.set = 0, 0, true
		c.runes = c.decode()
	}
	for c.line < i {
		nl := bytes.IndexByte(c.data[c.start:], '\n')
		if nl < 0 {
			return nil, false
		}
		c.start += nl + 1
		c.line++
		c.runes = c.decode()
	}
	return c.runes, true
}

// decode returns the line starting at c.start as runes.
func (c *lineCursor) decode() []rune {
	rest := c.data[c.start:]
	if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl]
	}
	return []rune(string(rest))
}
