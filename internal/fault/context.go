package fault

import "context"

// The context errors are named here so CodeOf can classify them without importing callers.
var (
	errCanceled = context.Canceled
	errDeadline = context.DeadlineExceeded
)
