package tasks

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	case "notify-more": // READY=1; on SIGUSR1, what sd_notify clients send later
		return notifyMore()
	}
	return 2
}

// notifyMore reports readiness, then on SIGUSR1 sends STATUS= and waits on a
// BARRIER=1 as systemd-notify does: exit 0 when both went through.
func notifyMore() int {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	if err := sdNotify("READY=1", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-usr1
	if err := sdNotify("STATUS=still fine", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if err := sdBarrier(10 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	return 0
}

// sdNotify sends state from a fresh socket each time, as libsystemd does.
func sdNotify(state string, fds []int) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(fd, []byte(state), oob, &unix.SockaddrUnix{Name: os.Getenv("NOTIFY_SOCKET")}, 0)
}

// sdBarrier sends BARRIER=1 with a pipe's write end and waits until that end is
// closed everywhere, which happens once the receiver has read the datagram.
func sdBarrier(timeout time.Duration) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	defer unix.Close(p[0])
	err := sdNotify("BARRIER=1", []int{p[1]})
	unix.Close(p[1])
	if err != nil {
		return err
	}
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(p[0]), Events: unix.POLLIN}}, int(timeout.Milliseconds()))
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return err
		case n == 0:
			return errors.New("BARRIER=1: nobody read the datagram")
		}
		return nil
	}
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
