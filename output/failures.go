package output

import "github.com/sirupsen/logrus"

// Failures logs the first failure of a run of them and the success that ends
// the run: a full disk must not turn every write into a line of procmon's log.
// The caller serialises its calls.
type Failures struct {
	Log     logrus.FieldLogger
	failing bool
}

// Failed logs msg with err, unless the run of failures was logged already.
func (f *Failures) Failed(msg string, err error) {
	if !f.failing {
		f.failing = true
		f.Log.WithError(err).Error(msg + "; further errors are not logged until it recovers")
	}
}

// Succeeded ends a run of failures, logging msg if there was one.
func (f *Failures) Succeeded(msg string) {
	if f.failing {
		f.failing = false
		f.Log.Info(msg)
	}
}
