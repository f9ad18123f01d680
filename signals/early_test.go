package signals

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/procmon/procmon/signals/early"
)

// What package early catches before Listen, Listen goes on catching: each of
// them must have an action, or a signal caught early would be one Listen does
// not know.
func TestEarlySignalsAreCaughtSignals(t *testing.T) {
	all := caught()
	for _, sig := range early.Terminating() {
		assert.True(t, slices.Contains(all, sig), "%v", sig)
	}
}
