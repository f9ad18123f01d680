package tasks

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// helperEnv makes the test binary act as a task (the os/exec_test trick): a
// service that listens on a port, or one that reports readiness over sd_notify.
const helperEnv = "TASKS_TEST_HELPER"

func helper(mode string, args []string) int {
	switch mode {
	case "listen": // listen ADDR: open the port at once, accept forever
		l, err := net.Listen("tcp", args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for {
			c, err := l.Accept()
			if err != nil {
				return 1
			}
			c.Close()
		}
	case "notify": // tell $NOTIFY_SOCKET we are ready, then idle
		conn, err := net.Dial("unixgram", os.Getenv("NOTIFY_SOCKET"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		_, _ = conn.Write([]byte("READY=1\n"))
		time.Sleep(time.Hour)
	}
	return 2
}

// helperTask is the TOML of a task running the helper.
func helperTask(name, mode string, extra ...string) string {
	var quoted []string
	for _, arg := range append([]string{testBinary()}, extra...) {
		quoted = append(quoted, strconv.Quote(arg))
	}
	return fmt.Sprintf("[tasks.%s]\ncommand = [%s]\nenv = { %s = %q }\n",
		name, strings.Join(quoted, ", "), helperEnv, mode)
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func testBinary() string {
	p, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return p
}
