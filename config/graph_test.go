package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// diamond: db at the top, cache and api below it, web below both, and a lone task.
//
//	   db
//	  /  \
//	api  cache
//	  \  /
//	   web     lone
func diamond(t *testing.T) *Graph {
	t.Helper()
	g, err := NewGraph(map[string][]string{
		"db":    nil,
		"api":   {"db"},
		"cache": {"db"},
		"web":   {"cache", "api"},
		"lone":  {},
	})
	require.NoError(t, err)
	return g
}

func TestGraphOrder(t *testing.T) {
	g := diamond(t)
	assert.Equal(t, []string{"db", "api", "cache", "lone", "web"}, g.Order())
	assert.Equal(t, []string{"api", "cache"}, g.Parents("web"))
	assert.Equal(t, []string{"api", "cache"}, g.Children("db"))
	assert.Empty(t, g.Children("web"))
	assert.Empty(t, g.Parents("nope"))
}

func TestGraphDescendants(t *testing.T) {
	g := diamond(t)
	assert.Equal(t, []string{"api", "cache", "web"}, g.Descendants("db"))
	assert.Equal(t, []string{"web"}, g.Descendants("api"))
	assert.Empty(t, g.Descendants("web"))
	assert.Empty(t, g.Descendants("lone"))
}

func TestGraphWhatIf(t *testing.T) {
	g := diamond(t)
	stop, start := g.WhatIf("db")
	assert.Equal(t, []string{"web", "cache", "api", "db"}, stop)
	assert.Equal(t, []string{"db", "api", "cache", "web"}, start)

	stop, start = g.WhatIf("cache")
	assert.Equal(t, []string{"web", "cache"}, stop)
	assert.Equal(t, []string{"cache", "web"}, start)

	// a -> b -> c -> d -> y and a -> z -> y: z is as shallow as b.
	deep, err := NewGraph(map[string][]string{"a": nil, "b": {"a"}, "c": {"b"}, "d": {"c"}, "z": {"a"}, "y": {"d", "z"}})
	require.NoError(t, err)
	stop, _ = deep.WhatIf("a")
	assert.Equal(t, []string{"y", "d", "c", "z", "b", "a"}, stop)

	stop, start = g.WhatIf("nope")
	assert.Nil(t, stop)
	assert.Nil(t, start)
}

func TestGraphOrderIsDeterministic(t *testing.T) {
	parents := map[string][]string{}
	for _, n := range []string{"e", "d", "c", "b", "a"} {
		parents[n] = nil
	}
	parents["a"] = []string{"e"}
	for range 20 {
		g, err := NewGraph(parents)
		require.NoError(t, err)
		assert.Equal(t, []string{"b", "c", "d", "e", "a"}, g.Order())
	}
}

func TestGraphErrors(t *testing.T) {
	_, err := NewGraph(map[string][]string{
		"web": {"api"}, "api": {"web"}, "db": {"db"}, "x": {"redsi"}, "redis": nil,
	})
	require.Error(t, err)
	assert.Equal(t, `task "x": unknown parent "redsi" (did you mean "redis"?)
cycle among parents: api -> web -> api
cycle among parents: db -> db`, err.Error())
}

func TestFindCycles(t *testing.T) {
	edges := map[string][]string{
		"a": {"b"}, "b": {"c", "a"}, "c": {"a"}, // two loops through a; the shortest wins
		"x": {"y"}, "y": {"x"},
		"z": {"a"}, // leads into a cycle without being on one
	}
	assert.Equal(t, [][]string{{"a", "b", "a"}, {"x", "y", "x"}}, findCycles(edges))
	assert.Empty(t, findCycles(map[string][]string{"a": {"b"}, "b": nil}))
}
