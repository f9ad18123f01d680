package monitors

import (
	"context"
	"net"
)

// portInUse succeeds when every address accepts a TCP connection. A refused or
// timed-out dial is a failure, not an error of the check (Kubernetes DoTCPProbe).
type portInUse []string

func (p portInUse) check(ctx context.Context) error {
	var d net.Dialer
	for _, addr := range p {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err // "dial tcp ADDR: connect: connection refused" names the address
		}
		_ = conn.Close() // only the handshake mattered
	}
	return nil
}

// portAvailable succeeds when every address can be bound, typically in wait_for, so
// that a restarted server does not race its previous incarnation for its port.
type portAvailable []string

func (p portAvailable) check(ctx context.Context) error {
	var lc net.ListenConfig
	for _, addr := range p {
		l, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return err // "listen tcp ADDR: bind: address already in use"
		}
		_ = l.Close()
	}
	return nil
}
