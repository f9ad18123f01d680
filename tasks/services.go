package tasks

import (
	"fmt"

	"github.com/procmon/procmon/config"
	"github.com/procmon/procmon/services"
)

// SetServices makes the executables of services_dir tasks (SPEC 3.9): a new file
// starts, a changed one restarts, a removed one stops. It shares the reload path:
// the tasks of the configuration file plus these, applied as a whole.
func (s *Supervisor) SetServices(list []services.Service) error {
	var err error
	if !s.Do(func() { err = s.setServices(list) }) {
		return ErrStopped
	}
	return err
}

func (s *Supervisor) setServices(list []services.Service) error {
	prev := map[string]string{}
	for _, svc := range s.services {
		prev[svc.Name] = svc.Version
	}
	s.services = list
	if s.maint != nil {
		s.maint.servicesChanged = true // applied when the cycle ends
	}
	if s.shutdown != nil || s.maint != nil {
		return nil
	}
	rewritten := map[string]bool{} // same path, new content: restarted as changed
	for _, svc := range list {
		t := s.tasks[svc.Name]
		if v, ok := prev[svc.Name]; ok && v != svc.Version && t != nil && t.service {
			rewritten[svc.Name] = true
		}
	}
	return s.apply(s.withServices(s.fileCfg), fromServicesDir, rewritten)
}

// withServices is the file's configuration plus a task for each service that does
// not clash with one of the file's tasks.
func (s *Supervisor) withServices(file *config.Config) *config.Config {
	ignored := map[string]string{}
	defer s.noteIgnoredServices(ignored)
	if len(s.services) == 0 {
		return file
	}
	cfg := *file
	cfg.Tasks = make(map[string]*config.Task, len(file.Tasks)+len(s.services))
	parents := map[string][]string{}
	for name, t := range file.Tasks {
		cfg.Tasks[name] = t
		parents[name] = t.Parents
	}
	names := make(map[string]bool, len(file.Tasks)+len(s.services))
	for name := range file.Tasks {
		names[name] = true
	}
	for _, svc := range s.services {
		names[svc.Name] = true
	}
	isTask := func(name string) bool { return names[name] }
	// A file task named like a label of the service ("web.1" beside a file
	// "web") clashes as much as the other way round; the file's task wins.
	labelledBy := map[string]string{}
	for name := range file.Tasks {
		if base, _, ok := config.SplitLabel(name); ok {
			labelledBy[base] = name
		}
	}
	for _, svc := range s.services {
		if _, clash := file.Tasks[svc.Name]; clash {
			ignored[svc.Name] = "services_dir has a file named like a task of the configuration: the configuration wins"
			continue
		}
		if err := config.LabelClash(svc.Name, isTask); err != nil {
			ignored[svc.Name] = "services_dir: file ignored: " + err.Error()
			continue
		}
		if task, clash := labelledBy[svc.Name]; clash {
			ignored[svc.Name] = fmt.Sprintf("services_dir: file ignored: the configuration's task %q reads as one of its instances", task)
			continue
		}
		t := config.NewTask(svc.Name, config.Service, file.Procmon, []string{svc.Path})
		// A file of the directory has no key to set: it backs off, as cronmon's
		// did, and never gives up, as a file fixed later must run again.
		t.StartRetries = -1
		cfg.Tasks[svc.Name] = t
		parents[svc.Name] = nil
	}
	graph, err := config.NewGraph(parents)
	if err != nil {
		s.log.WithError(err).Error("services_dir: cannot add its tasks")
		return file
	}
	cfg.Graph = graph
	return &cfg
}

// noteIgnoredServices logs why a file of services_dir is left out, once while it
// stays so for that reason: the directory's tasks are worked out again at each
// of its changes and at each reload.
func (s *Supervisor) noteIgnoredServices(ignored map[string]string) {
	for name, why := range ignored {
		if s.ignoredServices[name] != why {
			s.log.WithField("task", name).Warn(why)
		}
	}
	s.ignoredServices = ignored
}

// markServices records which tasks come from services_dir rather than the file.
func (s *Supervisor) markServices(cfg *config.Config) {
	for name, t := range s.tasks {
		_, inFile := s.fileCfg.Tasks[name]
		t.service = !inFile && cfg.Tasks[name] != nil
	}
}
