package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/peterh/liner"
)

// completer completes command names, then task names where a command takes them.
type completer struct {
	names func() []string
}

// complete is a liner.WordCompleter: it completes the word that ends at pos
// (counted in runes) and leaves the rest of the line alone.
func (c *completer) complete(line string, pos int) (head string, completions []string, tail string) {
	runes := []rune(line)
	before := string(runes[:pos])
	start := strings.LastIndex(before, " ") + 1
	head, partial := before[:start], before[start:]
	for _, cand := range c.candidates(strings.Fields(head)) {
		if strings.HasPrefix(cand, partial) {
			completions = append(completions, cand+" ")
		}
	}
	return head, completions, string(runes[pos:])
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

// historyFile keeps the shell's history across sessions, best effort: without a
// writable home it lasts the session.
type historyFile string

// openHistory loads the history from under $XDG_STATE_HOME (or ~/.local/state),
// where the XDG base directory spec puts it.
func openHistory(term *liner.State) historyFile {
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
	path := filepath.Join(dir, "shell_history")
	if f, err := os.Open(path); err == nil {
		_, _ = term.ReadHistory(f)
		f.Close()
	}
	return historyFile(path)
}

// save writes the whole history after each command, so that a killed shell loses nothing.
func (h historyFile) save(term *liner.State) {
	if h == "" {
		return
	}
	f, err := os.OpenFile(string(h), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	_, _ = term.WriteHistory(f)
	f.Close()
}
