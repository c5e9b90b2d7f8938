package localfs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Environment of a writer process of TestConditionalCreateAcrossProcesses.
const (
	raceDirEnv = "LOCALFS_RACE_DIR"
	raceKeyEnv = "LOCALFS_RACE_KEY"
	raceIDEnv  = "LOCALFS_RACE_ID"
)

// raceContent is what writer id writes: distinct for each writer, and big
// enough (4 MiB) that writing and fsyncing it takes a while.
func raceContent(id int) []byte {
	head := fmt.Sprintf("writer %d\n", id)
	return append([]byte(head), bytes.Repeat([]byte{byte('A' + id)}, 4<<20)...)
}

// TestConditionalCreateAcrossProcesses starts writers in separate processes
// (this test binary, re-executed) that create the same key with IfNotExist
// at the same moment, several rounds: exactly one must succeed, the others
// must get FailedPrecondition, and the object must hold the winner's
// content. A per-process lock, or a check before a rename, fails this.
func TestConditionalCreateAcrossProcesses(t *testing.T) {
	if os.Getenv(raceDirEnv) != "" {
		raceWriter()
		return
	}
	const writers, rounds = 12, 4
	b, dir := newBucket(t, nil)
	overlapped := 0
	for round := range rounds {
		key := fmt.Sprintf("pg/wals/0000000100000000/00000001000000000000000%d", round)
		results := make([]string, writers)
		spans := make([][2]time.Time, writers)
		var (
			cmds   []*exec.Cmd
			stdins []io.WriteCloser
			outs   []*bufio.Reader
		)
		for id := range writers {
			cmd := exec.Command(os.Args[0], "-test.run=^TestConditionalCreateAcrossProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), raceDirEnv+"="+dir, raceKeyEnv+"="+key, raceIDEnv+"="+strconv.Itoa(id))
			cmd.Stderr = os.Stderr
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds, stdins, outs = append(cmds, cmd), append(stdins, in), append(outs, bufio.NewReader(out))
		}
		// Each writer has opened the bucket and built its content; closing
		// the pipes releases them together.
		for id, out := range outs {
			if line, err := out.ReadString('\n'); line != "READY\n" {
				t.Fatalf("writer %d: %q, %v", id, line, err)
			}
		}
		for _, in := range stdins {
			in.Close()
		}
		var wg sync.WaitGroup
		for id := range writers {
			wg.Go(func() {
				rest, _ := io.ReadAll(outs[id])
				for _, line := range strings.Split(string(rest), "\n") {
					if r, ok := strings.CutPrefix(line, "RESULT "); ok {
						var start, end int64
						fmt.Sscanf(r, "%d %d %s", &start, &end, &results[id])
						spans[id] = [2]time.Time{time.Unix(0, start), time.Unix(0, end)}
					}
				}
				if err := cmds[id].Wait(); err != nil {
					t.Errorf("writer %d: %v", id, err)
				}
			})
		}
		wg.Wait()
		winner := -1
		for id, r := range results {
			switch r {
			case "created":
				if winner >= 0 {
					t.Errorf("round %d: writers %d and %d both created %s", round, winner, id, key)
				}
				winner = id
			case "FailedPrecondition":
			default:
				t.Errorf("round %d: writer %d: %q", round, id, r)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer created %s: %q", round, key, results)
		}
		got, err := b.ReadAll(context.Background(), key)
		if err != nil || !bytes.Equal(got, raceContent(winner)) {
			t.Errorf("round %d: the object holds %q..., want writer %d's content (%v)", round, got[:min(len(got), 12)], winner, err)
		}
		// Did the writes really overlap? Count the losers that were
		// writing while the winner was.
		w := spans[winner]
		for id, s := range spans {
			if id != winner && s[0].Before(w[1]) && s[1].After(w[0]) {
				overlapped++
			}
		}
	}
	if got := nonDirs(files(t, dir)); len(got) != rounds {
		t.Errorf("files left: %q, want the %d objects only", got, rounds)
	}
	t.Logf("%d of %d losing writes overlapped the winning one", overlapped, rounds*(writers-1))
	if overlapped == 0 {
		t.Error("no writes overlapped: the test did not race")
	}
}

// raceWriter is one writer process: it reports READY, waits for its
// standard input to close, writes, and reports the outcome.
func raceWriter() {
	id, _ := strconv.Atoi(os.Getenv(raceIDEnv))
	content := raceContent(id)
	b, err := OpenBucket(os.Getenv(raceDirEnv))
	if err != nil {
		fmt.Printf("RESULT 0 0 open:%v\n", err)
		return
	}
	defer b.Close()
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin)
	start := time.Now()
	err = b.Upload(context.Background(), os.Getenv(raceKeyEnv), bytes.NewReader(content), &blob.WriterOptions{ContentType: defaultContentType, IfNotExist: true})
	result := "created"
	if err != nil {
		result = gcerrors.Code(err).String()
		if gcerrors.Code(err) != gcerrors.FailedPrecondition {
			result = strings.ReplaceAll(err.Error(), " ", "_")
		}
	}
	fmt.Printf("RESULT %d %d %s\n", start.UnixNano(), time.Now().UnixNano(), result)
}
