package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A reachable call to reflect's Method or MethodByName with a name the linker
// cannot see makes it keep every exported method of every type: the binary
// doubles, and the pages of it that procmon touches grow with it. One
// dependency did this once (protobuf before v1.36.12 under Go 1.26).
func TestLinkerCanDropUnusedMethods(t *testing.T) {
	build := exec.Command("go", "build", "-ldflags=-dumpdep", "-o", "/dev/null", ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	deps, err := build.CombinedOutput()
	require.NoError(t, err, "%s", tail(deps))
	for line := range strings.Lines(string(deps)) {
		require.NotContains(t, line, "<ReflectMethod>",
			"this symbol makes the linker keep every exported method")
	}
}

func tail(b []byte) []byte { return b[max(0, len(b)-2000):] }
