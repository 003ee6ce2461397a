// Package e2e tests assistd from the outside: real servers on a real
// PostgreSQL, real HTTP/2, over every protocol.
package e2e

import (
	"os"
	"testing"

	"github.com/assist-chat/assist/server/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	upgradeRemoveApps() // the customer app built by the upgrade tests
	os.Exit(code)
}
