package tasks

import "slices"

// reconcile moves every instance one step towards what it should be doing now.
// It runs after each event, so the rules below are the whole tree policy:
//   - an instance runs while it is enabled, not ended, and all its parents are ready;
//   - a running instance that should not run gets its stop signal only once no
//     instance below it is active any more (deepest first, branches in parallel);
//   - an instance spawns only once nothing below it is active, so a restarted
//     parent never overlaps the old processes of its subtree; a replica that a
//     scale adds to a ready task is no restart, and spawns at once.
//
// The spawns a pass decides are launched together at its end, then the pass runs
// again: a task that is ready as soon as it runs lets its children start.
func (s *Supervisor) reconcile() {
	for {
		s.pass++
		for _, t := range s.order {
			t.settleJoining()
			parentsReady := s.parentsReady(t)
			busyBelow := t.busyBelow(s.pass)
			for _, i := range t.instances {
				s.reconcileInstance(i, parentsReady, busyBelow)
			}
		}
		if len(s.spawns) == 0 {
			return
		}
		batch := s.spawns
		s.spawns = nil
		s.launch(batch)
	}
}

func (s *Supervisor) reconcileInstance(i *instance, parentsReady, busyBelow bool) {
	want := !s.holding() && i.enabled && !i.recycle && parentsReady
	if r := i.run; r != nil {
		if r.exit != nil {
			return // draining: the group is being stopped already
		}
		if !want && !r.stopRequested() {
			s.requestStop(r, causeTree)
		}
		// A replica scaled away from a task that stays ready has nothing below
		// to wait for.
		if r.stopRequested() && !r.signaled && (!busyBelow || i.removed && i.task.ready()) {
			s.signalStop(r)
		}
		return
	}
	if !want {
		s.settleIdle(i, parentsReady)
		return
	}
	switch i.state {
	case Stopped:
		s.setState(i, Pending)
		fallthrough
	case Pending:
		if !busyBelow || i.joining { // a replica joining a ready task overlaps nothing
			s.beginStart(i)
		}
	}
}

// settleIdle puts an instance without a process into the state that says why it
// is not running.
func (s *Supervisor) settleIdle(i *instance, parentsReady bool) {
	switch i.state {
	case Backoff, Pending, Starting:
		s.cancelBackoff(i)
		s.cancelPreSpawn(i)
		if !i.enabled || s.holding() {
			s.setState(i, Stopped)
		} else {
			s.setState(i, Pending)
		}
	case Completed:
		// A oneshot below a parent that left ready runs again when it returns:
		// its work (a migration, say) usually depends on that parent.
		if !parentsReady && s.shutdown == nil {
			s.setState(i, Pending)
		}
	case Stopped:
		if i.enabled && !s.holding() && !i.recycle {
			s.setState(i, Pending)
		}
	}
}

func (s *Supervisor) parentsReady(t *task) bool {
	for _, p := range t.parents {
		if !p.ready() {
			return false
		}
	}
	return true
}

// ready tells the tasks below that they may run: every instance is ready (or
// completed). Replicas a scale removes or adds do not count, so changing the
// number of a ready task's instances neither stops nor holds the tasks below; a
// task scaled to zero is not ready.
func (t *task) ready() bool {
	return t.readyCounting(func(i *instance) bool { return !i.removed && !i.joining })
}

// settleJoining ends the joining of replicas once their task is not ready any
// more (stopped, restarted, redefined, an instance failed): from then on they
// start, and count, with the rest of the task, as its first instances do.
// It runs for every task at every pass, so it looks at readiness only when a
// replica is joining, which is rare.
func (t *task) settleJoining() {
	if !slices.ContainsFunc(t.instances, isJoining) || t.ready() {
		return
	}
	for _, i := range t.instances {
		i.joining = false
	}
}

func isJoining(i *instance) bool { return i.joining }

// allReady is ready with the added replicas counted: what /readyz reports, so a
// replica that cannot start shows.
func (t *task) allReady() bool {
	return t.readyCounting(func(i *instance) bool { return !i.removed })
}

func (t *task) readyCounting(counts func(*instance) bool) bool {
	n := 0
	for _, i := range t.instances {
		if !counts(i) {
			continue
		}
		if !i.readyLike() {
			return false
		}
		n++
	}
	return n > 0
}

func (t *task) active() bool {
	for _, i := range t.instances {
		if i.run != nil {
			return true
		}
	}
	return false
}

// busyBelow tells whether a task below t, at any depth, has a process: a child
// that ended by itself may still hide a grandchild that is stopping. It is worked
// out once per reconcile pass (no process starts or goes within one), so that a
// pass costs one look at each task, however deep the tree.
func (t *task) busyBelow(pass int) bool {
	if t.below.pass == pass {
		return t.below.busy
	}
	t.below.pass, t.below.busy = pass, false
	for _, c := range t.children {
		if c.active() || c.busyBelow(pass) {
			t.below.busy = true
			break
		}
	}
	return t.below.busy
}
