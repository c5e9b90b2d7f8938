//go:build integration

package gcsdriver

import (
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
