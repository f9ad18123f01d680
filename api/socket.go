package api

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// socketFile is the bound control socket and the file that names it.
type socketFile struct {
	path     string
	listener *net.UnixListener
	info     fs.FileInfo // to remove the file on close only if it is still ours
}

// listenSocket binds path with mode 0600 from the first instant: it binds in a
// fresh private directory, sets the mode there, then renames the socket into place
// (which also replaces a stale socket atomically). A socket that a live server
// still answers on is left alone: two procmons must not share one.
func listenSocket(path string) (*socketFile, error) {
	if err := checkStale(path); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	tmp, err := os.MkdirTemp(dir, ".procmon-")
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	defer os.RemoveAll(tmp)
	f, err := bindPrivate(filepath.Join(tmp, "s"), path)
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return f, nil
}

func bindPrivate(tmpPath, path string) (*socketFile, error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmpPath, Net: "unix"})
	if err != nil {
		return nil, err
	}
	l.SetUnlinkOnClose(false) // the file moves away from the name the listener knows
	err = os.Chmod(tmpPath, 0o600)
	if err == nil {
		err = os.Rename(tmpPath, path)
	}
	var info fs.FileInfo
	if err == nil {
		info, err = os.Lstat(path)
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	return &socketFile{path: path, listener: l, info: info}, nil
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
