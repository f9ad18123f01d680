package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one configuration problem, located by file, line and key path so that a
// user can jump straight to it. Line is 0 when no line applies (an unreadable file).
type Error struct {
	File string
	Line int
	Key  string // dotted key path such as "tasks.web.parent"; "" for file-level problems
	Msg  string
	err  error // underlying cause, such as an fs error, for errors.Is
}

// Error formats the problem as "file:line: key: message", leaving out empty parts.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Unwrap returns the underlying cause, if any (e.g. fs.ErrNotExist from Load).
func (e *Error) Unwrap() error { return e.err }

// Errors lists every problem found in one file, sorted by line.
type Errors []*Error

// Error prints one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
}

// didYouMean returns ` (did you mean "x"?)` for the known name nearest to got,
// or "" when none is close enough to be a plausible typo.
func didYouMean(got string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		limit := max(1, len(k)/3)
		if abs(len(got)-len(k)) > limit {
			continue // the distance is at least the length difference
		}
		d := distance(strings.ToLower(got), strings.ToLower(k))
		if d > limit || d >= len(got) || d >= len(k) {
			continue
		}
		if bestD < 0 || d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if bestD < 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the optimal string alignment distance: Levenshtein plus adjacent
// transpositions, since "redsi" for "redis" is one slip of the fingers, not two.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
