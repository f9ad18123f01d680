// Package config turns a procmon TOML file into a fully validated, defaulted
// Config, reporting every problem at once with its file, line and key path.
package config
