// Package rulepack embeds cxaudit's default rule pack: the rule files,
// their tests, the field map template and the editor schemas of this
// directory. The binary carries it, so `cxaudit demo` runs from any
// directory; a deployment reads its own copy (CXAUDIT_RULES_DIR).
package rulepack

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

// FS holds the pack.
//
//go:embed *.yaml *.json README.md
var FS embed.FS

// WriteTo copies the pack into dir, which must exist.
func WriteTo(dir string) error {
	return fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := FS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), data, 0o644)
	})
}
