//go:build !race

package sqlite

// raceEnabled reports a build with the race detector, under which SQLite runs many times slower.
const raceEnabled = false
