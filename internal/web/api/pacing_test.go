package api

import (
	"testing"
	"time"
)

// SetExportPacing shortens, for the test, how long a CSV download may go
// without progress, renewed every progress rows.
func SetExportPacing(t testing.TB, progress int, stall time.Duration) {
	p, s := exportProgress, exportStall
	exportProgress, exportStall = progress, stall
	t.Cleanup(func() { exportProgress, exportStall = p, s })
}
