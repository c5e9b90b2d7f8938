package walobject

import (
	"bytes"
	"encoding/hex"
	"fmt"
)

// Ignored is an archived copy of a WAL that Arbitrate passed over, and why.
type Ignored struct {
	Candidate
	Reason string
}

// Arbitrate chooses, among copies (see Copies: one WAL name under several
// compression suffixes, in listing order) whose recorded digests are
// digests (nil for a copy without one), the one a restore serves; chosen
// is the copy Select chose.
//
// When every copy records the same digest, they hold one content and
// Select's choice (Barman's) stands. Otherwise, or when a content cannot be
// known without downloading it (no digest: written by Barman, or metadata
// lost), the copy served is the one the storage recorded first: the
// earliest ModTime, ties broken by key order, never the suffix order alone.
// barman-cloud-wal-archive reports a WAL archived only when, after its
// object was stored, no copy with other content was listed (see package
// walarchive), so the copy reported archived was stored before any other
// content: where the storage stamps objects when it commits them (GCS,
// Azure, a directory) the first recorded is that copy. An S3 server may
// stamp an object when its upload starts: there a copy left by an archiver
// killed between storing its object and removing it, after losing, can
// look older, and be served instead.
//
// ignored lists the other copies whose content differs from the one served
// or cannot be compared with it, with the reason, for a warning.
func Arbitrate(copies []Candidate, digests [][]byte, chosen int) (int, []Ignored) {
	agree := true
	for _, d := range digests {
		if d == nil || !bytes.Equal(d, digests[0]) {
			agree = false
		}
	}
	if agree {
		return chosen, nil
	}
	first := FirstRecorded(copies)
	var ignored []Ignored
	for i, c := range copies {
		var why string
		switch {
		case i == first:
			continue
		case digests[i] == nil:
			why = "it has no recorded sha256, so its content cannot be compared without downloading it"
		case digests[first] == nil:
			why = fmt.Sprintf("sha256 %s, which cannot be compared with the copy served: that one has no recorded sha256", hex.EncodeToString(digests[i]))
		case !bytes.Equal(digests[i], digests[first]):
			why = fmt.Sprintf("different content: sha256 %s, not %s", hex.EncodeToString(digests[i]), hex.EncodeToString(digests[first]))
		default:
			continue // the same content as the copy served
		}
		ignored = append(ignored, Ignored{Candidate: c, Reason: why})
	}
	return first, ignored
}

// FirstRecorded returns the index of the copy the storage recorded first:
// the earliest ModTime, ties (Azure lists times to the second) broken by
// key order.
func FirstRecorded(copies []Candidate) int {
	first := 0
	for i, c := range copies[1:] {
		f := copies[first]
		if c.ModTime.Before(f.ModTime) || (c.ModTime.Equal(f.ModTime) && c.Key < f.Key) {
			first = i + 1
		}
	}
	return first
}
