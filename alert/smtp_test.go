package alert

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// mail is one message a fakeSMTP accepted.
type mail struct {
	from string
	to   []string
	data string
	tls  bool
	auth string // the decoded AUTH PLAIN response: "\x00user\x00password"
}

// fakeSMTP speaks just enough SMTP for net/smtp: EHLO, STARTTLS (when it has a
// certificate), AUTH PLAIN (the data's CRLFs are read as LFs), MAIL, RCPT, DATA and QUIT.
type fakeSMTP struct {
	ln  net.Listener
	tls *tls.Config // nil: STARTTLS is not offered

	mu    sync.Mutex
	mails []mail
}

func newFakeSMTP(t *testing.T, tlsConfig *tls.Config) *fakeSMTP {
	return newFakeSMTPOn(t, "127.0.0.1", tlsConfig)
}

func newFakeSMTPOn(t *testing.T, ip string, tlsConfig *tls.Config) *fakeSMTP {
	ln, err := net.Listen("tcp", ip+":0")
	require.NoError(t, err)
	s := &fakeSMTP{ln: ln, tls: tlsConfig}
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *fakeSMTP) addr() string { return s.ln.Addr().String() }

func (s *fakeSMTP) received() []mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail(nil), s.mails...)
}

func (s *fakeSMTP) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(conn)
	}
}

func (s *fakeSMTP) handle(conn net.Conn) {
	defer func() { conn.Close() }()
	tp := textproto.NewConn(conn)
	var m mail
	_ = tp.PrintfLine("220 fake ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			_ = tp.PrintfLine("250-fake")
			if s.tls != nil && !m.tls {
				_ = tp.PrintfLine("250-STARTTLS")
			}
			_ = tp.PrintfLine("250 AUTH PLAIN")
		case "STARTTLS":
			_ = tp.PrintfLine("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if tc.Handshake() != nil {
				return
			}
			conn, tp, m.tls = tc, textproto.NewConn(tc), true
		case "AUTH":
			_, b64, _ := strings.Cut(arg, " ")
			dec, _ := base64.StdEncoding.DecodeString(b64)
			m.auth = string(dec)
			_ = tp.PrintfLine("235 ok")
		case "MAIL":
			m.from = strings.Trim(strings.TrimPrefix(arg, "FROM:"), "<>")
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			m.to = append(m.to, strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>"))
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			m.data = string(data)
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 not implemented")
		}
	}
}

// testCert returns a server configuration with httptest's certificate (valid
// for 127.0.0.1) and a client configuration that trusts it.
func testCert(t *testing.T) (server, client *tls.Config) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return &tls.Config{Certificates: srv.TLS.Certificates}, &tls.Config{RootCAs: roots}
}
