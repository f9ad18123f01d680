package config

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// loader carries what every validation step needs and collects their errors.
// Its conversion methods write to dst only when the key is set and valid, so dst
// keeps its default otherwise; each problem becomes one Error, and the caller
// carries on to find the next.
type loader struct {
	file      string
	lines     *lineIndex
	lookup    func(string) (string, bool)
	errs      Errors
	misshapen map[string]bool // key paths that checkShapes left out of decoding
}

func (l *loader) errorf(key toml.Key, format string, args ...any) {
	l.errs = append(l.errs, &Error{
		File: l.file,
		Line: l.lines.lineOf(key),
		Key:  key.String(),
		Msg:  fmt.Sprintf(format, args...),
	})
}

// sub returns a fresh key path below k; fresh, because appending to a shared
// prefix would let sibling keys overwrite each other's last element.
func sub(k toml.Key, names ...string) toml.Key {
	return append(append(make(toml.Key, 0, len(k)+len(names)), k...), names...)
}

// expandStr checks that v is a string and expands its variables.
func (l *loader) expandStr(key toml.Key, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		l.errorf(key, "must be a string, not %s", tomlType(v))
		return "", false
	}
	out, err := expand(s, l.lookup)
	if err != nil {
		l.errorf(key, "%v", err)
		return "", false
	}
	return out, true
}

func (l *loader) str(key toml.Key, r value, dst *string) bool {
	if !r.set {
		return false
	}
	s, ok := l.expandStr(key, r.v)
	if ok {
		*dst = s
	}
	return ok
}

// elems returns v as a list; where a list is expected a single value is accepted.
func elems(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []map[string]any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = x[i]
		}
		return out
	}
	return []any{v}
}

func (l *loader) strList(key toml.Key, r value, dst *[]string) bool {
	if !r.set {
		return false
	}
	var out []string
	ok := true
	for _, e := range elems(r.v) {
		s, good := l.expandStr(key, e)
		ok = ok && good
		out = append(out, s)
	}
	if ok {
		*dst = out
	}
	return ok
}

// names reads a list of task or monitor names, rejecting repeats, which are
// always a slip (a second copy of a name would change nothing).
func (l *loader) names(key toml.Key, r value, dst *[]string) bool {
	var list []string
	if !l.strList(key, r, &list) {
		return false
	}
	seen := map[string]bool{}
	for _, n := range list {
		if seen[n] {
			l.errorf(key, "%q is listed twice", n)
			return false
		}
		seen[n] = true
	}
	if len(list) > 0 {
		*dst = list
	}
	return true
}

// command reads an argv list, or a string to be run by /bin/sh -c.
func (l *loader) command(key toml.Key, r value, dst *[]string) {
	if !r.set {
		return
	}
	if _, isStr := r.v.(string); isStr {
		var s string
		if l.str(key, r, &s) {
			if s == "" {
				l.errorf(key, "missing command")
				return
			}
			*dst = []string{"/bin/sh", "-c", s}
		}
		return
	}
	var argv []string
	if l.strList(key, r, &argv) {
		if len(argv) == 0 || argv[0] == "" {
			l.errorf(key, "missing command")
			return
		}
		*dst = argv
	}
}

// strMap reads a table of strings such as env or headers. Numbers and booleans
// are accepted as their TOML text, since `PORT = 8080` is what people write.
func (l *loader) strMap(key toml.Key, r value, dst *map[string]string) {
	if !r.set {
		return
	}
	m, ok := r.v.(map[string]any)
	if !ok {
		l.errorf(key, "must be a table, not %s", tomlType(r.v))
		return
	}
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		switch v := m[k].(type) {
		case int64, float64, bool:
			out[k] = fmt.Sprint(v)
		default:
			if s, ok := l.expandStr(sub(key, k), v); ok {
				out[k] = s
			}
		}
	}
	if len(out) > 0 {
		*dst = out
	}
}

func (l *loader) boolean(key toml.Key, r value, dst *bool) {
	if !r.set {
		return
	}
	b, ok := r.v.(bool)
	if !ok {
		l.errorf(key, "must be true or false, not %s", tomlType(r.v))
		return
	}
	*dst = b
}

// integer reads an int no smaller than lo.
func (l *loader) integer(key toml.Key, r value, lo int, dst *int) {
	if !r.set {
		return
	}
	n, ok := r.v.(int64)
	if !ok {
		l.errorf(key, "must be an integer, not %s", tomlType(r.v))
		return
	}
	if n < int64(lo) {
		l.errorf(key, "must be %d or more, not %d", lo, n)
		return
	}
	if n > math.MaxInt32 {
		l.errorf(key, "%d is too large", n)
		return
	}
	*dst = int(n)
}

// integerUpTo is integer with an upper bound too.
func (l *loader) integerUpTo(key toml.Key, r value, lo, hi int, dst *int) {
	n := *dst
	l.integer(key, r, lo, &n)
	if n > hi {
		l.errorf(key, "must be %d or less, not %d", hi, n)
		return
	}
	*dst = n
}

func (l *loader) float(key toml.Key, r value, dst *float64) {
	if !r.set {
		return
	}
	var f float64
	switch x := r.v.(type) {
	case float64:
		f = x
	case int64:
		f = float64(x)
	default:
		l.errorf(key, "must be a number, not %s", tomlType(r.v))
		return
	}
	if f < 0 || f != f {
		l.errorf(key, "must be a number >= 0")
		return
	}
	*dst = f
}

// duration reads a Go duration string; positive demands more than zero.
func (l *loader) duration(key toml.Key, r value, positive bool, dst *time.Duration) {
	var s string
	if !l.str(key, r, &s) {
		return
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		l.errorf(key, "invalid duration %q (use a Go duration such as \"10s\", \"1m30s\")", s)
	case d < 0:
		l.errorf(key, "duration %q must not be negative", s)
	case positive && d == 0:
		l.errorf(key, "duration must be greater than 0")
	default:
		*dst = d
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// oneOf checks that s is one of allowed, with a hint when it looks like a typo.
func (l *loader) oneOf(key toml.Key, s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	l.errorf(key, "invalid value %q: must be %s%s", s, orList(allowed), didYouMean(s, allowed))
	return false
}

func orList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	last := len(quoted) - 1
	return fmt.Sprintf("%s or %s", strings.Join(quoted[:last], ", "), quoted[last])
}
