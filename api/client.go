package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/procmon/procmon/tasks"
)

// Instance is one task instance as the client reads it from GET /v1/tasks.
type Instance = tasks.InstanceStatus

// Error is an error answer of the server.
type Error struct {
	Status  int
	Message string
	Details []string // one line per configuration problem (422)
}

func (e *Error) Error() string { return e.Message }

// UnreachableError means that no server answered on the socket.
type UnreachableError struct {
	Socket string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach procmon on socket %s: %v", e.Socket, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Client talks to a procmon server over its Unix socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client of the server listening on socket.
func NewClient(socket string) *Client {
	var d net.Dialer
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 4,
	}
	return &Client{socket: socket, hc: &http.Client{Transport: transport}}
}

// Socket is the path the client connects to.
func (c *Client) Socket() string { return c.socket }

// do sends a request and decodes a 2xx answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, out any) error {
	resp, err := c.send(ctx, method, path, query)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: bad answer: %w", method, path, err)
	}
	return nil
}

// send returns the response of a 2xx answer, whose body the caller closes.
func (c *Client) send(ctx context.Context, method, path string, query url.Values) (*http.Response, error) {
	resp, err := c.roundTrip(ctx, method, path, query)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// roundTrip returns any answer; a server that cannot be reached is an *UnreachableError.
func (c *Client) roundTrip(ctx context.Context, method, path string, query url.Values) (*http.Response, error) {
	// path is escaped already (taskPath): url.URL would escape it once more.
	target := "http://procmon" + path
	if q := query.Encode(); q != "" {
		target += "?" + q
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, &UnreachableError{Socket: c.socket, Err: op.Err}
		}
		return nil, err
	}
	return resp, nil
}

func readError(resp *http.Response) error {
	var body errorBody
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, &body) != nil || body.Error == "" {
		body.Error = fmt.Sprintf("server answered %s", resp.Status)
	}
	return &Error{Status: resp.StatusCode, Message: body.Error, Details: body.Errors}
}

func taskPath(name, action string) string {
	p := "/v1/tasks/" + url.PathEscape(name)
	if action != "" {
		p += "/" + action
	}
	return p
}

// Status lists every task instance, or those of name when it is not "".
func (c *Client) Status(ctx context.Context, name string) ([]Instance, error) {
	path := "/v1/tasks"
	if name != "" {
		path = taskPath(name, "")
	}
	var out []Instance
	return out, c.do(ctx, "GET", path, nil, &out)
}

// Act asks for start, stop or restart of a task.
func (c *Client) Act(ctx context.Context, name, action string) error {
	return c.do(ctx, "POST", taskPath(name, action), nil, nil)
}

// Await carries out action on name and returns once it has taken effect: an
// error says why it did not.
func (c *Client) Await(ctx context.Context, name, action string) error {
	return c.do(ctx, "POST", taskPath(name, action), url.Values{"wait": {"1"}}, nil)
}

// Scale runs n instances of name.
func (c *Client) Scale(ctx context.Context, name string, n int) error {
	return c.do(ctx, "POST", taskPath(name, "scale"), url.Values{"instances": {strconv.Itoa(n)}}, nil)
}

// Signal sends sig (a name or number) to every process group of name.
func (c *Client) Signal(ctx context.Context, name, sig string) error {
	return c.do(ctx, "POST", taskPath(name, "signal"), url.Values{"signal": {sig}}, nil)
}

// Reload asks to re-read the configuration; an invalid file is an *Error with
// Status 422 and one Details line per problem.
func (c *Client) Reload(ctx context.Context) error { return c.do(ctx, "POST", "/v1/reload", nil, nil) }

// Maintenance asks for the maintenance cycle.
func (c *Client) Maintenance(ctx context.Context) error {
	return c.do(ctx, "POST", "/v1/maintenance", nil, nil)
}

// Shutdown asks for a graceful shutdown.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, "POST", "/v1/shutdown", nil, nil)
}

// NotReady lists the autostart tasks that are not ready (none: procmon is ready).
func (c *Client) NotReady(ctx context.Context) ([]string, error) {
	resp, err := c.roundTrip(ctx, "GET", "/readyz", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return nil, readError(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var body readyBody
	if err := json.Unmarshal(data, &body); err != nil {
		return nil, fmt.Errorf("GET /readyz: bad answer: %w", err)
	}
	if !body.Ready && len(body.NotReady) == 0 { // a 503 of a procmon that is shutting down
		return nil, &Error{Status: resp.StatusCode, Message: body.Error}
	}
	return body.NotReady, nil
}
