package tasks

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/procmon/procmon/config"
)

// The journal writes, and [[notify]] accepts, the types config lists: each must
// be an event the engine emits.
func TestEveryJournalEventTypeIsEmitted(t *testing.T) {
	for _, typ := range config.EventTypes {
		_, ok := eventMessages[typ]
		assert.True(t, ok, "%s is not an engine event", typ)
	}
}
