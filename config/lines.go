package config

import (
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// lineIndex maps key paths to the line that defines them. BurntSushi/toml keeps key
// positions to itself, so this re-scans the source. It runs only on text the TOML
// parser has accepted, which lets it skip values without validating them; it still
// must never panic or loop, whatever the input.
//
// Entries of arrays of tables are numbered, so the second [[notify]]'s url is
// "notify.1.url"; tables implied by a dotted key or header get the line of their
// first mention unless an explicit header defines them.
type lineIndex struct {
	lines    map[string]int
	explicit map[string]bool
}

// lineOf returns the line of k, else of its nearest enclosing table, else 0.
func (x *lineIndex) lineOf(k toml.Key) int {
	for n := len(k); n > 0; n-- {
		if l, ok := x.lines[k[:n].String()]; ok {
			return l
		}
	}
	return 0
}

func (x *lineIndex) set(k toml.Key, line int) {
	for n := 1; n < len(k); n++ {
		if p := k[:n].String(); x.lines[p] == 0 {
			x.lines[p] = line
		}
	}
	if p := k.String(); !x.explicit[p] {
		x.lines[p], x.explicit[p] = line, true
	}
}

type lineScanner struct {
	s      string
	i      int
	line   int
	idx    *lineIndex
	arrays map[string]int // array-of-tables path -> index of its current entry
}

func indexLines(src string) *lineIndex {
	sc := &lineScanner{
		s:      src,
		line:   1,
		idx:    &lineIndex{lines: map[string]int{}, explicit: map[string]bool{}},
		arrays: map[string]int{},
	}
	var table toml.Key
	for {
		sc.skipBlank()
		if sc.i >= len(sc.s) {
			return sc.idx
		}
		start := sc.i
		if sc.s[sc.i] == '[' {
			table = sc.header()
		} else {
			sc.keyValue(table)
		}
		sc.skipLine()
		if sc.i == start {
			sc.i++
		}
	}
}

func (sc *lineScanner) peek(prefix string) bool { return strings.HasPrefix(sc.s[sc.i:], prefix) }

func (sc *lineScanner) advance() {
	if sc.s[sc.i] == '\n' {
		sc.line++
	}
	sc.i++
}

func (sc *lineScanner) skipSpace() {
	for sc.i < len(sc.s) && (sc.s[sc.i] == ' ' || sc.s[sc.i] == '\t') {
		sc.i++
	}
}

// skipBlank skips whitespace, newlines and comments.
func (sc *lineScanner) skipBlank() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\r', '\n':
			sc.advance()
		case '#':
			sc.skipLine()
		default:
			return
		}
	}
}

// skipLine moves past the end of the current line.
func (sc *lineScanner) skipLine() {
	for sc.i < len(sc.s) && sc.s[sc.i] != '\n' {
		sc.i++
	}
	if sc.i < len(sc.s) {
		sc.advance()
	}
}

func (sc *lineScanner) header() toml.Key {
	line, array := sc.line, sc.peek("[[")
	sc.i++
	if array {
		sc.i++
	}
	comps := sc.key()
	var path toml.Key
	for n, c := range comps {
		path = append(path, c)
		p := path.String()
		if array && n == len(comps)-1 {
			idx, seen := sc.arrays[p]
			if seen {
				idx++
			}
			sc.arrays[p] = idx
			path = append(path, strconv.Itoa(idx))
		} else if idx, ok := sc.arrays[p]; ok {
			path = append(path, strconv.Itoa(idx))
		}
	}
	if len(path) > 0 {
		sc.idx.set(path, line)
	}
	return path
}

func (sc *lineScanner) keyValue(table toml.Key) {
	line := sc.line
	comps := sc.key()
	if len(comps) == 0 {
		return
	}
	full := append(append(toml.Key{}, table...), comps...)
	sc.idx.set(full, line)
	sc.skipSpace()
	if sc.i < len(sc.s) && sc.s[sc.i] == '=' {
		sc.i++
		sc.value(full)
	}
}

