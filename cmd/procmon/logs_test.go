package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tick writes a line every 20 ms, naming its instance.
const tick = `
[tasks.tick]
command = ["sh", "-c", "while :; do echo tick $PROCMON_INSTANCE; sleep 0.02; done"]
`

// followedSince is what a follower printed after the first mark bytes.
func followedSince(followed *output, mark int) string { return followed.String()[mark:] }

// lastOf keeps a failure message short, as the follower prints lines all along;
// it is read when the message is printed, like output.
type lastOf struct{ o *output }

func (t lastOf) String() string {
	out := t.o.String()
	return out[max(0, len(out)-300):]
}

// The prefixes of logs -f follow the number of instances as a scale changes it.
func TestLogsFollowPrefixesFollowScale(t *testing.T) {
	t.Parallel()
	s := startServer(t, tick)
	s.waitState(t, "tick", allReady(1))
	followed := startProcmon(t, procmon("-s", s.sock, "logs", "-f", "-n", "0", "tick"))
	require.Eventually(t, func() bool { return strings.Contains(followed.String(), "\ntick 0\n") },
		10*time.Second, 5*time.Millisecond, "one instance, no prefix: …%q", lastOf{followed})

	_, stderr, code := s.ctl(t, "scale", "tick", "2")
	require.Equal(t, 0, code, stderr)
	require.Eventually(t, func() bool {
		out := followed.String()
		return strings.Contains(out, "\ntick.1 | tick 1\n") && strings.Contains(out, "\ntick | tick 0\n")
	}, 10*time.Second, 5*time.Millisecond, "two instances, both prefixed: …%q", lastOf{followed})

	_, stderr, code = s.ctl(t, "scale", "tick", "1")
	require.Equal(t, 0, code, stderr)
	s.waitState(t, "tick", allReady(1))
	mark := len(followed.String())
	require.Eventually(t, func() bool { return strings.Contains(followedSince(followed, mark), "\ntick 0\n") },
		10*time.Second, 5*time.Millisecond, "one instance again, no prefix: …%q", lastOf{followed})
}
