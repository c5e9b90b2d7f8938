package gcsrest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/api/googleapi"
)

// MaxBatch is the most requests the JSON API takes in one batch.
const MaxBatch = 100

// DeleteObjects deletes keys from bucket with one batch request
// (https://cloud.google.com/storage/docs/batch): a multipart/mixed body
// holding one DELETE per key, answered by a multipart/mixed body holding
// one answer per key. The generated client has no batch support; the
// request and its answer are read and written with mime/multipart and
// net/http. It returns one error per key, nil for a key deleted; a key
// that does not exist gets its 404 (*googleapi.Error). The request is made
// once.
func (c *Client) DeleteObjects(ctx context.Context, bucket string, keys []string) ([]error, error) {
	if len(keys) == 0 || len(keys) > MaxBatch {
		return nil, fmt.Errorf("gcsrest: a batch holds 1 to %d requests, not %d", MaxBatch, len(keys))
	}
	host := c.endpoint[strings.Index(c.endpoint, "://")+3:]
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i, k := range keys {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/http")
		h.Set("Content-Transfer-Encoding", "binary")
		h.Set("Content-ID", "<"+strconv.Itoa(i+1)+">")
		pw, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(pw, "DELETE /storage/v1/b/%s/o/%s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n",
			url.PathEscape(bucket), url.PathEscape(k), host)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/batch/storage/v1", &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	res, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer drain(res)
	if err := googleapi.CheckResponse(res); err != nil {
		return nil, err
	}
	return readBatchAnswer(res, len(keys))
}

// readBatchAnswer reads the answer to a batch of n requests: each part's
// Content-ID ("<response-N>") names the request it answers.
func readBatchAnswer(res *http.Response, n int) ([]error, error) {
	mt, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("gcsrest: a batch answer of type %q", res.Header.Get("Content-Type"))
	}
	errs := make([]error, n)
	seen := make([]bool, n)
	mr := multipart.NewReader(res.Body, params["boundary"])
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("gcsrest: reading a batch answer: %w", err)
		}
		id := strings.Trim(p.Header.Get("Content-ID"), "<>")
		if rest, ok := strings.CutPrefix(id, "response-"); ok {
			if k, err := strconv.Atoi(rest); err == nil {
				i = k - 1
			}
		}
		if i < 0 || i >= n || seen[i] {
			return nil, fmt.Errorf("gcsrest: a batch answer for request %q of %d", id, n)
		}
		sub, err := http.ReadResponse(bufio.NewReader(p), nil)
		if err != nil {
			return nil, fmt.Errorf("gcsrest: reading a batch answer: %w", err)
		}
		seen[i] = true
		errs[i] = googleapi.CheckResponse(sub)
		sub.Body.Close()
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("gcsrest: the batch answer has no answer for request %d of %d", i+1, n)
		}
	}
	return errs, nil
}
