// Package migrations holds cxaudit's own schema, one directory per database.
// River's tables are migrated separately, through rivermigrate.
//
// Files are named NNNN_description.sql and applied in order, each in its own
// transaction; the applied versions are recorded in cxaudit_migration.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql.
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
