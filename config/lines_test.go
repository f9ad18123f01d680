package config

import (
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
)

func TestIndexLines(t *testing.T) {
	src := tomlLines(
		`# comment [not.a.table]`,          // 1
		`top = 1`,                          // 2
		`[procmon]  # trailing`,            // 3
		`stop_timeout = "1s"`,              // 4
		`[tasks.web]`,                      // 5
		`command = """`,                    // 6
		`[fake.header]`,                    // 7
		`fake = 1 \"""`,                    // 8
		`"""`,                              // 9
		`parents = [`,                      // 10
		`  "a", # x = 1`,                   // 11
		`  'b',`,                           // 12
		`]`,                                // 13
		`env = { A = "1", B = { C = 2 } }`, // 14
		`"quoted key" = '''`,               // 15
		`x = 1'''`,                         // 16
		`[tasks."my.task"]`,                // 17
		`dotted.key = "v"`,                 // 18
		`[[notify]]`,                       // 19
		`url = "a"`,                        // 20
		`[[notify]]`,                       // 21
		`  url = "b"`,                      // 22
		`[notify.sub]`,                     // 23
		`k = 1`,                            // 24
	)
	idx := indexLines(src)
	for key, want := range map[string]int{
		"top":                        2,
		"procmon":                    3,
		"procmon.stop_timeout":       4,
		"tasks":                      5,
		"tasks.web":                  5,
		"tasks.web.command":          6,
		"tasks.web.parents":          10,
		"tasks.web.env":              14,
		"tasks.web.env.B.C":          14,
		`tasks.web."quoted key"`:     15,
		`tasks."my.task"`:            17,
		`tasks."my.task".dotted`:     18,
		`tasks."my.task".dotted.key`: 18,
		"notify.0":                   19,
		"notify.0.url":               20,
		"notify.1":                   21,
		"notify.1.url":               22,
		"notify.1.sub.k":             24,
	} {
		assert.Equal(t, want, idx.lines[key], key)
	}
	for _, absent := range []string{"fake", "fake.header", "x", "tasks.web.fake"} {
		_, ok := idx.lines[absent]
		assert.False(t, ok, absent)
	}
	assert.Equal(t, 5, idx.lineOf(toml.Key{"tasks", "web", "missing"}), "falls back to the table")
	assert.Equal(t, 0, idx.lineOf(toml.Key{"nowhere"}))
}

func TestIndexLinesExplicitHeaderWins(t *testing.T) {
	idx := indexLines(tomlLines(`[a.b.c]`, `x = 1`, `[a.b]`, `y = 2`))
	assert.Equal(t, 3, idx.lines["a.b"])
	assert.Equal(t, 1, idx.lines["a"])
}
