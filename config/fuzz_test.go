package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that its two outcomes are
// coherent: a usable Config, or a non-empty Errors with a message per entry.
func FuzzParse(f *testing.F) {
	full, err := os.ReadFile("testdata/full.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(full))
	for _, tc := range invalidCases {
		f.Add(tc.src)
	}
	for _, tc := range misshapenCases {
		f.Add(tc.src)
	}
	f.Add("")
	f.Add("[tasks.a]\ncommand = \"${X:-${Y:-$$}}\"\n")
	f.Add("notify = [{type = \"exec\", command = \"x\", zz = 1}]\n")
	f.Add("[tasks.a.env]\nA.B = 1\n[tasks.a]\ncommand = 'x'\n")

	f.Fuzz(func(t *testing.T, src string) {
		cfg, err := Parse("f.toml", []byte(src), testLookup)
		if err == nil {
			if cfg == nil || cfg.Graph == nil || len(cfg.Graph.Order()) != len(cfg.Tasks) {
				t.Fatalf("success without a complete config: %+v", cfg)
			}
			return
		}
		var errs Errors
		if cfg != nil || !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("bad failure: cfg=%v err=%T %v", cfg, err, err)
		}
		for _, e := range errs {
			if e == nil || e.Msg == "" {
				t.Fatalf("empty error in %v", err)
			}
		}
	})
}
