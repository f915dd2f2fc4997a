//go:build race

package app_test

// raceDetector is true under -race, which slows the worker several times:
// wall-clock goals are logged but not asserted then.
const raceDetector = true
