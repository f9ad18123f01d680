package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShellReadsCommandsFromAPipe(t *testing.T) {
	t.Parallel()
	s := startServer(t, treeTasks)
	s.waitState(t, "web", allReady(2))
	cmd := procmon("-s", s.sock, "shell")
	cmd.Stdin = strings.NewReader("status db\n\nstop nosuch\nbogus\n# a comment\nstop web\nhelp\nready\nexit\nstatus\n")
	out, stderr, code := runCmd(t, cmd)
	assert.Equal(t, 1, code, "the code of the last command before exit: not ready once web is stopped")
	assert.Regexp(t, `(?m)^db +ready +\d+ `, out)
	assert.Contains(t, stderr, "stop: unknown task \"nosuch\"\n")
	assert.Contains(t, stderr, "unknown command \"bogus\": help lists the commands\n")
	assert.Contains(t, out, "  scale NAME N ")
	assert.Contains(t, out, "not ready: web\n")
	s.waitState(t, "web", allInState("stopped"))
}

// terminal is the far end of a pseudo-terminal, answering like a user at a keyboard.
type terminal struct {
	t      *testing.T
	master *os.File
	screen *output
}

func (term *terminal) typeKeys(keys string) {
	_, err := term.master.Write([]byte(keys))
	require.NoError(term.t, err)
}

// waitCount waits until text has appeared n times on the screen.
func (term *terminal) waitCount(text string, n int) {
	term.t.Helper()
	require.Eventually(term.t, func() bool { return strings.Count(term.screen.String(), text) >= n },
		10*time.Second, 5*time.Millisecond, "waiting for %d × %q; screen:\n%s", n, text, term.screen)
}

func TestShellOnATerminalHasHistoryAndCompletion(t *testing.T) {
	t.Parallel()
	s := startServer(t, treeTasks)
	s.waitState(t, "web", allReady(2))
	state := t.TempDir()
	cmd := procmon("-s", s.sock, "shell")
	cmd.Env = append(cmd.Env, "TERM=xterm", "XDG_STATE_HOME="+state)
	master, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	require.NoError(t, err)
	t.Cleanup(func() {
		master.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	term := &terminal{t: t, master: master, screen: &output{}}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	term.waitCount("procmon> ", 1)
	term.typeKeys("status db\r")
	term.waitCount("LAST EXIT", 1)
	term.waitCount("procmon> ", 2)
	term.typeKeys("\x1b[A") // up arrow: the previous command comes back
	term.waitCount("status db", 2)
	term.typeKeys("\r")
	term.waitCount("LAST EXIT", 2)

	term.typeKeys("stop we\t") // one task starts with "we": completed to "web "
	term.waitCount("stop web ", 1)
	term.typeKeys("\r")
	s.waitState(t, "web", allInState("stopped"))

	term.typeKeys("exit\r")
	require.Equal(t, 0, waitExit(t, cmd, term.screen, 10*time.Second))
	history, err := os.ReadFile(filepath.Join(state, "procmon", "shell_history"))
	require.NoError(t, err)
	assert.Equal(t, "status db\nstop web\nexit\n", string(history), "a repeated command is kept once")
}
