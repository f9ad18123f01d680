// Package output carries the output of task processes from their pipes to
// procmon's own streams (line by line, prefixed), to files and loggers (byte for
// byte) and to the in-memory rings of `procmon logs`, with a single goroutine
// for all the pipes.
package output

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Sink receives the output of one stream a line at a time, without the newline,
// from the hub's goroutine only. complete says whether a newline ended text: it
// does not for a piece of a line longer than maxLine, nor for the unfinished last
// line of a pipe, so a sink that keeps the bytes as written (a file) adds none.
type Sink interface {
	WriteLine(text []byte, complete bool)
}

// maxLine bounds a line: a longer one is delivered in pieces.
const maxLine = 8 << 10

// Hub reads every task pipe in a single goroutine blocked in epoll_wait: an idle
// task costs no goroutine, no buffer and no wake-up, only its file descriptor.
type Hub struct {
	epfd  int
	wake  int // eventfd that ends the loop
	mu    sync.Mutex
	pipes map[int32]*pipe
	idle  *sync.Cond // signalled when a pipe reaches EOF
	done  chan struct{}
}

type pipe struct {
	fd      int
	sink    Sink
	ended   func() // may be nil
	partial []byte // an unfinished line, usually nil
}

// NewHub starts the reading goroutine.
func NewHub() (*Hub, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	h := &Hub{epfd: epfd, wake: wake, pipes: map[int32]*pipe{}, done: make(chan struct{})}
	h.idle = sync.NewCond(&h.mu)
	if err := h.watch(wake); err != nil {
		h.closeFds()
		return nil, err
	}
	go h.loop()
	return h, nil
}

func (h *Hub) watch(fd int) error {
	return unix.EpollCtl(h.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
}

// Pipe returns the write end of a new pipe whose lines go to sink. The caller
// gives it to a child and closes it once the child has started: the pipe ends,
// and its last unfinished line is delivered, when every process holding it is
// gone. Then ended, if not nil, is called, on the hub's goroutine: it must not block.
func (h *Hub) Pipe(sink Sink, ended func()) (*os.File, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	r, w := fds[0], fds[1]
	if err := unix.SetNonblock(r, true); err != nil {
		unix.Close(r)
		unix.Close(w)
		return nil, err
	}
	h.mu.Lock()
	h.pipes[int32(r)] = &pipe{fd: r, sink: sink, ended: ended}
	h.mu.Unlock()
	if err := h.watch(r); err != nil {
		h.mu.Lock()
		delete(h.pipes, int32(r))
		h.mu.Unlock()
		unix.Close(r)
		unix.Close(w)
		return nil, err
	}
	return os.NewFile(uintptr(w), "task-output"), nil
}

func (h *Hub) loop() {
	defer close(h.done)
	events := make([]unix.EpollEvent, 64)
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.EpollWait(h.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == h.wake {
				return
			}
			h.mu.Lock()
			p := h.pipes[ev.Fd]
			h.mu.Unlock()
			if p != nil && !p.drain(buf) {
				h.finish(p)
			}
		}
	}
}

// readsPerWake bounds the reads of one pipe per wake-up: a task that writes
// without pause must not starve the others. What it leaves in the pipe wakes
// the loop again, as epoll is level-triggered.
const readsPerWake = 4

// drain reads what the pipe holds now, up to readsPerWake buffers; false once
// it has ended.
func (p *pipe) drain(buf []byte) bool {
	for reads := 0; reads < readsPerWake; {
		n, err := unix.Read(p.fd, buf)
		switch {
		case n > 0:
			p.split(buf[:n])
			reads++
		case errors.Is(err, unix.EAGAIN):
			return true
		case !errors.Is(err, unix.EINTR):
			return false // EOF, or an error that will not go away
		}
	}
	return true
}

// split delivers the complete lines in data and keeps the rest for later; a line
// that reaches maxLine is delivered in pieces.
func (p *pipe) split(data []byte) {
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		line := data
		if nl >= 0 {
			line = data[:nl]
		}
		if room := maxLine - len(p.partial); len(line) > room {
			p.deliver(line[:room], false)
			data = data[room:]
			continue
		}
		if nl < 0 {
			p.partial = append(p.partial, line...)
			return
		}
		p.deliver(line, true)
		data = data[nl+1:]
	}
}

// deliver hands the unfinished line plus tail to the sink.
func (p *pipe) deliver(tail []byte, complete bool) {
	if len(p.partial) == 0 {
		p.sink.WriteLine(tail, complete)
		return
	}
	p.sink.WriteLine(append(p.partial, tail...), complete)
	p.partial = p.partial[:0]
}

func (h *Hub) finish(p *pipe) {
	_ = unix.EpollCtl(h.epfd, unix.EPOLL_CTL_DEL, p.fd, nil)
	h.mu.Lock()
	// Forgotten before it is closed: a Pipe made right after the close may get
	// the same number, and its entry must not be the one deleted.
	delete(h.pipes, int32(p.fd))
	h.mu.Unlock()
	p.end()
	h.mu.Lock()
	h.idle.Broadcast()
	h.mu.Unlock()
}

// end delivers the unfinished last line, closes the pipe and says it ended.
func (p *pipe) end() {
	if len(p.partial) > 0 {
		p.sink.WriteLine(p.partial, false)
	}
	unix.Close(p.fd)
	if p.ended != nil {
		p.ended()
	}
}

// Close waits up to timeout for every pipe to end, so the last lines of the last
// processes are written, then stops the hub and ends the pipes still open.
func (h *Hub) Close(timeout time.Duration) {
	timer := time.AfterFunc(timeout, func() {
		h.mu.Lock()
		h.idle.Broadcast()
		h.mu.Unlock()
	})
	deadline := time.Now().Add(timeout)
	h.mu.Lock()
	for len(h.pipes) > 0 && time.Now().Before(deadline) {
		h.idle.Wait()
	}
	h.mu.Unlock()
	timer.Stop()
	_, _ = unix.Write(h.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	<-h.done
	h.mu.Lock()
	left := h.pipes
	h.pipes = nil
	h.mu.Unlock()
	for _, p := range left {
		p.end()
	}
	h.closeFds()
}

func (h *Hub) closeFds() {
	unix.Close(h.wake)
	unix.Close(h.epfd)
}
