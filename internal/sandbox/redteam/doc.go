// Package redteam holds seance's red-team suite for the sandbox (issue 5, docs/SECURITY.md): attack
// programs in several languages under testdata/attacks, and a test harness that runs each one as a
// real run tool call through tool.Runtime (policy files, workspace snapshots and commits, the audit
// entry written by the runtime, the process started by internal/tool/builtin through sandbox.Run, with
// the network proxy for the attacks whose policy grants hosts), and judges it by its effect as seen
// from the host (planted files, listeners, the process table, the workspace's history, the audit log),
// never by the message the attack prints.
//
// TestRedTeam runs the suite as root; TestRedTeamNonRoot runs it again as uid 65534, where the sandbox
// uses a user namespace and no cgroups (the test binary re-runs itself as that uid).
//
// The package has no non-test code; it exists for its tests. Run it as root (CI does):
//
//	go test ./internal/sandbox/redteam
//	go test ./internal/sandbox/redteam -update   # rewrite the results table in docs/SECURITY.md
package redteam
