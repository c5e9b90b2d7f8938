//go:build integration

package storagetest

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/test/harness"
	"github.com/barmancloud/barman-cloud/test/oracle"
)

// BenchmarkWriter measures the Writer's throughput to the loopback MinIO:
// a 256 MiB object of incompressible bytes in the parts of an archive of
// at most 100 GB (Barman's default -S: 20.5 MiB), with 1, 2 and 4 jobs.
// Run: go test -tags integration -run '^$' -bench Writer ./test/storage/
func BenchmarkWriter(b *testing.B) {
	tg := oracle.S3(b)
	data := make([]byte, 256<<20)
	rand.New(rand.NewSource(2)).Read(data)
	for _, jobs := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			prefix := harness.UniquePrefix(b)
			s := open(b, tg, prefix, "", storage.Options{})
			o := storage.WriteOptions{PartSize: storage.PartSize(storage.S3, 100<<30, 0), Jobs: jobs}
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for i := range b.N {
				if err := write(context.Background(), s, fmt.Sprintf("%s/%d", prefix, i), data, o); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if _, err := s.DeletePrefix(context.Background(), prefix+"/", 0); err != nil {
				b.Fatal(err)
			}
		})
	}
}
