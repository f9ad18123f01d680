package monitors

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/config"
)

// redisCheck succeeds when PING answers PONG. Each instance has its own client,
// closed when its Run ends, so a restarted task never inherits a pooled connection
// to its previous incarnation.
type redisCheck struct {
	addr   string
	client *redis.Client
}

func newRedis(def *config.Monitor) (checker, error) {
	if len(def.Address) != 1 {
		return nil, fmt.Errorf("redis needs exactly one address, got %d", len(def.Address))
	}
	client := redis.NewClient(&redis.Options{
		Addr:     def.Address[0],
		Password: def.Password,
		DB:       def.DB,
		// One attempt per check: the retry decorator does the counting, and
		// go-redis's own retries (3 by default; -1, not 0, disables them) and
		// dial retries (5) would multiply it and stretch a check past its timeout.
		MaxRetries:            -1,
		DialerRetries:         1,
		DialTimeout:           def.Timeout,
		ReadTimeout:           def.Timeout,
		WriteTimeout:          def.Timeout,
		ContextTimeoutEnabled: true,
		// A probe needs no client name on the server nor cluster upgrade
		// notifications; both cost extra round trips on every new connection.
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	return &redisCheck{addr: def.Address[0], client: client}, nil
}

func (r *redisCheck) check(ctx context.Context) error {
	// go-redis heeds a deadline but not a cancellation while it waits for an
	// answer. A cancelled check means the run is over: closing the client, which
	// goes with the run anyway, ends the wait.
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			_ = r.client.Close()
		}
	})
	defer stop()
	answer, err := r.client.Ping(ctx).Result()
	if err != nil {
		return fmt.Errorf("redis %s: PING: %w", r.addr, err)
	}
	if answer != "PONG" {
		return fmt.Errorf("redis %s: PING answered %q", r.addr, answer)
	}
	return nil
}

func (r *redisCheck) release() {
	// Close fails only when already closed or when a pooled connection fails to
	// close; the client is unusable either way and nobody could act on it.
	_ = r.client.Close()
}

// RouteRedisLogs sends go-redis's own log lines (a failed dial, for one) to log at
// Debug level instead of to stderr in their own format: the check already reports
// the same reason as a failure. go-redis has a single process-wide logger, so call
// this once, from main.
func RouteRedisLogs(log logrus.FieldLogger) {
	redis.SetLogger(redisLogger{log})
}

type redisLogger struct{ log logrus.FieldLogger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.WithField("component", "go-redis").Debugf(format, v...)
}
