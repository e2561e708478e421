package app

import (
	"context"

	"github.com/seance-dev/seance/internal/home"
)

// InitHome creates the seance home at the configured folder, or completes an existing one (see
// home.Init), and reports what it did.
func (a *App) InitHome(ctx context.Context) (*home.InitReport, error) {
	return home.Init(ctx, a.cfg.Home)
}

// Home loads the seance home from the configured folder. The files are read on every call, so edits
// made by hand are seen. On a validation error it returns the valid part of the home with the error.
func (a *App) Home() (*home.Home, error) {
	return home.Load(a.cfg.Home)
}
