//go:build integration

package e2e

import (
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
