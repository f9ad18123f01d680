package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/peterh/liner"
	"golang.org/x/sys/unix"
)

// shell runs control commands typed at a prompt, or read one a line from a
// non-terminal stdin so that it can be scripted.
func shell(a args) int {
	if !takesNothing("shell", "procmon shell", a.rest) {
		return 2
	}
	s := newSession(a, "")
	if !isTerminal(os.Stdin) {
		return s.script(os.Stdin)
	}
	return s.interactive()
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// script runs each line and exits with the code of the last command, as sh does.
func (s *session) script(in io.Reader) int {
	sc := bufio.NewScanner(in)
	code := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c, quit := s.exec(line)
		if quit {
			break // like sh's exit: the code of the command before it
		}
		code = c
	}
	return code
}

// interactive reads commands with line editing, history and completion. The
// terminal keeps its signals between prompts, so ^C ends a running logs -f.
func (s *session) interactive() int {
	term := liner.NewLiner()
	defer term.Close()
	term.SetCtrlCAborts(true)
	term.SetTabCompletionStyle(liner.TabPrints)
	term.SetWordCompleter((&completer{names: s.taskNames}).complete)
	history := openHistory(term)
	fmt.Fprintf(s.out, "procmon shell on %s: help lists the commands, exit or ^D leaves\n", s.client.Socket())
	for {
		line, err := term.Prompt("procmon> ")
		if errors.Is(err, liner.ErrPromptAborted) {
			continue // ^C drops the line, as in sh
		}
		if err != nil {
			fmt.Fprintln(s.out)
			return 0
		}
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		term.AppendHistory(line)
		history.save(term)
		if _, quit := s.exec(line); quit {
			return 0
		}
	}
}

// exec runs one command line; ^C ends the command (logs -f), not the shell.
func (s *session) exec(line string) (code int, quit bool) {
	words := strings.Fields(line)
	switch words[0] {
	case "exit", "quit":
		return 0, true
	case "help", "?":
		fmt.Fprint(s.out, shellHelp())
		return 0, false
	}
	cmd := lookup(words[0])
	if cmd == nil {
		fmt.Fprintf(s.errOut, "unknown command %q: help lists the commands\n", words[0])
		return 2, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := cmd.run(ctx, s, words[1:])
	s.report(cmd.name, err)
	return exitCode(err), false
}

func shellHelp() string {
	return "commands:\n" + usageOf(commands, "  ") +
		fmt.Sprintf("  %-28s %s\n  %-28s %s\n", "help", "this list", "exit", "leave (or ^D)")
}
