package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strconv"

	"github.com/procmon/procmon/output"
)

// Line is one line of a task's output, as Logs and Follow return it.
type Line = output.Line

// Logs returns up to n recent output lines of name, oldest first.
func (c *Client) Logs(ctx context.Context, name string, n int) ([]output.Line, error) {
	var lines []output.Line
	err := c.do(ctx, "GET", taskPath(name, "logs"), url.Values{"lines": {strconv.Itoa(n)}}, &lines)
	return lines, err
}

// Follow calls fn with the last n lines of name, then with every new line, until
// ctx ends (which is no error) or the server goes away.
func (c *Client) Follow(ctx context.Context, name string, n int, fn func(output.Line)) error {
	q := url.Values{"lines": {strconv.Itoa(n)}, "follow": {"1"}}
	resp, err := c.send(ctx, "GET", taskPath(name, "logs"), q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var l output.Line
		err := dec.Decode(&l)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF):
			return nil // the server stopped
		case err != nil:
			return err
		}
		fn(l)
	}
}
