package config

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse1000: the configuration of the 1000-task start benchmark, which
// counts its loading too.
func BenchmarkParse1000(b *testing.B) {
	var c strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&c, "[tasks.s%04d]\ncommand = [\"sleep\", \"1000\"]\n", i)
	}
	data := []byte(c.String())
	for b.Loop() {
		if _, err := Parse("x.toml", data, func(string) (string, bool) { return "", false }); err != nil {
			b.Fatal(err)
		}
	}
}
