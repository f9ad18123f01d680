package tasks

import (
	"fmt"
	"time"
)

// InstanceStatus is the view of one task instance that the control API shows (SPEC 4).
type InstanceStatus struct {
	Name      string     `json:"name"`
	Instance  int        `json:"instance"`
	Label     string     `json:"label"` // as the prefix of the instance's output names it
	State     State      `json:"state"`
	Pid       int        `json:"pid,omitempty"`
	Ready     bool       `json:"ready"`
	Restarts  int        `json:"restarts"`
	ExitCode  *int       `json:"exit_code,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Parents   []string   `json:"parents"`
}

// Status returns every instance in start order. It is answered by the supervisor
// goroutine, so it sees a consistent tree; nil once the supervisor has stopped.
func (s *Supervisor) Status() []InstanceStatus {
	var out []InstanceStatus
	s.Do(func() {
		for _, t := range s.order {
			for _, i := range t.instances {
				out = append(out, i.status())
			}
		}
	})
	return out
}

// TaskStatus is Status for one task: none for a task scaled to zero, an
// ErrUnknownTask error for a name the configuration does not have.
func (s *Supervisor) TaskStatus(name string) ([]InstanceStatus, error) {
	var out []InstanceStatus
	err := fmt.Errorf("%w %q", ErrUnknownTask, name)
	if !s.Do(func() {
		if t, ok := s.tasks[name]; ok {
			err = nil
			for _, i := range t.instances {
				out = append(out, i.status())
			}
		}
	}) {
		return nil, ErrStopped
	}
	return out, err
}

func (i *instance) status() InstanceStatus {
	st := InstanceStatus{
		Name:     i.task.cfg.Name,
		Instance: i.index,
		Label:    i.label,
		State:    i.state,
		Ready:    i.state.readyLike(),
		Restarts: i.restarts,
		Parents:  append([]string{}, i.task.cfg.Parents...),
	}
	if r := i.live(); r != nil {
		st.Pid = r.pid
		started := r.started
		st.StartedAt = &started
	}
	if i.lastExit != nil {
		code := i.lastExit.Code()
		st.ExitCode = &code
	}
	return st
}
