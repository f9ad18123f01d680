package monitors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// maxSocketPath is the room in sockaddr_un, terminating NUL included.
const maxSocketPath = 108

// notifySeq makes socket names unique within this procmon; the pid and a random
// suffix make them unique across procmons sharing the directory and across
// container restarts, where procmon is PID 1 every time.
var notifySeq atomic.Uint64

// notify is systemd's sd_notify readiness with NotifyAccess=all: it reports success
// the moment a process of the task's process group sends READY=1 on its datagram
// socket. It does not poll and reports nothing before that.
type notify struct {
	name   string
	path   string
	conn   *net.UnixConn
	log    logrus.FieldLogger
	closed sync.Once
}

// newNotify creates the socket at once, since the task's environment, built before
// the spawn, must name it.
func newNotify(name string, socketDir func() string, log logrus.FieldLogger) (node, error) {
	var dir string
	if socketDir != nil {
		dir = socketDir()
	}
	if dir == "" {
		return nil, fmt.Errorf("monitor %q: no socket directory (Deps.SocketDir is empty)", name)
	}
	path := filepath.Join(dir, fmt.Sprintf("notify-%d-%d-%08x.sock", os.Getpid(), notifySeq.Add(1), rand.Uint32()))
	if len(path) >= maxSocketPath {
		return nil, fmt.Errorf("monitor %q: socket path %s is longer than %d bytes", name, path, maxSocketPath-1)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("monitor %q: %w", name, err)
	}
	n := &notify{name: name, path: path, conn: conn, log: log}
	if err := n.setup(); err != nil {
		n.close()
		return nil, fmt.Errorf("monitor %q: %w", name, err)
	}
	return n, nil
}

func (n *notify) setup() error {
	// Tasks may run as another user: what authenticates a message is the sender's
	// credentials (SO_PASSCRED), not the socket's mode.
	if err := os.Chmod(n.path, 0o666); err != nil {
		return err
	}
	raw, err := n.conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	})
	return errors.Join(err, serr)
}

// Run implements Monitor. It reads on Run's own goroutine and a read deadline
// unblocks it when ctx ends. The socket outlives Run, until close: a task keeps
// its NOTIFY_SOCKET for life and sd_notify clients send more after READY=1
// (STATUS=, STOPPING=1, and systemd-notify's BARRIER=1, which waits for its
// datagram to be read). So after Run, what arrives is read and dropped.
func (n *notify) Run(ctx context.Context, t Target, report func(error)) {
	stop := context.AfterFunc(ctx, func() { _ = n.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	ready := false
	for {
		nb, noob, _, _, err := n.conn.ReadMsgUnix(buf, oob)
		if ctx.Err() != nil {
			go n.drain()
			return
		}
		if err != nil { // closed by an early Close, or broken: it cannot become ready
			report(fmt.Errorf("%s: %w", n.name, err))
			<-ctx.Done()
			return
		}
		if ready || !hasReady(buf[:nb]) {
			continue
		}
		pid := senderPid(oob[:noob])
		if !fromGroup(pid, t.Pgid, unix.Getpgid) {
			n.log.WithFields(logrus.Fields{"pid": pid, "pgid": t.Pgid}).
				Warn("ignoring READY=1 from a process outside the task's process group")
			continue
		}
		n.log.WithField("pid", pid).Debug("monitor got READY=1")
		ready = true
		report(nil)
	}
}

// drain reads and drops datagrams until close. Descriptors a sender attaches
// find no room in a read without control buffer, so the kernel closes them. Run's
// deadline may still be set after drain began; only a closed socket ends it.
func (n *notify) drain() {
	buf := make([]byte, 4096)
	for {
		_ = n.conn.SetReadDeadline(time.Time{})
		_, _, _, _, err := n.conn.ReadMsgUnix(buf, nil)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}

// hasReady reports whether an sd_notify message (newline-separated assignments)
// holds READY=1.
func hasReady(msg []byte) bool {
	for line := range bytes.Lines(msg) {
		if string(bytes.TrimSuffix(line, []byte("\n"))) == "READY=1" {
			return true
		}
	}
	return false
}

// senderPid is the pid the kernel attached to a datagram (SO_PASSCRED); 0 if none.
func senderPid(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for i := range msgs {
		if cred, err := unix.ParseUnixCredentials(&msgs[i]); err == nil {
			return int(cred.Pid)
		}
	}
	return 0
}

// fromGroup reports whether pid belongs to process group pgid. A sender that has
// exited can no longer be asked; it still counts when it was the group's leader,
// i.e. the task's own process.
func fromGroup(pid, pgid int, getpgid func(int) (int, error)) bool {
	if pid <= 0 || pgid <= 0 {
		return false
	}
	g, err := getpgid(pid)
	if err != nil {
		return pid == pgid
	}
	return g == pgid
}

func (n *notify) environ() []string { return []string{"NOTIFY_SOCKET=" + n.path} }

func (n *notify) close() {
	n.closed.Do(func() {
		_ = n.conn.Close()
		if err := os.Remove(n.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			n.log.WithError(err).Warn("cannot remove notify socket")
		}
	})
}
