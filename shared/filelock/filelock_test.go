package filelock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTryAcquireHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	a, err := TryAcquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if !Held(path) {
		t.Fatal("Held is false while the lock is held")
	}
	// flock locks belong to the open file description: a second open in
	// this process contends as another process would.
	if _, err := TryAcquire(path); !errors.Is(err, ErrHeld) {
		t.Fatalf("second TryAcquire: %v, want ErrHeld", err)
	}
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
	if Held(path) {
		t.Fatal("Held after Unlock")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Unlock removed the file: %v", err)
	}
}

// TestAcquireWaitsThenFollowsTheName: a waiter that opened the file
// before the holder removed it (Release) ends up holding the file under
// the name, not the removed one, and so does a third process meanwhile.
func TestAcquireWaitsThenFollowsTheName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	a, err := TryAcquire(path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Lock)
	go func() {
		l, err := Acquire(context.Background(), path)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	select {
	case <-got:
		t.Fatal("Acquire did not wait for the holder")
	case <-time.After(50 * time.Millisecond):
	}
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	b := <-got
	if !same(b.f, path) {
		t.Fatal("the waiter holds a file that is no longer under the name")
	}
	if _, err := TryAcquire(path); !errors.Is(err, ErrHeld) {
		t.Fatalf("a third locker got %v while the waiter holds the lock", err)
	}
	b.Release()
}

func TestAcquireCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	a, err := TryAcquire(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire: %v, want the deadline", err)
	}
}

func TestHeldWithoutFile(t *testing.T) {
	if Held(filepath.Join(t.TempDir(), "none")) {
		t.Fatal("Held on a missing file")
	}
}
