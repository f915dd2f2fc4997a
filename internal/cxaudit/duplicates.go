package cxaudit

import (
	"strings"
	"unicode"
)

// legalSuffixes are the company-form words a name's key drops: "Acme Inc."
// and "ACME, LLC" are one customer.
var legalSuffixes = map[string]bool{
	"inc": true, "incorporated": true, "corp": true, "corporation": true, "co": true, "company": true,
	"llc": true, "llp": true, "lp": true, "ltd": true, "limited": true, "plc": true, "pty": true,
	"gmbh": true, "ag": true, "kg": true, "ug": true, "se": true, "sa": true, "sas": true, "sarl": true, "srl": true, "spa": true,
	"bv": true, "nv": true, "oy": true, "ab": true, "as": true, "aps": true, "kk": true, "pte": true, "sdn": true, "bhd": true,
	"the": true,
}

// NameKey is a company name reduced for duplicate detection: lower case,
// letters and digits only (accents kept, punctuation and "&" dropped),
// legal forms (Inc, GmbH, Ltd, …) and a leading "The" left out, words
// joined by one space. Names that reduce to nothing have the key "".
func NameKey(name string) string {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.'
	})
	out := make([]string, 0, len(words))
	for _, w := range words {
		w = strings.ReplaceAll(w, ".", "") // "G.m.b.H." and "Inc." are words too
		if w == "" || legalSuffixes[w] {
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// AccountRef is another record an account or organization is tied to, as
// rules see it: a possible duplicate account, a linked account or a linked
// organization, and why.
type AccountRef struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Domain  string `json:"domain,omitempty"`
	OwnerID string `json:"owner_id,omitempty"`
	// Match says how: "domain" (the same website domain), "name" (the
	// same name after NameKey), "external_id" (the organization carries
	// the account's Id).
	Match string `json:"match"`
}