// key reads a dotted key of bare and quoted parts.
func (sc *lineScanner) key() []string {
	var comps []string
	for {
		sc.skipSpace()
		if sc.i >= len(sc.s) {
			return comps
		}
		switch sc.s[sc.i] {
		case '"':
			raw := sc.basicString()
			s, err := strconv.Unquote(raw)
			if err != nil {
				s = strings.Trim(raw, `"`)
			}
			comps = append(comps, s)
		case '\'':
			comps = append(comps, strings.Trim(sc.literalString(), "'"))
		default:
			start := sc.i
			for sc.i < len(sc.s) && isBare(sc.s[sc.i]) {
				sc.i++
			}
			if sc.i == start {
				return comps
			}
			comps = append(comps, sc.s[start:sc.i])
		}
		sc.skipSpace()
		if sc.i >= len(sc.s) || sc.s[sc.i] != '.' {
			return comps
		}
		sc.i++
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips one value, recording the keys of inline tables it contains.
func (sc *lineScanner) value(path toml.Key) {
	sc.skipSpace()
	if sc.i >= len(sc.s) {
		return
	}
	switch {
	case sc.peek(`"""`):
		sc.multiline(`"""`)
	case sc.peek(`'''`):
		sc.multiline(`'''`)
	case sc.s[sc.i] == '"':
		sc.basicString()
	case sc.s[sc.i] == '\'':
		sc.literalString()
	case sc.s[sc.i] == '[':
		sc.array(path)
	case sc.s[sc.i] == '{':
		sc.inlineTable(path)
	default:
		for sc.i < len(sc.s) && !strings.ContainsRune(",]}#\r\n", rune(sc.s[sc.i])) {
			sc.i++
		}
	}
}

func (sc *lineScanner) array(path toml.Key) {
	sc.i++
	for n := 0; sc.i < len(sc.s); n++ {
		sc.skipBlank()
		if sc.i >= len(sc.s) || sc.s[sc.i] == ']' {
			break
		}
		start := sc.i
		sc.value(append(append(toml.Key{}, path...), strconv.Itoa(n)))
		sc.skipBlank()
		if sc.i < len(sc.s) && sc.s[sc.i] == ',' {
			sc.i++
		} else if sc.i == start {
			sc.i++ // not a value: make progress anyway
		}
	}
	if sc.i < len(sc.s) {
		sc.i++
	}
}

func (sc *lineScanner) inlineTable(path toml.Key) {
	sc.i++
	for sc.i < len(sc.s) {
		sc.skipBlank()
		if sc.i >= len(sc.s) || sc.s[sc.i] == '}' {
			break
		}
		start := sc.i
		sc.keyValue(path)
		sc.skipBlank()
		if sc.i < len(sc.s) && sc.s[sc.i] == ',' {
			sc.i++
		} else if sc.i == start {
			sc.i++
		}
	}
	if sc.i < len(sc.s) {
		sc.i++
	}
}

// basicString skips a one-line "..." string and returns it, quotes included.
func (sc *lineScanner) basicString() string {
	start := sc.i
	sc.i++
	for sc.i < len(sc.s) && sc.s[sc.i] != '"' && sc.s[sc.i] != '\n' {
		if sc.s[sc.i] == '\\' {
			sc.i++
		}
		sc.i++
	}
	if sc.i < len(sc.s) && sc.s[sc.i] == '"' {
		sc.i++
	}
	return sc.s[start:min(sc.i, len(sc.s))]
}

// literalString skips a one-line '...' string and returns it, quotes included.
func (sc *lineScanner) literalString() string {
	start := sc.i
	sc.i++
	for sc.i < len(sc.s) && sc.s[sc.i] != '\'' && sc.s[sc.i] != '\n' {
		sc.i++
	}
	if sc.i < len(sc.s) && sc.s[sc.i] == '\'' {
		sc.i++
	}
	return sc.s[start:sc.i]
}

// multiline skips a triple-quoted string, counting the lines it spans.
func (sc *lineScanner) multiline(delim string) {
	sc.i += len(delim)
	for sc.i < len(sc.s) {
		if delim == `"""` && sc.s[sc.i] == '\\' {
			sc.i++
			if sc.i >= len(sc.s) {
				return
			}
			sc.advance()
			continue
		}
		if sc.peek(delim) {
			sc.i += len(delim)
			// Up to two quotes may touch the closing delimiter: """a""""" ends with a"".
			for extra := 0; extra < 2 && sc.i < len(sc.s) && sc.s[sc.i] == delim[0]; extra++ {
				sc.i++
			}
			return
		}
		sc.advance()
	}
}
