// Command gendocs writes barman-cloud's man pages, shell completions and
// the tool-dependent part of its packages from the tools' own definitions
// (tools/all), so that none of them can drift from what the binary parses.
// It is a development tool, not part of the shipped binary.
//
//	go run ./cmd/gendocs           # write man/, completions/ and goreleaser.yaml's generated block
//	go run ./cmd/gendocs -check    # exit 1 if any of them is stale
//	go run ./cmd/gendocs -list     # print the program names, one a line
//
// It writes, for the multi-call binary and each tool program P:
// man/P.1 (section 1, roff), completions/P.fish; and for all of them one
// bash script (completions/barman-cloud.bash) and one zsh function
// (completions/_barman-cloud), plus the nfpm contents between the markers
// of goreleaser.yaml (a symlink per tool, man pages, completions).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/barmancloud/barman-cloud/shared/cloudcli"
	"github.com/barmancloud/barman-cloud/tools/all"
)

const goreleaserFile = "goreleaser.yaml"

// generatedDirs are owned by the generator: a file there that it does not
// generate is stale (a removed tool's page).
var generatedDirs = []string{"man", "completions"}

// generate returns every generated file by path relative to the
// repository root; goreleaser is the current goreleaser.yaml.
func generate(tools []*cloudcli.Tool, goreleaser []byte) (map[string][]byte, error) {
	files := map[string][]byte{
		manFile(cloudcli.MultiCall):  []byte(multiMan(tools)),
		fishFile(cloudcli.MultiCall): []byte(fishMulti(tools)),
		bashFile:                     []byte(bashScript(tools)),
		zshFile:                      []byte(zshScript(tools)),
	}
	for _, t := range tools {
		files[manFile(t.Prog())] = []byte(toolMan(t, tools))
		files[fishFile(t.Prog())] = []byte(fishTool(t))
	}
	y, err := spliceContents(goreleaser, tools)
	if err != nil {
		return nil, err
	}
	files[goreleaserFile] = y
	return files, nil
}

// stale compares root with the generated files and returns the paths that
// differ, are missing, or should not be there.
func stale(root string, files map[string][]byte) ([]string, error) {
	var out []string
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil || !bytes.Equal(got, want) {
			out = append(out, path)
		}
	}
	extra, err := extraFiles(root, files)
	if err != nil {
		return nil, err
	}
	out = append(out, extra...)
	sort.Strings(out)
	return out, nil
}

// extraFiles lists the files in the generated directories that are not
// generated.
func extraFiles(root string, files map[string][]byte) ([]string, error) {
	var out []string
	for _, dir := range generatedDirs {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			p := dir + "/" + e.Name()
			// man/*.1.gz are the release's compressed copies (git-ignored).
			if _, ok := files[p]; !ok && !strings.HasSuffix(p, ".1.gz") {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// write writes the generated files under root and removes the stale ones.
func write(root string, files map[string][]byte) error {
	extra, err := extraFiles(root, files)
	if err != nil {
		return err
	}
	for _, p := range extra {
		if err := os.RemoveAll(filepath.Join(root, p)); err != nil {
			return err
		}
	}
	for path, data := range files {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if old, err := os.ReadFile(full); err == nil && bytes.Equal(old, data) {
			continue
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	root := flag.String("root", ".", "the repository root")
	check := flag.Bool("check", false, "report stale generated files instead of writing them (exit status 1)")
	list := flag.Bool("list", false, "print the program names (the multi-call binary first) and exit")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "gendocs: no arguments expected; see -h")
		os.Exit(2)
	}
	if err := run(*root, *check, *list); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run(root string, check, list bool) error {
	if list {
		for _, p := range append([]string{cloudcli.MultiCall}, progs(all.Tools)...) {
			fmt.Println(p)
		}
		return nil
	}
	y, err := os.ReadFile(filepath.Join(root, goreleaserFile))
	if err != nil {
		return err
	}
	files, err := generate(all.Tools, y)
	if err != nil {
		return err
	}
	if !check {
		return write(root, files)
	}
	s, err := stale(root, files)
	if err != nil {
		return err
	}
	if len(s) > 0 {
		return fmt.Errorf("stale generated files (run: go run ./cmd/gendocs): %s", strings.Join(s, ", "))
	}
	return nil
}
