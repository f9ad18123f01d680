package monitors

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/config"
)

// ports returns the address of a live listener and of a port nobody listens on.
func ports(t *testing.T) (open, closed string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, gone.Close())
	return l.Addr().String(), gone.Addr().String()
}

func TestPortInUse(t *testing.T) {
	open, closed := ports(t)
	ctx := context.Background()
	assert.NoError(t, portInUse{open}.check(ctx))
	err := portInUse{open, closed}.check(ctx)
	require.Error(t, err, "every address must accept")
	assert.Contains(t, err.Error(), closed)
	assert.Contains(t, err.Error(), "connection refused")
}

func TestPortAvailable(t *testing.T) {
	open, closed := ports(t)
	ctx := context.Background()
	assert.NoError(t, portAvailable{closed}.check(ctx))
	err := portAvailable{closed, open}.check(ctx)
	require.Error(t, err, "every address must be free")
	assert.Contains(t, err.Error(), open)
	assert.Contains(t, err.Error(), "address already in use")
}

func TestPortThroughNew(t *testing.T) {
	open, _ := ports(t)
	d := leaf("port_in_use")
	d.Address = []string{open}
	rec, _ := run(t, build(t, "db-port", map[string]*config.Monitor{"db-port": d}, testDeps(t)), Target{Mode: Polling})
	assert.NoError(t, rec.waitLen(t, 1)[0])
}
