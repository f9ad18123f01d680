package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"time"

	"github.com/procmon/procmon/config"
)

// emailTimeout bounds one whole SMTP conversation.
const emailTimeout = 30 * time.Second

func emailSender(e *config.Notify, base *tls.Config) func(context.Context, *payload) error {
	return func(ctx context.Context, p *payload) error {
		ctx, cancel := context.WithTimeout(ctx, emailTimeout)
		defer cancel()
		return sendMail(ctx, e, base, p)
	}
}

// sendMail speaks SMTP itself rather than through smtp.SendMail, whose
// connection has no deadline: a server that stops answering would hold the
// channel for ever. STARTTLS is used whenever the server offers it; PlainAuth
// refuses to send a password in clear to anything but localhost.
func sendMail(ctx context.Context, e *config.Notify, base *tls.Config, p *payload) error {
	host, _, err := net.SplitHostPort(e.SMTP)
	if err != nil {
		return fmt.Errorf("smtp %q: %w", e.SMTP, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.SMTP)
	if err != nil {
		return err
	}
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(localName()); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{}
		if base != nil {
			cfg = base.Clone()
		}
		cfg.ServerName = host
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if e.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.Username, e.Password, host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := envelope(c, e); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(mailMessage(e, p)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func envelope(c *smtp.Client, e *config.Notify) error {
	if err := c.Mail(e.From); err != nil {
		return fmt.Errorf("mail from %s: %w", e.From, err)
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("rcpt to %s: %w", to, err)
		}
	}
	return nil
}

// mailMessage is a plain-text mail: readable lines, then the event as JSON for
// whatever parses the mailbox.
func mailMessage(e *config.Notify, p *payload) []byte {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, oneLine(v)) }
	header("From", e.From)
	header("To", strings.Join(e.To, ", "))
	header("Subject", p.subject())
	header("Date", time.Now().Format(time.RFC1123Z))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(p.text(), "\n", "\r\n"))
	b.WriteString("\r\n")
	b.Write(p.json)
	b.WriteString("\r\n")
	return b.Bytes()
}

func localName() string {
	if hostname != "" {
		return hostname
	}
	return "localhost"
}
