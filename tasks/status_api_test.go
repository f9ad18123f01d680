package tasks

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTaskNamesListTasksScaledToZeroInStartOrder(t *testing.T) {
	h := start(t, `
[tasks.web]
command = ["sleep", "1000"]
parent = "db"
[tasks.db]
command = ["sleep", "1000"]
[tasks.spare]
command = ["sleep", "1000"]
instances = 0
`)
	h.waitState("web", 0, Ready)
	require.NoError(t, h.sup.Scale("web", 0))
	require.Eventually(t, func() bool {
		st, err := h.sup.TaskStatus("web")
		return err == nil && len(st) == 0
	}, 10*time.Second, time.Millisecond)
	names := h.sup.TaskNames()
	assert.ElementsMatch(t, []string{"db", "web", "spare"}, names)
	assert.Less(t, slices.Index(names, "db"), slices.Index(names, "web"), "a parent comes before its children")
	assert.Equal(t, 0, h.stop())
	assert.Nil(t, h.sup.TaskNames(), "a stopped supervisor answers nothing")
}

// SPEC 4 lists the keys of an instance: a client reads them as a schema, so
// one with no value is null, never left out.
func TestStatusJSONHasEverySpecKey(t *testing.T) {
	h := start(t, `
[tasks.up]
command = ["sleep", "1000"]
[tasks.off]
command = ["sleep", "1000"]
autostart = false
`)
	pid := h.pid("up", 0)
	data, err := json.Marshal(h.sup.Status())
	require.NoError(t, err)
	var all []map[string]any
	require.NoError(t, json.Unmarshal(data, &all))
	require.Len(t, all, 2, "%s", data)
	byName := map[string]map[string]any{}
	for _, st := range all {
		for _, key := range []string{"name", "instance", "state", "pid", "ready", "restarts", "exit_code", "started_at", "parents"} {
			assert.Contains(t, st, key, "%s", data)
		}
		byName[st["name"].(string)] = st
	}
	assert.EqualValues(t, pid, byName["up"]["pid"])
	assert.NotNil(t, byName["up"]["started_at"])
	assert.Nil(t, byName["up"]["exit_code"])
	for _, key := range []string{"pid", "exit_code", "started_at"} {
		assert.Nil(t, byName["off"][key], "%s of a task never started", key)
	}
	assert.Equal(t, []any{}, byName["off"]["parents"])

	assert.Equal(t, []string{"name", "instance", "label", "state", "pid", "ready", "restarts", "exit_code", "started_at", "parents"},
		keysInOrder(t, data), "SPEC 4's order, the label beside the instance")

	var back []InstanceStatus
	require.NoError(t, json.Unmarshal(data, &back))
	pids := map[string]int{}
	for _, st := range back {
		pids[st.Name] = st.Pid
	}
	assert.Equal(t, map[string]int{"up": pid, "off": 0}, pids, "null decodes to no pid")
	h.stop()
}

// keysInOrder lists the keys of the first object of a JSON array as written.
func keysInOrder(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	for range 2 { // [ and {
		_, err := dec.Token()
		require.NoError(t, err)
	}
	var keys []string
	for dec.More() {
		key, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, key.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// Every field of InstanceStatus is written: MarshalJSON lists them anew.
func TestStatusJSONLeavesNoFieldOut(t *testing.T) {
	data, err := json.Marshal([]InstanceStatus{{}})
	require.NoError(t, err)
	keys := keysInOrder(t, data)
	typ := reflect.TypeFor[InstanceStatus]()
	for i := range typ.NumField() {
		tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		assert.Contains(t, keys, tag)
	}
}
