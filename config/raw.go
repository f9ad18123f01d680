package config

import (
	"reflect"
	"time"
)

// value captures any TOML value without judging its type, so that decoding never
// stops at the first mistake: conversion and its errors happen in validation, where
// every problem can be collected.
type value struct {
	v   any
	set bool
}

// UnmarshalTOML implements toml.Unmarshaler.
func (r *value) UnmarshalTOML(v any) error {
	r.v, r.set = v, true
	return nil
}

// The raw* structs mirror the file. Every leaf is a value; their toml tags are
// also the list of known keys used for "unknown key" errors and hints.

type rawFile struct {
	Procmon     rawGlobal              `toml:"procmon"`
	Tasks       map[string]*rawTask    `toml:"tasks"`
	Monitors    map[string]*rawMonitor `toml:"monitors"`
	Maintenance *rawMaintenance        `toml:"maintenance"`
	Notify      []*rawNotify           `toml:"notify"`
	Honeycomb   rawHoneycomb           `toml:"honeycomb"`
}

type rawGlobal struct {
	LogLevel        value `toml:"log_level"`
	LogFormat       value `toml:"log_format"`
	LogFile         value `toml:"log_file"`
	Socket          value `toml:"socket"`
	HTTP            value `toml:"http"`
	HTTPToken       value `toml:"http_token"`
	Pidfile         value `toml:"pidfile"`
	Journal         value `toml:"journal"`
	ServicesDir     value `toml:"services_dir"`
	StopTimeout     value `toml:"stop_timeout"`
	ShutdownTimeout value `toml:"shutdown_timeout"`
	Subreaper       value `toml:"subreaper"`
	LoadMetric      value `toml:"load_metric"`
}

type rawTask struct {
	Command         value `toml:"command"`
	Type            value `toml:"type"`
	Parent          value `toml:"parent"`
	Parents         value `toml:"parents"`
	Autostart       value `toml:"autostart"`
	Instances       value `toml:"instances"`
	Restart         value `toml:"restart"`
	ExitCodes       value `toml:"exit_codes"`
	StartTime       value `toml:"start_time"`
	StartRetries    value `toml:"start_retries"`
	RestartDelay    value `toml:"restart_delay"`
	RestartDelayMax value `toml:"restart_delay_max"`
	StopSignal      value `toml:"stop_signal"`
	StopTimeout     value `toml:"stop_timeout"`
	MaxRuntime      value `toml:"max_runtime"`
	WaitFor         value `toml:"wait_for"`
	Ready           value `toml:"ready"`
	ReadyTimeout    value `toml:"ready_timeout"`
	Monitors        value `toml:"monitors"`
	Critical        value `toml:"critical"`
	Dir             value `toml:"dir"`
	Env             value `toml:"env"`
	User            value `toml:"user"`
	Group           value `toml:"group"`
	Umask           value `toml:"umask"`
	Stdout          value `toml:"stdout"`
	Stderr          value `toml:"stderr"`
	LogMaxSize      value `toml:"log_max_size"`
	LogBackups      value `toml:"log_backups"`
	LogCommand      value `toml:"log_command"`
	LoadHigh        value `toml:"load_high"`
	LoadLow         value `toml:"load_low"`
}

type rawMonitor struct {
	Type         value `toml:"type"`
	Interval     value `toml:"interval"`
	Timeout      value `toml:"timeout"`
	InitialDelay value `toml:"initial_delay"`
	URL          value `toml:"url"`
	Method       value `toml:"method"`
	Headers      value `toml:"headers"`
	ExpectStatus value `toml:"expect_status"`
	Address      value `toml:"address"`
	Password     value `toml:"password"`
	DB           value `toml:"db"`
	Command      value `toml:"command"`
	Monitor      value `toml:"monitor"`
	Retries      value `toml:"retries"`
	Monitors     value `toml:"monitors"`
}

type rawMaintenance struct {
	Command   value `toml:"command"`
	Dir       value `toml:"dir"`
	Env       value `toml:"env"`
	User      value `toml:"user"`
	Group     value `toml:"group"`
	Stdout    value `toml:"stdout"`
	Stderr    value `toml:"stderr"`
	Timeout   value `toml:"timeout"`
	OnFailure value `toml:"on_failure"`
}

type rawNotify struct {
	Type     value `toml:"type"`
	Events   value `toml:"events"`
	SMTP     value `toml:"smtp"`
	From     value `toml:"from"`
	To       value `toml:"to"`
	Username value `toml:"username"`
	Password value `toml:"password"`
	URL      value `toml:"url"`
	Command  value `toml:"command"`
}

type rawHoneycomb struct {
	APIKey     value `toml:"api_key"`
	Dataset    value `toml:"dataset"`
	APIHost    value `toml:"api_host"`
	SampleRate value `toml:"sample_rate"`
}

// tomlKeys lists the toml tags of a raw struct type, in declaration order.
func tomlKeys(v any) []string {
	t := reflect.TypeOf(v)
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		keys = append(keys, t.Field(i).Tag.Get("toml"))
	}
	return keys
}

// setKeys lists the keys of a raw struct that the file actually set.
func setKeys(v any) []string {
	rv := reflect.ValueOf(v).Elem()
	var keys []string
	for i := range rv.NumField() {
		if f, ok := rv.Field(i).Interface().(value); ok && f.set {
			keys = append(keys, rv.Type().Field(i).Tag.Get("toml"))
		}
	}
	return keys
}

// tomlType names v's TOML type for error messages.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a datetime"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "an unsupported value"
}
