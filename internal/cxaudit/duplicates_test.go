package cxaudit

import "testing"

func TestNameKey(t *testing.T) {
	for in, want := range map[string]string{
		"Acme Labs":                "acme labs",
		"ACME LABS, Inc.":          "acme labs",
		"Acme Labs Incorporated":   "acme labs",
		"acme-labs GmbH":           "acme labs",
		"Müller & Söhne G.m.b.H.":  "müller söhne",
		"The Globex Corporation":   "globex",
		"Initech Ltd":              "initech",
		"Initech Limited (UK)":     "initech uk",
		"  Umbrella   Co. ":        "umbrella",
		"Inc.":                     "",
		"3M Company":               "3m",
		"Wayne Enterprises, L.L.C": "wayne enterprises",
	} {
		if got := NameKey(in); got != want {
			t.Errorf("NameKey(%q) = %q, want %q", in, got, want)
		}
	}
}
