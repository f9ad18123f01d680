package config

import (
	"fmt"
	"strings"
)

// expand replaces ${VAR} and ${VAR:-default} with values from lookup and $$ with a
// literal $. As in the shell, the default also applies when VAR is set but empty,
// and is itself expanded, so ${A:-${B}} falls back to B. A $ followed by anything
// else is kept, so "costs $5" needs no escaping.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := closingBrace(s[i+2:])
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ in %q", s)
			}
			v, err := substitute(s[i+2:i+2+end], lookup)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}

// closingBrace returns the index of the } that closes a ${ whose body starts s,
// skipping nested ${...} and $$, or -1.
func closingBrace(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '$'):
			if s[i+1] == '{' {
				depth++
			}
			i++
		case s[i] == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// substitute resolves the inside of one ${...}.
func substitute(expr string, lookup func(string) (string, bool)) (string, error) {
	name, def, hasDef := strings.Cut(expr, ":-")
	if !validVarName(name) {
		return "", fmt.Errorf("invalid variable name in ${%s}", expr)
	}
	v, ok := lookup(name)
	if hasDef && v == "" {
		return expand(def, lookup)
	}
	if !ok {
		return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} to give a default)", name, name)
	}
	return v, nil
}

func validVarName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for i := range len(name) {
		if c := name[i]; !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
