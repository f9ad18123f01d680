// Package monitors turns the [monitors.NAME] definitions of the configuration into
// running health checks that report, for one run of one task instance, whether it is
// healthy, and why not.
//
// A leaf check (http, redis, port_in_use, port_available, exec) is a single step,
// check(ctx) error, that tests drive with no clock; one runner schedules every leaf
// kind, so initial delay, jitter, timeouts, panics and overlapping runs are handled in
// one place. notify is event driven and has no schedule. retry, fail, all and any
// have no schedule either: they run the monitors they wrap and react to their reports.
package monitors
