package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Options configure a Server.
type Options struct {
	Engine  Engine
	Socket  string   // Unix socket path; "" = none
	HTTP    string   // TCP address; "" = none
	Token   string   // bearer token required on TCP; "" = none (config allows that on loopback only)
	Metrics *Metrics // nil: a registry with the task gauges and the runtime only
	Log     logrus.FieldLogger
}

// Server serves the API on its listeners until Close.
type Server struct {
	servers []*http.Server
	socket  *socketFile
	tcp     net.Listener
	cancel  context.CancelFunc // ends the requests that never end by themselves (logs -f)
	log     logrus.FieldLogger
}

// Listen binds the socket and the TCP address and serves them in the background.
// It fails, binding nothing, when a live server already answers on the socket.
func Listen(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = logrus.StandardLogger()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	opts.Metrics.watch(opts.Engine)
	h := &handler{engine: opts.Engine, metrics: opts.Metrics.Handler()}
	mux := h.routes()
	s := &Server{log: opts.Log}
	base, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if err := s.bind(opts); err != nil {
		cancel()
		return nil, err
	}
	if s.socket != nil {
		s.serve(s.socket.listener, mux, base)
	}
	if s.tcp != nil {
		s.serve(s.tcp, requireToken(opts.Token, mux), base)
	}
	return s, nil
}

func (s *Server) bind(opts Options) error {
	if opts.Socket != "" {
		f, err := listenSocket(opts.Socket)
		if err != nil {
			return err
		}
		s.socket = f
	}
	if opts.HTTP != "" {
		l, err := net.Listen("tcp", opts.HTTP)
		if err != nil {
			s.socket.close()
			return fmt.Errorf("http %s: %w", opts.HTTP, err)
		}
		s.tcp = l
	}
	return nil
}

func (s *Server) serve(l net.Listener, h http.Handler, base context.Context) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).WithField("address", l.Addr().String()).Error("control API stopped")
		}
	}()
}

// TCPAddr is the bound TCP address (useful with port 0), or nil.
func (s *Server) TCPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// Close ends follow streams, lets the other requests finish until ctx ends, and
// removes the socket file.
func (s *Server) Close(ctx context.Context) error {
	s.cancel()
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err, srv.Close())
		}
	}
	s.socket.close()
	return errors.Join(errs...)
}

// requireToken guards everything but the probes, which orchestrators call without
// credentials.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		if msg := checkBearer(r.Header.Get("Authorization"), want); msg != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="procmon"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: msg})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkBearer says what is wrong with an Authorization header, or "" when it
// carries the token. The scheme is case-insensitive (RFC 7235), and clients or
// proxies do send "bearer". The tokens are compared as digests in constant
// time, so that neither the content nor the length of the token leaks.
func checkBearer(header string, want [sha256.Size]byte) string {
	header = strings.TrimSpace(header)
	if header == "" {
		return "missing bearer token"
	}
	scheme, cred, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return `wrong authorization scheme: use "Authorization: Bearer TOKEN"`
	}
	cred = strings.TrimSpace(cred)
	if cred == "" {
		return `no token after "Bearer"`
	}
	got := sha256.Sum256([]byte(cred))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return "wrong bearer token"
	}
	return ""
}
