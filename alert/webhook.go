package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Webhook delivery: each try is bounded by webhookTimeout; a failed try is
// repeated after webhookBackoff, doubling, webhookRetries times after the first
// (the README promises "retried 3 times").
const (
	webhookTimeout = 5 * time.Second
	webhookRetries = 3
	webhookBackoff = 100 * time.Millisecond
)

// permanentError is a refusal that another try will not change (a 4xx).
type permanentError struct{ error }

func webhookSender(url string, client *http.Client) func(context.Context, *payload) error {
	if client == nil {
		client = &http.Client{Timeout: webhookTimeout}
	}
	return func(ctx context.Context, p *payload) error {
		pause := webhookBackoff
		var err error
		for retry := 0; ; retry++ {
			if err = post(ctx, client, url, p.json); err == nil {
				return nil
			}
			var perm permanentError
			if retry == webhookRetries || errors.As(err, &perm) {
				return err
			}
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return err
			}
			pause *= 2
		}
	}
}

func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "procmon")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	// Read a little so that the connection can be reused, never a whole body.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return permanentError{fmt.Errorf("webhook %s: %s", url, resp.Status)}
	default:
		return fmt.Errorf("webhook %s: %s", url, resp.Status)
	}
}
