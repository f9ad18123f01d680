package tasks

import "fmt"

// State is where a task instance is in its life (SPEC 3.1).
type State int

// States of a task instance.
const (
	Pending   State = iota // waiting for its parents (or for its subtree to finish stopping)
	Starting               // spawned (or waiting on wait_for), not yet ready
	Ready                  // running and ready
	Stopping               // stop signal sent, process or process group still alive
	Stopped                // stopped by request, or autostart = false
	Backoff                // waiting restart_delay before the next spawn
	Completed              // a oneshot that exited with an expected code
	Exited                 // a service that ended and that its restart policy does not run again
	Fatal                  // gave up after start_retries failed starts
	Paused                 // process group stopped by load
)

var stateNames = [...]string{"pending", "starting", "ready", "stopping", "stopped", "backoff", "completed", "exited", "fatal", "paused"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// MarshalText makes states readable in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state as MarshalText writes it (the API's clients).
func (s *State) UnmarshalText(text []byte) error {
	for n, name := range stateNames {
		if name == string(text) {
			*s = State(n)
			return nil
		}
	}
	return fmt.Errorf("unknown state %q", text)
}

// terminal states end an instance's run until someone starts it again.
func (s State) terminal() bool { return s == Completed || s == Exited || s == Fatal }

// readyLike tells whether the instance satisfies children waiting on it. One
// paused by load keeps its place in the tree (its children are not torn down),
// but a oneshot paused while it runs has not completed.
func (i *instance) readyLike() bool {
	switch i.state {
	case Ready, Completed:
		return true
	case Paused:
		return i.run != nil && i.run.pausedFrom == Ready
	}
	return false
}
