package localfs

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
)

// unsupportedConformance names the conformance subtests that store keys a
// directory refuses by design (see the package documentation), as a
// -test.skip pattern. drivertest has no switch for them; TestKeys checks
// that these very keys are refused with the documented codes. Every other
// weird key of the suite (backslashes, quotes, control characters, "..\",
// unicode) is stored and passes.
//   - TestListWeirdKeys writes all of escape.WeirdStrings at once;
//   - dotdotslash has ".." components, ascii-1 a NUL byte (both would leave
//     the root); repeatedfwdslashes has "//", and ascii-3 ends with "/"
//     (empty components).
const unsupportedConformance = `^TestConformance$/^TestListWeirdKeys$` +
	`|^TestConformance$/^TestKeys$/^(dotdotslash|ascii-1|repeatedfwdslashes|ascii-3)$`

// conformanceChild is set in the environment of the process that runs the
// suite.
const conformanceChild = "LOCALFS_CONFORMANCE_CHILD"

// TestConformance runs gocloud's driver conformance suite. It runs in a
// child process because only -test.skip can leave out the subtests of
// unsupportedConformance.
func TestConformance(t *testing.T) {
	if os.Getenv(conformanceChild) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConformance$", "-test.skip="+unsupportedConformance, "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), conformanceChild+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("conformance suite: %v\n%s", err, out)
		}
		if testing.Verbose() {
			t.Logf("conformance suite output:\n%s", out)
		}
		return
	}
	drivertest.RunConformanceTests(t, newHarness, nil)
}

type harness struct{ dir string }

func newHarness(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
	return &harness{dir: t.TempDir()}, nil
}

func (h *harness) MakeDriver(context.Context) (driver.Bucket, error) { return openDriver(h.dir) }

func (h *harness) MakeDriverForNonexistentBucket(context.Context) (driver.Bucket, error) {
	return openDriver(filepath.Join(h.dir, "missing"))
}

// HTTPClient is nil: SignedURL is Unimplemented, and the suite skips it.
func (h *harness) HTTPClient() *http.Client { return nil }

// SupportsCopy is false: Copy is Unimplemented (barman-cloud never copies).
func (h *harness) SupportsCopy() bool { return false }

// SupportsNonSlashDelimiters is true: listings group keys by any delimiter.
func (h *harness) SupportsNonSlashDelimiters() bool { return true }

func (h *harness) Close() {}
