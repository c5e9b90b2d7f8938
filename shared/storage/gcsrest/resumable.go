package gcsrest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/storage/v1"
)

// ChunkQuantum is what every chunk of a resumable upload but the last must
// be a multiple of.
const ChunkQuantum = 256 << 10

// ResumableOptions are the attributes of an object written by a resumable
// upload.
type ResumableOptions struct {
	ContentType string
	// Metadata is custom metadata, keys as given.
	Metadata map[string]string
	// KMSKeyName encrypts the object with this Cloud KMS key.
	KMSKeyName string
	// IfNotExist makes the upload a conditional create
	// (ifGenerationMatch=0): its last request fails with 412 when the name
	// is taken by then.
	IfNotExist bool
}

// Upload is a resumable upload session: an object sent in chunks, in
// order, each in its own request, that appears only when the last chunk
// is stored (https://cloud.google.com/storage/docs/performing-resumable-uploads).
// Each method call is one attempt, made once: the caller retries.
//
// After a request that failed, the session may hold part of the chunk,
// all of it, or none: the next WriteChunk asks the session how much it
// holds (a status check) and sends the rest of the chunk from there. The
// fake-gcs-server emulator finalizes the object on a status check (seen
// with v1.56.1), so on an emulator (STORAGE_EMULATOR_HOST) the chunk is
// sent again whole from its start instead, as Google's Go client does; an
// emulator that had stored the failed chunk all the same would end with
// the chunk twice, which the CRC32C check of the finished object reports.
type Upload struct {
	c      *Client
	bucket string
	key    string
	uri    string

	persisted int64 // bytes the session holds, as last reported
	uncertain bool  // the last request failed: persisted may be stale
	crc       hash.Hash32
	crcEnd    int64 // the CRC32C covers the object's bytes up to here
	obj       *storage.Object
}

// StartUpload opens a resumable upload session for key in bucket.
func (c *Client) StartUpload(ctx context.Context, bucket, key string, o ResumableOptions) (*Upload, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	q := url.Values{"uploadType": {"resumable"}, "name": {key}}
	if o.IfNotExist {
		q.Set("ifGenerationMatch", "0")
	}
	if o.KMSKeyName != "" {
		q.Set("kmsKeyName", o.KMSKeyName)
	}
	body, err := json.Marshal(&storage.Object{Name: key, ContentType: o.ContentType, Metadata: o.Metadata})
	if err != nil {
		return nil, err
	}
	u := c.endpoint + "/upload/storage/v1/b/" + url.PathEscape(bucket) + "/o?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	if o.ContentType != "" {
		req.Header.Set("X-Upload-Content-Type", o.ContentType)
	}
	res, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer drain(res)
	if err := googleapi.CheckResponse(res); err != nil {
		return nil, err
	}
	loc := res.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("gcsrest: the resumable upload of %q was opened without a session URI", key)
	}
	return &Upload{c: c, bucket: bucket, key: key, uri: loc, crc: crc32.New(castagnoli)}, nil
}

// Object is the stored object, once the last chunk is.
func (u *Upload) Object() *storage.Object { return u.obj }

// WriteChunk stores data at offset off of the object; the last chunk
// (final) may be empty and finalizes the object. Chunks must come in
// order, each starting where the previous one ended, and all but the last
// must be multiples of ChunkQuantum. A chunk is sent again after a failure
// by calling WriteChunk again with the same arguments.
func (u *Upload) WriteChunk(ctx context.Context, off int64, data []byte, final bool) error {
	end := off + int64(len(data))
	if off == u.crcEnd {
		u.crc.Write(data)
		u.crcEnd = end
	} else if off > u.crcEnd || end != u.crcEnd {
		return fmt.Errorf("gcsrest: chunk at %d-%d of %q out of order (the previous one ended at %d)", off, end, u.key, u.crcEnd)
	}
	if u.uncertain && !u.c.emulator {
		if err := u.status(ctx, final, end); err != nil {
			return err
		}
	}
	for {
		if u.obj != nil {
			return u.checkFinal(ctx, final, end)
		}
		switch {
		case u.persisted < off:
			return fmt.Errorf("gcsrest: the upload session of %q holds %d bytes, fewer than the %d sent before this chunk", u.key, u.persisted, off)
		case u.persisted > end:
			return fmt.Errorf("gcsrest: the upload session of %q holds %d bytes, more than the %d sent", u.key, u.persisted, end)
		case u.persisted == end && !final:
			return nil
		}
		before := u.persisted
		if err := u.send(ctx, data[u.persisted-off:], u.persisted, final, end); err != nil {
			return err
		}
		if u.obj == nil && u.persisted <= before && (u.persisted < end || final) {
			u.uncertain = true
			return fmt.Errorf("gcsrest: the upload session of %q stored nothing of the %d bytes sent at %d", u.key, end-before, before)
		}
	}
}

