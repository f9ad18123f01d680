package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"unicode"

	"github.com/BurntSushi/toml"
)

// signal reads a signal name ("TERM", "SIGTERM"), a TOML integer or a numeric string.
func (l *loader) signal(key toml.Key, r value, dst *syscall.Signal) {
	if !r.set {
		return
	}
	var (
		sig syscall.Signal
		err error
	)
	if n, isInt := r.v.(int64); isInt {
		sig, err = signalNumber(n)
	} else {
		var s string
		if !l.str(key, r, &s) {
			return
		}
		sig, err = ParseSignal(s)
	}
	if err != nil {
		l.errorf(key, "%v", err)
		return
	}
	*dst = sig
}

// sizeUnits maps size suffixes to bytes: SI for KB/MB/GB, binary for KiB/MiB/GiB.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1},
}

// size reads a byte count: a TOML integer, "100", "512KB", "10MiB".
func (l *loader) size(key toml.Key, r value, dst *int64) {
	if !r.set {
		return
	}
	if n, isInt := r.v.(int64); isInt {
		if n < 0 {
			l.errorf(key, "size must not be negative")
			return
		}
		*dst = n
		return
	}
	var s string
	if !l.str(key, r, &s) {
		return
	}
	n, err := parseSize(s)
	if err != nil {
		l.errorf(key, "%v", err)
		return
	}
	*dst = n
}

func parseSize(s string) (int64, error) {
	num, mult := strings.ToUpper(strings.TrimSpace(s)), int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q (use bytes or a unit: \"512KB\", \"10MB\", \"1GiB\")", s)
	}
	return n * mult, nil
}

// umask reads an octal string such as "022". A TOML integer is refused rather
// than taken as it is: an unquoted 22 is decimal, which as a umask is 0o026 and
// silently masks what the user meant to leave readable.
func (l *loader) umask(key toml.Key, r value, dst *int) {
	if !r.set {
		return
	}
	if _, isInt := r.v.(int64); isInt {
		l.errorf(key, "umask must be a string of octal digits such as \"022\", not an integer")
		return
	}
	var s string
	if !l.str(key, r, &s) {
		return
	}
	n, err := strconv.ParseInt(s, 8, 64)
	if err != nil {
		l.errorf(key, "invalid umask %q: must be an octal string such as \"022\"", s)
		return
	}
	if n < 0 || n > 0o777 {
		l.errorf(key, "umask %#o is out of range 0-0777", n)
		return
	}
	*dst = int(n)
}

// exitCodes reads exit_codes: integers 0-255, one or a list.
func (l *loader) exitCodes(key toml.Key, r value, dst *[]int) {
	if !r.set {
		return
	}
	var codes []int
	for _, e := range elems(r.v) {
		n, ok := e.(int64)
		if !ok || n < 0 || n > 255 {
			l.errorf(key, "exit codes must be integers 0-255, not %s", describe(e))
			return
		}
		codes = append(codes, int(n))
	}
	*dst = codes
}

// statusRanges reads expect_status: codes (200, "200") or ranges ("200-299").
func (l *loader) statusRanges(key toml.Key, r value, dst *[]StatusRange) {
	if !r.set {
		return
	}
	var out []StatusRange
	for _, e := range elems(r.v) {
		var (
			sr  StatusRange
			err error
		)
		if n, isInt := e.(int64); isInt {
			sr, err = statusRange(strconv.FormatInt(n, 10))
		} else if s, ok := l.expandStr(key, e); ok {
			sr, err = statusRange(s)
		} else {
			return
		}
		if err != nil {
			l.errorf(key, "%v", err)
			return
		}
		out = append(out, sr)
	}
	if len(out) == 0 {
		l.errorf(key, "must list at least one status code or range")
		return
	}
	*dst = out
}

func statusRange(s string) (StatusRange, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	if !isRange {
		hi = lo
	}
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	if errA != nil || errB != nil || a < 100 || b > 599 || a > b {
		return StatusRange{}, fmt.Errorf("invalid status %q: use a code 100-599 or a range such as \"200-299\"", s)
	}
	return StatusRange{Lo: a, Hi: b}, nil
}

// output reads stdout/stderr: "inherit", "discard", a file path, or, for stderr
// only, "stdout".
func (l *loader) output(key toml.Key, r value, allowStdout bool, dst *string) {
	var s string
	if !l.str(key, r, &s) {
		return
	}
	switch {
	case s == "":
		l.errorf(key, "must be \"inherit\", \"discard\" or a file path, not empty")
	case s == OutputStdout && !allowStdout:
		l.errorf(key, "\"stdout\" is only valid for stderr")
	default:
		*dst = s
	}
}

// httpURL reads an absolute http or https URL.
func (l *loader) httpURL(key toml.Key, r value, dst *string) {
	var s string
	if !l.str(key, r, &s) {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.errorf(key, "invalid URL %q: must be an absolute http:// or https:// URL", s)
		return
	}
	if problem := portProblem(u.Port()); u.Port() != "" && problem != "" {
		l.errorf(key, "invalid URL %q: %s", s, problem)
		return
	}
	*dst = s
}

// portProblem says what is wrong with a port, if anything: it must be a number
// from 1 to 65535, or a service name ("http") as net.Dial takes it: letters,
// digits and dashes, with a letter.
func portProblem(p string) string {
	if strings.Trim(p, "0123456789") == "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("port %s is not between 1 and 65535", p)
		}
		return ""
	}
	service := strings.ContainsFunc(p, unicode.IsLetter) && !strings.ContainsFunc(p, func(r rune) bool {
		return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-')
	})
	if !service {
		return fmt.Sprintf("port %q is neither a number nor a service name", p)
	}
	return ""
}

// hostPorts reads one "host:port" address or a list of them.
func (l *loader) hostPorts(key toml.Key, r value, dst *[]string) bool {
	var addrs []string
	if !l.strList(key, r, &addrs) {
		return false
	}
	for _, a := range addrs {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			l.errorf(key, "invalid address %q: must be host:port", a)
			return false
		} else if problem := portProblem(port); problem != "" {
			l.errorf(key, "invalid address %q: %s", a, problem)
			return false
		}
	}
	*dst = addrs
	return true
}

// describe shows a raw value in a message: its text for scalars, its type otherwise.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case int64, float64, bool:
		return fmt.Sprint(x)
	}
	return tomlType(v)
}
