package monitors

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/procmon/procmon/config"
)

// maxBody is how much of a response body a check reads (Kubernetes reads 10 KB):
// a health endpoint that streams must not stall or bloat the supervisor.
const maxBody = 10 << 10

// httpCheck succeeds when the response status is in one of the expected ranges.
// Redirects are not followed, so that expect_status can name 3xx codes.
type httpCheck struct {
	client  *http.Client
	method  string
	url     string
	headers map[string]string
	expect  []config.StatusRange
}

func newHTTP(def *config.Monitor) (checker, error) {
	if len(def.ExpectStatus) == 0 {
		return nil, errors.New("expect_status is empty")
	}
	if _, err := url.Parse(def.URL); err != nil {
		return nil, err
	}
	transport := &http.Transport{
		// A health check must reach the task, not a proxy named in procmon's
		// environment; and a fresh connection per check keeps a stale keep-alive
		// connection from failing it (Kubernetes and Consul do both).
		Proxy:             nil,
		DisableKeepAlives: true,
		// As the kubelet's HTTPS probes: the check asks whether the task answers,
		// not who it is, and a task's local endpoint rarely has a certificate valid
		// for the address procmon dials (self-signed, or issued for a name).
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}
	return &httpCheck{
		// No Timeout: the runner's deadline on the request's context bounds the
		// whole exchange, body included.
		client: &http.Client{
			Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		method:  def.Method,
		url:     def.URL,
		headers: def.Headers,
		expect:  def.ExpectStatus,
	}, nil
}

func (h *httpCheck) check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, h.method, h.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "procmon")
	for k, v := range h.headers { // after User-Agent, so that a header may replace it
		if strings.EqualFold(k, "Host") {
			req.Host = v // net/http ignores a Host entry in Header
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it would repeat the method and the URL
		}
		return fmt.Errorf("%s %s: %w", req.Method, h.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if !h.expected(resp.StatusCode) {
		return fmt.Errorf("%s %s: status %d%s", req.Method, h.url, resp.StatusCode, excerpt(body, 1))
	}
	if err != nil {
		return fmt.Errorf("%s %s: reading body: %w", req.Method, h.url, err)
	}
	return nil
}

func (h *httpCheck) expected(code int) bool {
	for _, r := range h.expect {
		if r.Lo <= code && code <= r.Hi {
			return true
		}
	}
	return false
}
