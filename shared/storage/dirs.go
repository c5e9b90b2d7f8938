package storage

import (
	"context"

	"gocloud.dev/blob"
)

// ListDirs returns the "directories" right below prefix (which ends with
// "/"): the common prefixes of a listing with delimiter "/", each ending
// in "/", in the provider's order. Barman lists backups this way
// (list_bucket(BASE + "/") keeping the entries that end in "/").
func (s *Store) ListDirs(ctx context.Context, prefix string) ([]string, error) {
	var dirs []string
	err := s.walkListing(ctx, prefix, "/", func(o *blob.ListObject) error {
		if o.IsDir {
			dirs = append(dirs, o.Key)
		}
		return nil
	})
	return dirs, err
}
