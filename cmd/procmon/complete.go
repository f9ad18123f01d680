package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// completer completes command names, then task names where a command takes them.
type completer struct {
	names func() []string
}

// Do implements readline.AutoCompleter: the candidates' remaining characters, and
// how many characters of the word under the cursor they share.
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	head := string(line[:pos])
	words := strings.Fields(head)
	partial := ""
	if len(words) > 0 && !strings.HasSuffix(head, " ") {
		partial, words = words[len(words)-1], words[:len(words)-1]
	}
	var out [][]rune
	for _, cand := range c.candidates(words) {
		if strings.HasPrefix(cand, partial) {
			out = append(out, []rune(cand[len(partial):]+" "))
		}
	}
	return out, len([]rune(partial))
}

func (c *completer) candidates(words []string) []string {
	if len(words) == 0 {
		names := []string{"help", "exit"}
		for _, cmd := range commands {
			names = append(names, cmd.name)
		}
		return names
	}
	cmd := lookup(words[0])
	if cmd == nil {
		return nil
	}
	args := 0
	for _, w := range words[1:] {
		if !strings.HasPrefix(w, "-") {
			args++
		}
	}
	if cmd.taskArgs >= 0 && args >= cmd.taskArgs {
		return nil
	}
	return c.names()
}

// taskNames asks the server; a server that does not answer just completes nothing.
func (s *session) taskNames() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	all, err := s.client.Status(ctx, "")
	if err != nil {
		return nil
	}
	var names []string
	for _, st := range all {
		if !slices.Contains(names, st.Name) {
			names = append(names, st.Name)
		}
	}
	return names
}

// historyFile is under $XDG_STATE_HOME (or ~/.local/state), as the XDG base
// directory spec wants; without a usable home the history lasts the session.
func historyFile() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	dir = filepath.Join(dir, "procmon")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return ""
	}
	return filepath.Join(dir, "shell_history")
}
