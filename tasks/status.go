package tasks

import (
	"encoding/json"
	"time"
)

// InstanceStatus is the view of one task instance that the control API shows (SPEC 4).
// Every field of SPEC 4 is in its JSON, null when it has no value: clients
// read them as a fixed schema.
type InstanceStatus struct {
	Name      string     `json:"name"`
	Instance  int        `json:"instance"`
	Label     string     `json:"label"` // as the prefix of the instance's output names it
	State     State      `json:"state"`
	Pid       int        `json:"pid"` // 0: no process; null in JSON
	Ready     bool       `json:"ready"`
	Restarts  int        `json:"restarts"`
	ExitCode  *int       `json:"exit_code"`
	StartedAt *time.Time `json:"started_at"`
	Parents   []string   `json:"parents"`
}

// MarshalJSON writes a missing pid as null, since 0 is not a pid but the Go
// field stays an int for its many readers, and the keys in SPEC 4's order, for
// people reading `procmon status --json`. Decoding needs no counterpart: null
// leaves an int at 0.
func (st InstanceStatus) MarshalJSON() ([]byte, error) {
	var pid *int
	if st.Pid != 0 {
		pid = &st.Pid
	}
	return json.Marshal(struct {
		Name      string     `json:"name"`
		Instance  int        `json:"instance"`
		Label     string     `json:"label"`
		State     State      `json:"state"`
		Pid       *int       `json:"pid"`
		Ready     bool       `json:"ready"`
		Restarts  int        `json:"restarts"`
		ExitCode  *int       `json:"exit_code"`
		StartedAt *time.Time `json:"started_at"`
		Parents   []string   `json:"parents"`
	}{st.Name, st.Instance, st.Label, st.State, pid, st.Ready, st.Restarts, st.ExitCode, st.StartedAt, st.Parents})
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

// TaskNames lists every task in start order, those scaled to zero included,
// which Status cannot show. Like Status it is answered by the supervisor
// goroutine; nil once the supervisor has stopped.
func (s *Supervisor) TaskNames() []string {
	var names []string
	s.Do(func() {
		for _, t := range s.order {
			names = append(names, t.cfg.Name)
		}
	})
	return names
}

// TaskStatus is Status for one task: none for a task scaled to zero, an
// ErrUnknownTask error for a name the configuration does not have.
func (s *Supervisor) TaskStatus(name string) ([]InstanceStatus, error) {
	var out []InstanceStatus
	var err error
	if !s.Do(func() {
		var t *task
		if t, err = s.lookupTask(name); err != nil {
			return
		}
		for _, i := range t.instances {
			out = append(out, i.status())
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
		Ready:    i.readyLike(),
		Restarts: i.restarts,
		Parents:  append([]string{}, i.task.cfg.Parents...),
	}
	if r := i.live(); r != nil {
		st.Pid = r.pid
		started := r.started
		st.StartedAt = &started
	} else if i.run != nil && st.State == Pending {
		// Its process is gone, what it left in its group is being stopped: the
		// next spawn waits for that, and "pending" would hide it (SPEC 3.1).
		st.State = Stopping
	}
	if i.lastExit != nil {
		code := i.lastExit.Code()
		st.ExitCode = &code
	}
	return st
}
