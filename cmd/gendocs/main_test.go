package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/shared/compress"
	"github.com/barmancloud/barman-cloud/tools/all"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

func generated(t *testing.T) map[string][]byte {
	t.Helper()
	y, err := os.ReadFile(filepath.Join(repoRoot, goreleaserFile))
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(all.Tools, y)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCommittedFilesAreCurrent regenerates everything into a temporary
// directory and compares it with the committed man/, completions/ and
// goreleaser.yaml.
func TestCommittedFilesAreCurrent(t *testing.T) {
	dir := t.TempDir()
	y, err := os.ReadFile(filepath.Join(repoRoot, goreleaserFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, goreleaserFile), y, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, false, false); err != nil {
		t.Fatal(err)
	}
	var stale []string
	for _, sub := range append([]string{goreleaserFile}, generatedDirs...) {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			want, _ := os.ReadFile(path)
			got, err := os.ReadFile(filepath.Join(repoRoot, rel))
			if err != nil || !bytes.Equal(got, want) {
				stale = append(stale, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// And nothing more: a removed tool's page is stale too.
	extra, err := extraFiles(repoRoot, generated(t))
	if err != nil {
		t.Fatal(err)
	}
	stale = append(stale, extra...)
	if len(stale) > 0 {
		t.Errorf("generated files are stale: %s\nrun: go run ./cmd/gendocs (from the repository root) and commit the result", strings.Join(stale, ", "))
	}
}

// TestEveryToolIsPackaged checks, for every tool of tools/all, what an
// operator gets from the package: a symlink, a man page and completions
// in every shell.
func TestEveryToolIsPackaged(t *testing.T) {
	if len(all.Tools) == 0 {
		t.Fatal("tools/all lists no tool")
	}
	files := generated(t)
	yaml := string(files[goreleaserFile])
	bash := string(files[bashFile])
	zsh := string(files[zshFile])
	zshNames := strings.Fields(strings.TrimPrefix(strings.SplitN(zsh, "\n", 2)[0], "#compdef "))
	for _, p := range append([]string{cloudcli.MultiCall}, progs(all.Tools)...) {
		t.Run(p, func(t *testing.T) {
			want := []string{
				"dst: " + manDir + "/" + p + ".1.gz,",
				"dst: " + bashDir + "/" + p + ",",
				"dst: " + fishDir + "/" + p + ".fish,",
			}
			if p != cloudcli.MultiCall {
				want = append(want, "{src: "+cloudcli.MultiCall+", dst: "+binDir+"/"+p+", type: symlink}")
			}
			for _, w := range want {
				if !strings.Contains(yaml, w) {
					t.Errorf("goreleaser.yaml has no %q", w)
				}
			}
			for _, f := range []string{manFile(p), fishFile(p)} {
				if len(files[f]) == 0 {
					t.Errorf("%s is not generated", f)
				}
			}
			if !regexp.MustCompile(`(?m)^complete -o default -F _barman_cloud .*\b` + regexp.QuoteMeta(p) + `( |$)`).MatchString(bash) {
				t.Errorf("the bash completion is not registered for %s", p)
			}
			if !slices.Contains(zshNames, p) {
				t.Errorf("the zsh completion's #compdef line does not name %s: %v", p, zshNames)
			}
		})
	}
}

// TestManPages checks that each tool's page documents every option, exit
// status, environment variable and example of its definition.
func TestManPages(t *testing.T) {
	files := generated(t)
	for _, tool := range all.Tools {
		t.Run(tool.Name, func(t *testing.T) {
			page := string(files[manFile(tool.Prog())])
			c := toolCommand(tool)
			var want []string
			for _, o := range c.options() {
				for _, s := range o.strings() {
					want = append(want, bold(s))
				}
				for _, v := range o.choices {
					want = append(want, bold(v))
				}
			}
			for _, e := range tool.ExitStatus {
				want = append(want, ".TP\n"+bold(fmt.Sprint(e.Code))+"\n")
			}
			for _, v := range tool.Environment {
				want = append(want, envNames(v.Name))
			}
			for _, pe := range providerEnvs {
				for _, v := range pe.vars {
					want = append(want, envNames(v.Name))
				}
			}
			for _, e := range tool.Examples {
				want = append(want, ".EX\n"+textLine(roff(e.Command))+"\n.EE")
			}
			for _, w := range want {
				if !strings.Contains(page, w) {
					t.Errorf("%s does not contain %q", manFile(tool.Prog()), w)
				}
			}
			for _, section := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "ENVIRONMENT", "EXAMPLES", "SEE ALSO"} {
				if !strings.Contains(page, "\n.SH "+quoted(section)+"\n") {
					t.Errorf("%s has no %s section", manFile(tool.Prog()), section)
				}
			}
			// whatis/lexgrog read "name \- summary" from NAME.
			if !strings.Contains(page, ".SH \"NAME\"\n"+roff(tool.Prog())+` \- `) {
				t.Errorf("%s: NAME is not %q", manFile(tool.Prog()), tool.Prog()+` \- ...`)
			}
		})
	}
}

func TestRoff(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"--gzip", `\-\-gzip`},
		{`C:\path`, `C:\epath`},
		{"plain text", "plain text"},
	} {
		if got := roff(tt.in); got != tt.want {
			t.Errorf("roff(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{".gz files", `\&.gz files`},
		{"'quoted'", `\&'quoted'`},
		{"a.b", "a.b"},
	} {
		if got := textLine(tt.in); got != tt.want {
			t.Errorf("textLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var w manWriter
	w.text(strings.Repeat("word ", 40) + ".starts-a-line-maybe")
	for _, l := range strings.Split(strings.TrimSuffix(w.b.String(), "\n"), "\n") {
		if len(l) > manWidth || strings.HasPrefix(l, ".") {
			t.Errorf("text line %q is longer than %d or a request", l, manWidth)
		}
	}
}

// TestBashCompletion runs the generated bash script the way bash runs it
// on Tab (COMP_LINE and COMP_POINT) and checks the candidates.
func TestBashCompletion(t *testing.T) {
	script := string(generated(t)[bashFile])
	type tc struct{ line, want string }
	var cases []tc
	var names []string
	for _, tool := range all.Tools {
		names = append(names, tool.Name)
	}
	cases = append(cases,
		tc{"barman-cloud ", strings.Join(names, " ")},
		tc{"barman-cloud -", "-V --version --help"},
		// Concrete cases of the options the issue names.
		tc{"barman-cloud-wal-archive --cloud-provider a", "aws-s3 azure-blob-storage"},
		tc{"barman-cloud wal-archive --cloud-provider=g", "google-cloud-storage"},
		tc{"barman-cloud-wal-archive -e A", "AES256"},
		tc{"barman-cloud-wal-archive --encryption=aws:", "kms"},
		tc{"barman-cloud-wal-archive --encryption=a", "aws:kms"},
		tc{"barman-cloud-wal-archive --azure-credential ", "azure-cli managed-identity default"},
		tc{"barman-cloud-wal-archive --credential m", "managed-identity"},
		tc{"barman-cloud-wal-archive --default d", "default"},
		tc{"barman-cloud-wal-archive --compression-level ", "low medium high"},
		tc{"/usr/bin/barman-cloud-wal-archive --gz", "--gzip"},
		tc{"barman-cloud -v wal-archive -v --q", "--quiet"},
		tc{"barman-cloud-wal-archive -P ", ""},
		tc{"barman-cloud-wal-archive s3://b/p srv ", ""},
	)
	// Every tool, by both names: all its options, and each option's values.
	for _, tool := range all.Tools {
		c := toolCommand(tool)
		for _, prefix := range []string{tool.Prog(), cloudcli.MultiCall + " " + tool.Name} {
			var opts []string
			for _, o := range c.options() {
				opts = append(opts, o.strings()...)
				if len(o.values) == 0 {
					continue
				}
				for _, s := range o.strings() {
					cases = append(cases, tc{prefix + " " + s + " ", strings.Join(o.values, " ")})
					if strings.HasPrefix(s, "--") {
						cases = append(cases, tc{prefix + " " + s + "=", strings.Join(o.values, " ")})
					}
				}
			}
			cases = append(cases, tc{prefix + " -", strings.Join(opts, " ")})
		}
	}

	var b strings.Builder
	b.WriteString(script)
	b.WriteString("\ncomplete -p barman-cloud " + strings.Join(progs(all.Tools), " ") + " >/dev/null || exit 1\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "COMP_LINE=%s; COMP_POINT=${#COMP_LINE}; _barman_cloud; echo \"${COMPREPLY[*]}\"\n", shQuote(c.line))
	}
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", b.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(cases) {
		t.Fatalf("bash printed %d lines for %d cases:\n%s", len(got), len(cases), out)
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("completing %q: got %q, want %q", c.line, got[i], c.want)
		}
	}
}

// TestProviderEnvDocumented checks that the man pages document every
// environment variable shared/storage reads itself.
func TestProviderEnvDocumented(t *testing.T) {
	var documented []string
	for _, pe := range providerEnvs {
		for _, v := range pe.vars {
			for _, n := range strings.Split(v.Name, ",") {
				documented = append(documented, strings.TrimSpace(n))
			}
		}
	}
	srcs, err := filepath.Glob(filepath.Join(repoRoot, "shared/storage/*.go"))
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no shared/storage sources: %v", err)
	}
	read := regexp.MustCompile(`(?:getenv|Getenv|LookupEnv)\("([A-Z][A-Z0-9_]*)"\)`)
	found := 0
	for _, src := range srcs {
		if strings.HasSuffix(src, "_test.go") {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range read.FindAllStringSubmatch(string(data), -1) {
			found++
			if !slices.Contains(documented, m[1]) {
				t.Errorf("%s reads %s, which the man pages' ENVIRONMENT does not document (cmd/gendocs/env.go)", filepath.Base(src), m[1])
			}
		}
	}
	if found == 0 {
		t.Error("found no environment variable read in shared/storage: the pattern is out of date")
	}
}

// TestValueHints checks that every completion hint names an option some
// tool has, and is a value that option accepts.
func TestValueHints(t *testing.T) {
	for name, values := range valueHints {
		seen := false
		for _, tool := range all.Tools {
			for _, o := range toolCommand(tool).options() {
				seen = seen || o.name == name
			}
		}
		if !seen {
			t.Errorf("valueHints names %q, which no tool has", name)
		}
		if name == "compression-level" {
			for _, v := range values {
				if _, err := compress.ParseLevel(v); err != nil {
					t.Errorf("--compression-level %s: %v", v, err)
				}
			}
		}
	}
}

// TestOptionsMatchHelp checks that the man pages and completions show
// every option as --help does (names, value placeholder, choices): both
// read it through cloudcli.DescribeFlag, and render it each their own way.
func TestOptionsMatchHelp(t *testing.T) {
	for _, tool := range all.Tools {
		var help strings.Builder
		if err := cloudcli.WriteHelp(&help, tool, tool.Prog()); err != nil {
			t.Fatal(err)
		}
		for _, o := range toolCommand(tool).options() {
			inv := strings.Join(o.strings(), ", ")
			switch {
			case o.choices != nil:
				inv += " {" + strings.Join(o.choices, ",") + "}"
			case o.nargs:
				inv += " [" + o.metavar + "]"
			case o.metavar != "":
				inv += " " + o.metavar
			}
			if !strings.Contains(help.String(), "\n  "+inv+" ") && !strings.Contains(help.String(), "\n  "+inv+"\n") {
				t.Errorf("%s --help does not show %q", tool.Prog(), inv)
			}
		}
	}
}
