//go:build integration

package storagetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// maxBatch is each provider's most keys per delete request.
var maxBatch = map[string]int{"s3": 1000, "azure": 256, "gcs": 100}

// TestDelete deletes 2500 objects in batches of the provider's most, and
// 300 in batches of 3, counting the requests at a proxy; deleting them
// again succeeds (they are gone already).
func TestDelete(t *testing.T) {
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			direct := open(t, tg, prefix, "", noRetries)
			px, s := proxied(t, tg, prefix, noRetries)
			for _, tc := range []struct {
				n, batch, requests int
			}{
				{2500, maxBatch[tg.Name], ceil(2500, maxBatch[tg.Name])},
				{300, 3, 100},
			} {
				keys := make([]string, tc.n)
				for i := range keys {
					keys[i] = fmt.Sprintf("%s/%d/wals/%08X/%04d", prefix, tc.batch, i/256, i)
				}
				uploadMany(t, direct, keys)
				before := px.Requests()
				deleted, err := s.Delete(context.Background(), keys, tc.batch)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(deleted, keys) {
					t.Errorf("deleted %d keys, want the %d given, in order", len(deleted), len(keys))
				}
				if got := px.Requests() - before; got != tc.requests {
					t.Errorf("%d keys in batches of %d: %d requests, want %d", tc.n, tc.batch, got, tc.requests)
				}
				if left := tg.Keys(t, fmt.Sprintf("%s/%d/", prefix, tc.batch)); len(left) > 0 {
					t.Errorf("%d objects left, %s first", len(left), left[0])
				}
				again, err := s.Delete(context.Background(), keys[:10], tc.batch)
				if err != nil || len(again) != 10 {
					t.Errorf("deleting again: %d deleted, %v", len(again), err)
				}
			}
		})
	}
}

func ceil(a, b int) int { return (a + b - 1) / b }

// TestDeletePrefix deletes every object under a "directory" in batches,
// and nothing beside it.
func TestDeletePrefix(t *testing.T) {
	for _, tg := range oracle.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			prefix := harness.UniquePrefix(t)
			s := open(t, tg, prefix, "", noRetries)
			var under, beside []string
			for i := range 30 {
				under = append(under, fmt.Sprintf("%s/wals/0000000100000001/%024X", prefix, i))
			}
			for i := range 3 {
				beside = append(beside, fmt.Sprintf("%s/wals/0000000100000002/%024X", prefix, i))
			}
			uploadMany(t, s, slices.Concat(under, beside))
			deleted, err := s.DeletePrefix(context.Background(), prefix+"/wals/0000000100000001/", 7)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(deleted, under) {
				t.Errorf("deleted %q, want %q", deleted, under)
			}
			if left := tg.Keys(t, prefix+"/"); !slices.Equal(left, beside) {
				t.Errorf("left %q, want %q", left, beside)
			}
		})
	}
}
