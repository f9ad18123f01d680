package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Graph holds the parent/child relations among tasks. It is immutable once built,
// so the engine may read it from any goroutine.
type Graph struct {
	parents  map[string][]string // sorted, without repeats
	children map[string][]string // sorted
	order    []string
	rank     map[string]int // position in order
}

// NewGraph builds the graph from each task's parents. Every parent must itself be a
// key of parents, and the relation must be acyclic; the error lists every unknown
// parent and names every cycle, as in "web -> api -> web".
func NewGraph(parents map[string][]string) (*Graph, error) {
	g := &Graph{
		parents:  make(map[string][]string, len(parents)),
		children: make(map[string][]string, len(parents)),
		rank:     make(map[string]int, len(parents)),
	}
	var errs []error
	for _, name := range sortedKeys(parents) {
		ps := slices.Clone(parents[name])
		sort.Strings(ps)
		ps = slices.Compact(ps)
		for _, p := range ps {
			if _, ok := parents[p]; !ok {
				errs = append(errs, fmt.Errorf("task %q: unknown parent %q%s", name, p, didYouMean(p, sortedKeys(parents))))
				continue
			}
			g.parents[name] = append(g.parents[name], p)
			g.children[p] = append(g.children[p], name)
		}
	}
	for _, c := range findCycles(g.parents) {
		errs = append(errs, fmt.Errorf("cycle among parents: %s", strings.Join(c, " -> ")))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, cs := range g.children {
		sort.Strings(cs)
	}
	g.order = g.topoOrder(sortedKeys(parents))
	for i, n := range g.order {
		g.rank[n] = i
	}
	return g, nil
}

// topoOrder is Kahn's algorithm with a sorted ready set, so that the same
// configuration always starts in the same order.
func (g *Graph) topoOrder(names []string) []string {
	waiting := make(map[string]int, len(names))
	var ready []string
	for _, n := range names {
		waiting[n] = len(g.parents[n])
		if waiting[n] == 0 {
			ready = append(ready, n)
		}
	}
	order := make([]string, 0, len(names))
	for len(ready) > 0 {
		n := ready[0]
		ready = ready[1:]
		order = append(order, n)
		for _, c := range g.children[n] {
			if waiting[c]--; waiting[c] == 0 {
				i, _ := slices.BinarySearch(ready, c)
				ready = slices.Insert(ready, i, c)
			}
		}
	}
	return order
}

// Order returns every task, parents before children; ties are broken by name.
func (g *Graph) Order() []string { return slices.Clone(g.order) }

// Parents returns the parents of name, sorted.
func (g *Graph) Parents(name string) []string { return slices.Clone(g.parents[name]) }

// Children returns the tasks that name name as a parent, sorted.
func (g *Graph) Children(name string) []string { return slices.Clone(g.children[name]) }

// Descendants returns every task below name, transitively, in Order() order,
// without name itself.
func (g *Graph) Descendants(name string) []string {
	seen := map[string]bool{}
	stack := slices.Clone(g.children[name])
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !seen[n] {
			seen[n] = true
			stack = append(stack, g.children[n]...)
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return g.rank[out[i]] < g.rank[out[j]] })
	return out
}

// WhatIf plans the reaction to name dying (SPEC 3.4): stop every descendant,
// deepest first (by the longest way down from name; the engine stops a task once
// nothing below it runs, so a deeper one always goes before), then name; start
// name again, then its descendants in order.
func (g *Graph) WhatIf(name string) (stop, start []string) {
	if _, ok := g.rank[name]; !ok {
		return nil, nil
	}
	desc := g.Descendants(name)
	depth := g.depthsBelow(name, desc)
	stop = slices.Clone(desc)
	sort.SliceStable(stop, func(i, j int) bool {
		if depth[stop[i]] != depth[stop[j]] {
			return depth[stop[i]] > depth[stop[j]]
		}
		return g.rank[stop[i]] > g.rank[stop[j]]
	})
	stop = append(stop, name)
	start = append([]string{name}, desc...)
	return stop, start
}

// depthsBelow is the length of the longest path from name down to each of desc,
// its descendants in Order() order, where parents come first.
func (g *Graph) depthsBelow(name string, desc []string) map[string]int {
	depth := map[string]int{name: 0}
	for _, n := range desc {
		for _, p := range g.parents[n] {
			if d, ok := depth[p]; ok {
				depth[n] = max(depth[n], d+1)
			}
		}
	}
	return depth
}

// findCycles returns one cycle per strongly connected component of edges that
// has one, each as a path that starts and ends at the component's alphabetically
// smallest member ("a -> b -> a"), taking the shortest way round. Targets that
// are not keys of edges are ignored.
func findCycles(edges map[string][]string) [][]string {
	var cycles [][]string
	for _, comp := range components(edges) {
		start := comp[0]
		if len(comp) == 1 && !slices.Contains(edges[start], start) {
			continue
		}
		cycles = append(cycles, shortestLoop(edges, start, comp))
	}
	return cycles
}

// shortestLoop finds, breadth first within comp, the shortest path from start
// back to start; neighbours are visited in sorted order for a stable answer.
func shortestLoop(edges map[string][]string, start string, comp []string) []string {
	in := map[string]bool{}
	for _, n := range comp {
		in[n] = true
	}
	prev := map[string]string{}
	queue := []string{start}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		next := slices.Clone(edges[n])
		sort.Strings(next)
		for _, m := range next {
			if m == start {
				path := []string{start}
				for at := n; at != start; at = prev[at] {
					path = append(path, at)
				}
				path = append(path, start)
				slices.Reverse(path)
				return path
			}
			if _, seen := prev[m]; !seen && in[m] {
				prev[m] = n
				queue = append(queue, m)
			}
		}
	}
	return []string{start, start} // unreachable for a real component
}

// components returns the strongly connected components of edges (Tarjan), each
// sorted, in order of their smallest member.
func components(edges map[string][]string) [][]string {
	t := tarjan{edges: edges, index: map[string]int{}, low: map[string]int{}, on: map[string]bool{}}
	for _, n := range sortedKeys(edges) {
		if _, seen := t.index[n]; !seen {
			t.visit(n)
		}
	}
	for _, c := range t.comps {
		sort.Strings(c)
	}
	sort.Slice(t.comps, func(i, j int) bool { return t.comps[i][0] < t.comps[j][0] })
	return t.comps
}

type tarjan struct {
	edges map[string][]string
	index map[string]int
	low   map[string]int
	on    map[string]bool
	stack []string
	comps [][]string
}

func (t *tarjan) visit(n string) {
	t.index[n], t.low[n] = len(t.index), len(t.index)
	t.stack = append(t.stack, n)
	t.on[n] = true
	for _, m := range t.edges[n] {
		if _, known := t.edges[m]; !known {
			continue
		}
		if _, seen := t.index[m]; !seen {
			t.visit(m)
			t.low[n] = min(t.low[n], t.low[m])
		} else if t.on[m] {
			t.low[n] = min(t.low[n], t.index[m])
		}
	}
	if t.low[n] != t.index[n] {
		return
	}
	var comp []string
	for {
		m := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		t.on[m] = false
		comp = append(comp, m)
		if m == n {
			break
		}
	}
	t.comps = append(t.comps, comp)
}
