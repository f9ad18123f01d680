package api

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// socketFile is the bound control socket and the file that names it.
type socketFile struct {
	path     string
	listener *net.UnixListener
	info     fs.FileInfo // to remove the file on close only if it is still ours
}

// maxSocketPath is the longest path a unix socket can have: sun_path holds it
// and its terminating NUL.
const maxSocketPath = len(syscall.RawSockaddrUnix{}.Path) - 1

// listenBacklog asks for the longest queue of pending connections; the kernel
// caps it at net.core.somaxconn, as it does for net.Listen.
const listenBacklog = 1<<16 - 1

// listenSocket binds path so that no other user can ever connect to it: it binds a
// temporary name beside path, sets mode 0600 there, and only then listens (before
// listen(2) every connection is refused), then renames the socket into place,
// which also replaces a stale socket atomically. The temporary name is exactly as
// long as path, so every path that fits in sun_path can be used. A socket that a
// live server still answers on is left alone: two procmons must not share one.
func listenSocket(path string) (*socketFile, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("socket %s: the path is %d bytes long, but a unix socket path can have at most %d",
			path, len(path), maxSocketPath)
	}
	if err := checkStale(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	f, err := bindPrivate(path)
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return f, nil
}

func bindPrivate(path string) (*socketFile, error) {
	l, tmp, err := listenTemp(path)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, err
	}
	info, err := os.Lstat(path)
	if err != nil {
		l.Close()
		return nil, err
	}
	return &socketFile{path: path, listener: l, info: info}, nil
}

// listenTemp binds a temporary name beside path and listens on it once it is
// private. net.ListenUnix cannot set the mode between bind(2) and listen(2),
// hence the system calls.
func listenTemp(path string) (*net.UnixListener, string, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, "", os.NewSyscallError("socket", err)
	}
	sock := os.NewFile(uintptr(fd), path)
	defer sock.Close() // net.FileListener works on its own copy
	tmp, err := bindTemp(fd, path)
	if err != nil {
		return nil, "", err
	}
	err = listenPrivate(fd, tmp)
	var l net.Listener
	if err == nil {
		l, err = net.FileListener(sock)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, "", err
	}
	return l.(*net.UnixListener), tmp, nil
}

// listenPrivate makes the bound socket 0600 before anyone can connect to it.
func listenPrivate(fd int, tmp string) error {
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.NewSyscallError("listen", syscall.Listen(fd, listenBacklog))
}

// bindTemp binds fd to a random name beside path, of the same length. bind(2)
// fails on a name that exists, so the name it gets is ours alone.
func bindTemp(fd int, path string) (string, error) {
	for range 100 {
		tmp := tempName(path)
		err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: tmp})
		if !errors.Is(err, syscall.EADDRINUSE) {
			return tmp, os.NewSyscallError("bind", err)
		}
	}
	return "", errors.New("no free temporary name beside it")
}

// tempName is path with its last element replaced by random letters and digits,
// behind a dot to keep it out of listings when the element is long enough.
func tempName(path string) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	dir := strings.LastIndexByte(path, '/') + 1
	name := make([]byte, len(path)-dir)
	for i := range name {
		name[i] = chars[rand.IntN(len(chars))]
	}
	if len(name) > 1 {
		name[0] = '.'
	}
	return path[:dir] + string(name)
}

// checkStale refuses a path held by a live server or by something that is not a
// socket; a socket nobody answers on is left over from a dead procmon.
func checkStale(path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	if info.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("socket %s: the file exists and is not a socket; remove it or choose another path", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("socket %s: another procmon is running and serving it; stop it first or set another socket", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	return nil
}

func (f *socketFile) close() {
	if f == nil {
		return
	}
	f.listener.Close()
	// A procmon started after us may have replaced the file; leave its socket alone.
	if now, err := os.Lstat(f.path); err == nil && os.SameFile(now, f.info) {
		os.Remove(f.path)
	}
}
