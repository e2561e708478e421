package cli

import (
	"context"
	"slices"

	"github.com/seance-dev/seance/internal/app"
)

// toolMemory opens the memory store for a run's tools when an agent of the home lists recall or
// remember, and returns nil otherwise (the tools are then not offered, and such an agent fails to
// resolve with the unknown tool named). The caller closes the store.
func toolMemory(ctx context.Context, a *app.App) (app.MemoryStore, error) {
	h, _ := a.Home() // a home with invalid files still lists its valid agents
	if h == nil {
		return nil, nil
	}
	for _, ag := range h.Agents() {
		if slices.Contains(ag.Tools, "recall") || slices.Contains(ag.Tools, "remember") {
			return a.OpenMemory(ctx)
		}
	}
	return nil, nil
}
