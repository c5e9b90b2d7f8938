package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/barmancloud/barman-cloud/shared/retention"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// The keep annotation of a backup is a small object whose content is the
// recovery target ("full" or "standalone"), at a key built by string
// concatenation, not join (see retention.AnnotationKey). Annotation objects
// carry no tags and no encryption options: Barman's keep tool has none.

// keyOfKeep is backup id's annotation key.
func (c *Catalog) keyOfKeep(id string) string {
	return retention.AnnotationKey(c.Store.Loc.Prefix, c.Server, id)
}

// Keep reads backup id's keep annotation with one GET
// (AnnotationManagerCloud.get_annotation without its cache, as delete -b
// and keep -s do).
func (c *Catalog) Keep(ctx context.Context, id string) (retention.Keep, error) {
	data, err := c.get(ctx, c.keyOfKeep(id))
	if errors.Is(err, storage.ErrNotFound) {
		return retention.NoKeep, nil
	}
	if err != nil {
		return retention.NoKeep, fmt.Errorf("reading the keep annotation of backup %s: %w", id, err)
	}
	return retention.ParseKeep(data), nil
}

// Keeps reads every keep annotation of the server: one recursive listing of
// the annotations' directory, then one GET per annotation found
// (_populate_annotation_cache), so that backups without one cost nothing.
func (c *Catalog) Keeps(ctx context.Context) (map[string]retention.Keep, error) {
	dir := retention.AnnotationsDir(c.Store.Loc.Prefix, c.Server)
	keeps := map[string]retention.Keep{}
	var keys []string
	err := c.Store.Walk(ctx, dir, "", func(o storage.Object) error {
		if id, name, ok := retention.ParseAnnotationKey(o.Key); ok && name == "keep" && o.Key == c.keyOfKeep(id) {
			keys = append(keys, o.Key)
			keeps[id] = retention.NoKeep
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the keep annotations under %s: %w", dir, err)
	}
	for id := range keeps {
		k, err := c.Keep(ctx, id)
		if err != nil {
			return nil, err
		}
		keeps[id] = k
	}
	return keeps, nil
}

// SetKeep writes backup id's keep annotation (target "full" or
// "standalone"), replacing any.
func (c *Catalog) SetKeep(ctx context.Context, id, target string) error {
	key := c.keyOfKeep(id)
	return c.Store.Retry(ctx, "writing "+key, func(ctx context.Context) error {
		return c.Store.Upload(ctx, key, strings.NewReader(target), int64(len(target)), storage.UploadOptions{})
	})
}

// ReleaseKeep deletes backup id's keep annotation; one that does not exist
// is no error.
func (c *Catalog) ReleaseKeep(ctx context.Context, id string) error {
	_, err := c.Store.Delete(ctx, []string{c.keyOfKeep(id)}, 1)
	return err
}
