package journal

import (
	"os"
	"strings"
)

// bootID tells boots apart: start times count from boot, so they only compare
// within one. "" when the kernel does not say.
func bootID() string {
	data, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}
