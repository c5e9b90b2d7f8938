//go:build integration

package integration

import (
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
