package api

import (
	"context"
	"syscall"

	"github.com/procmon/procmon/output"
	"github.com/procmon/procmon/tasks"
)

// Engine is what the API needs of the supervisor. Every method is answered by the
// supervisor goroutine, so a handler can only wait on the engine, never block it.
type Engine interface {
	Status() []tasks.InstanceStatus
	TaskNames() []string
	TaskStatus(name string) ([]tasks.InstanceStatus, error)
	Start(name string) error
	Stop(name string) error
	Restart(name string) error
	Await(ctx context.Context, name, action string) error
	Scale(name string, n int) error
	Signal(name string, sig syscall.Signal) error
	Logs(name string, n int) ([]output.Line, error)
	Follow(name string, n int, f *output.Follower) (backlog []output.Line, stop func(), err error)
	Done() <-chan struct{}
	Reload() error
	Maintenance() error
	Shutdown()
	NotReady() ([]string, error)
}

var _ Engine = (*tasks.Supervisor)(nil)
