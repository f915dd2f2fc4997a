package rules

import (
	"errors"
	"fmt"
	"io"
)

// Check loads the rules in dir and prints every problem, one per line,
// then a summary line. It returns the load error, if any; a directory
// without a rule is one. The CLI runs it as `cxaudit rules check DIR`.
func Check(dir string, w io.Writer) error {
	s, err := LoadDir(dir)
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			for _, e := range le.Errors {
				fmt.Fprintln(w, e.Error())
			}
			fmt.Fprintf(w, "rules: %d %s\n", len(le.Errors), plural(len(le.Errors), "error", "errors"))
			return err
		}
		fmt.Fprintln(w, err)
		fmt.Fprintln(w, "rules: 1 error")
		return err
	}
	if len(s.Rules()) == 0 {
		// The worker refuses to start on such a directory.
		err := fmt.Errorf("%s: no rules (rule files, *.yaml or *.yml: %d)", dir, s.Files())
		fmt.Fprintln(w, err)
		fmt.Fprintln(w, "rules: 1 error")
		return err
	}
	if f := s.Targets().File; f != "" {
		fmt.Fprintf(w, "targets: %s OK (%d KPIs)\n", f, len(s.Targets().KPI))
	} else {
		fmt.Fprintf(w, "targets: no %s in %s: the scorecard uses the default targets\n", TargetsFile, dir)
	}
	warns := s.Warnings()
	for _, e := range warns {
		fmt.Fprintln(w, e.Error())
	}
	var also string
	if len(warns) > 0 {
		also = fmt.Sprintf(", %d %s", len(warns), plural(len(warns), "warning", "warnings"))
	}
	fmt.Fprintf(w, "rules: %d %s in %d %s OK%s\n", len(s.Rules()), plural(len(s.Rules()), "rule", "rules"),
		s.Files(), plural(s.Files(), "file", "files"), also)
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
