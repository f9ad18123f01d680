package main

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/procmon/procmon/api"
	"github.com/procmon/procmon/config"
)

// apiCloseTimeout bounds how long a shutdown waits for requests in flight.
const apiCloseTimeout = 5 * time.Second

// serveAPI starts the control API before the first task starts, so that a second
// procmon on the same socket is refused before it runs anything. stop closes it.
func serveAPI(g config.Global, engine api.Engine, metrics *api.Metrics, log *logrus.Logger) (stop func(), err error) {
	if g.Socket == "" && g.HTTP == "" {
		return func() {}, nil
	}
	srv, err := api.Listen(api.Options{
		Engine: engine, Socket: g.Socket, HTTP: g.HTTP, Token: g.HTTPToken, Metrics: metrics, Log: log,
	})
	if err != nil {
		return nil, err
	}
	log.WithFields(logrus.Fields{"socket": g.Socket, "http": g.HTTP}).Info("control API listening")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), apiCloseTimeout)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			log.WithError(err).Warn("control API: requests cut short at exit")
		}
	}, nil
}
