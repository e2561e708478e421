//go:build race

package rating

// raceEnabled is set when the tests run under the race detector, which slows the simulations
// about tenfold; they then use fewer resamples under -short.
const raceEnabled = true
