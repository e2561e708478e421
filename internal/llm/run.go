package llm

import "context"

type runObserverKey struct{}

// WithRunObserver returns a context under which a model that starts a traceable run (a team) calls
// fn with the run's id when the run starts, before any output — so an HTTP handler can name the run
// in a response header and clients can follow its events.
func WithRunObserver(ctx context.Context, fn func(runID string)) context.Context {
	return context.WithValue(ctx, runObserverKey{}, fn)
}

// RunObserver returns the function set by WithRunObserver, or nil.
func RunObserver(ctx context.Context) func(runID string) {
	fn, _ := ctx.Value(runObserverKey{}).(func(string))
	return fn
}
