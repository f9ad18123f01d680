package monitors

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procmon/procmon/config"
)

var twoXX = []config.StatusRange{{Lo: 200, Hi: 299}}

func httpDef(url string, expect []config.StatusRange) *config.Monitor {
	d := leaf("http")
	d.URL, d.Method, d.ExpectStatus = url, "GET", expect
	return d
}

func newHTTPCheck(t *testing.T, d *config.Monitor) checker {
	t.Helper()
	c, err := newHTTP(d)
	require.NoError(t, err)
	return c
}

func TestHTTPFlipping(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte("database down\nsecond line"))
	}))
	defer srv.Close()
	url := srv.URL + "/health"
	m := build(t, "web-health", map[string]*config.Monitor{"web-health": httpDef(url, twoXX)}, testDeps(t))
	rec, _ := run(t, m, Target{Mode: Steady})

	rec.waitFor(t, "healthy", func(err error) bool { return err == nil })
	status.Store(500)
	rec.waitFor(t, "status 500", func(err error) bool { return err != nil })
	got := rec.results()
	assert.EqualError(t, got[len(got)-1], "web-health: GET "+url+": status 500: database down")
	status.Store(204)
	rec.waitFor(t, "healthy again", func(err error) bool { return err == nil })
}

func TestHTTPExpectStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := map[string]int{"/ok": 200, "/moved": 302, "/teapot": 418, "/broken": 500}[r.URL.Path]
		if code == 302 {
			http.Redirect(w, r, "/ok", code) // must not be followed
			return
		}
		w.WriteHeader(code)
	}))
	defer srv.Close()
	ranges := func(r ...int) []config.StatusRange {
		var out []config.StatusRange
		for i := 0; i < len(r); i += 2 {
			out = append(out, config.StatusRange{Lo: r[i], Hi: r[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		path   string
		expect []config.StatusRange
		ok     bool
	}{
		{"/ok", twoXX, true},
		{"/moved", twoXX, false},
		{"/moved", ranges(200, 399), true},
		{"/teapot", ranges(418, 418), true},
		{"/teapot", ranges(200, 299, 400, 417), false},
		{"/broken", ranges(200, 299, 500, 500), true},
		{"/broken", twoXX, false},
	} {
		err := newHTTPCheck(t, httpDef(srv.URL+tc.path, tc.expect)).check(context.Background())
		if tc.ok {
			assert.NoError(t, err, "%s %v", tc.path, tc.expect)
		} else {
			assert.Error(t, err, "%s %v", tc.path, tc.expect)
		}
	}
}

func TestHTTPRequest(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
	}))
	defer srv.Close()
	d := httpDef(srv.URL+"/x", twoXX)
	d.Method = "HEAD"
	d.Headers = map[string]string{"X-Token": "secret", "Host": "example.test"}
	require.NoError(t, newHTTPCheck(t, d).check(context.Background()))
	r := <-got
	assert.Equal(t, "HEAD", r.Method)
	assert.Equal(t, "procmon", r.UserAgent())
	assert.Equal(t, "secret", r.Header.Get("X-Token"))
	assert.Equal(t, "example.test", r.Host)
	assert.True(t, r.Close, "keep-alives are off")
}

// TestHTTPBodyBounded serves an endless body: a check that read it all would hang.
func TestHTTPBodyBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		_, _ = w.Write([]byte(strings.Repeat("x", 300) + "\n"))
		_, _ = w.Write(make([]byte, 64<<10))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // until the client closes the connection
	}))
	defer srv.Close()
	d := httpDef(srv.URL, []config.StatusRange{{Lo: 500, Hi: 500}})
	d.Timeout = time.Minute
	done := make(chan error, 1)
	go func() { done <- newHTTPCheck(t, d).check(context.Background()) }()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("check did not bound its read of the body")
	}

	d.ExpectStatus = twoXX
	err := newHTTPCheck(t, d).check(context.Background())
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 300, "the reason quotes a bounded excerpt")
	assert.Contains(t, err.Error(), "status 500: xxx")
}

// TestHTTPStalledBodyEndsAtTheDeadline: headers come, the body never does. The
// deadline of the check's context, the only one, must end the read.
func TestHTTPStalledBodyEndsAtTheDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- newHTTPCheck(t, httpDef(srv.URL, twoXX)).check(ctx) }()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("the check outlived its context")
	}
}

// TestHTTPSUnverified: a task's HTTPS endpoint with a certificate no root vouches
// for passes, as with the kubelet's HTTPS probes.
func TestHTTPSUnverified(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	require.True(t, strings.HasPrefix(srv.URL, "https://127.0.0.1:"))
	m := build(t, "tls-health", map[string]*config.Monitor{"tls-health": httpDef(srv.URL+"/health", twoXX)},
		testDeps(t))
	rec, _ := run(t, m, Target{Mode: Polling})
	assert.NoError(t, rec.waitLen(t, 1)[0])
}

func TestHTTPRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	err = newHTTPCheck(t, httpDef("http://"+addr+"/health", twoXX)).check(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GET http://"+addr+"/health: dial tcp "+addr)
	assert.Contains(t, err.Error(), "connection refused")
}
