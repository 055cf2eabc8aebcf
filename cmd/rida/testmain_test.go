package main

import (
	"os"
	"testing"
)

// runMainEnv, set to 1 in the environment of this test binary, makes it run
// rida's main with its arguments instead of the tests: the end-to-end
// tests start "rida serve" as a real subprocess this way (to kill -9 it),
// without building the binary separately.
const runMainEnv = "RIDA_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main() // exits
		return
	}
	os.Exit(m.Run())
}
