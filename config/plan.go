package config

import "slices"

// WhatIf is Graph.WhatIf for the tasks that run, the only ones the engine stops
// and starts again when name dies: a task with autostart off, or with no
// instance, never becomes ready by itself, so neither it nor what can only run
// below it is in the plan. name ran, since it died, and so did every task above
// it, whatever their autostart.
func (c *Config) WhatIf(name string) (stop, start []string) {
	stop, start = c.Graph.WhatIf(name)
	running := c.runningWith(name)
	idle := func(n string) bool { return !running[n] }
	return slices.DeleteFunc(stop, idle), slices.DeleteFunc(start, idle)
}

// runningWith tells which tasks run while name does, in a procmon that started
// what the file starts by itself.
func (c *Config) runningWith(name string) map[string]bool {
	running := map[string]bool{}
	for queue := []string{name}; len(queue) > 0; {
		n := queue[0]
		queue = queue[1:]
		if !running[n] { // parents shared by several paths are visited once
			running[n] = true
			queue = append(queue, c.Graph.Parents(n)...)
		}
	}
	for _, n := range c.Graph.Order() { // parents first
		if !running[n] {
			t := c.Tasks[n]
			running[n] = t.Autostart && t.Instances > 0 && c.parentsIn(n, running)
		}
	}
	return running
}

func (c *Config) parentsIn(name string, set map[string]bool) bool {
	for _, p := range c.Graph.Parents(name) {
		if !set[p] {
			return false
		}
	}
	return true
}