// send makes one request with the bytes of the object from off (data) up
// to end, and records what the session says it holds.
func (u *Upload) send(ctx context.Context, data []byte, off int64, final bool, end int64) error {
	total := "*"
	if final {
		total = strconv.FormatInt(end, 10)
	}
	rng := "bytes */" + total
	if len(data) > 0 {
		rng = fmt.Sprintf("bytes %d-%d/%s", off, end-1, total)
	}
	return u.put(ctx, bytes.NewReader(data), int64(len(data)), rng)
}

// status asks the session how much of the object it holds (a request with
// no data).
func (u *Upload) status(ctx context.Context, final bool, end int64) error {
	total := "*"
	if final {
		total = strconv.FormatInt(end, 10)
	}
	return u.put(ctx, http.NoBody, 0, "bytes */"+total)
}

// put sends one request to the session and reads its answer: 308 (or 200
// with X-Http-Status-Code-Override: 308, asked for by X-GUploader-No-308)
// with the range the session holds, or 200/201 with the finished object.
func (u *Upload) put(ctx context.Context, body io.Reader, n int64, rng string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.uri, body)
	if err != nil {
		return err
	}
	req.ContentLength = n
	req.Header.Set("Content-Range", rng)
	req.Header.Set("X-GUploader-No-308", "yes")
	u.uncertain = true
	res, err := u.c.do(req)
	if err != nil {
		return err
	}
	defer drain(res)
	incomplete := res.StatusCode == http.StatusPermanentRedirect || res.Header.Get("X-Http-Status-Code-Override") == "308"
	switch {
	case incomplete:
		held, err := heldRange(res.Header.Get("Range"))
		if err != nil {
			return err
		}
		u.persisted, u.uncertain = held, false
		return nil
	case res.StatusCode == http.StatusOK || res.StatusCode == http.StatusCreated:
		obj := new(storage.Object)
		if err := json.NewDecoder(res.Body).Decode(obj); err != nil {
			return fmt.Errorf("gcsrest: reading the object the upload of %q made: %w", u.key, err)
		}
		u.obj, u.uncertain = obj, false
		return nil
	}
	return googleapi.CheckResponse(res)
}

// heldRange reads the Range of a 308 answer, "bytes=0-N": the session
// holds N+1 bytes (none without the header).
func heldRange(h string) (int64, error) {
	if h == "" {
		return 0, nil
	}
	last, ok := strings.CutPrefix(h, "bytes=0-")
	n, err := strconv.ParseInt(last, 10, 64)
	if !ok || err != nil || n < -1 {
		return 0, fmt.Errorf("gcsrest: unexpected Range %q in an upload answer", h)
	}
	return n + 1, nil
}

// checkFinal checks the object the session made: it must come after the
// last chunk, have the size sent and the CRC32C of what was sent.
func (u *Upload) checkFinal(ctx context.Context, final bool, end int64) error {
	if !final {
		return fmt.Errorf("gcsrest: the upload of %q was finalized before its last chunk", u.key)
	}
	if int64(u.obj.Size) != end {
		return u.c.discard(ctx, u.bucket, u.key, u.obj, fmt.Sprintf("gcsrest: %q was stored with %d bytes, not the %d sent", u.key, u.obj.Size, end))
	}
	return u.c.checkStored(ctx, u.bucket, u.key, u.obj, u.crc.Sum32())
}

// Cancel ends the session: nothing it holds is stored. GCS answers 499.
func (u *Upload) Cancel(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.uri, nil)
	if err != nil {
		return err
	}
	res, err := u.c.do(req)
	if err != nil {
		return err
	}
	defer drain(res)
	switch res.StatusCode {
	case 499, http.StatusNoContent, http.StatusOK, http.StatusNotFound, http.StatusGone:
		return nil
	}
	return googleapi.CheckResponse(res)
}

// do sends req with the client's credentials and user agent.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", userAgent)
	return c.hc.Do(req)
}

// drain reads what is left of an answer, so its connection is reused.
func drain(res *http.Response) {
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
}
