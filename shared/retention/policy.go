package retention

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is the kind of a retention policy.
type Kind int

const (
	// Redundancy: "REDUNDANCY n", keep the n newest DONE backups.
	Redundancy Kind = iota + 1
	// RecoveryWindow: "RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS", keep what
	// point-in-time recovery to any moment of the window needs.
	RecoveryWindow
)

// Policy is a parsed retention policy.
type Policy struct {
	Kind  Kind
	Value int
	// Unit of a recovery window: 'd', 'w' or 'm' (Barman's unit letter).
	Unit byte
}

// String is Barman's __str__ of the policy: "REDUNDANCY 2",
// "RECOVERY WINDOW OF 1 WEEKS".
func (p Policy) String() string {
	if p.Kind == Redundancy {
		return fmt.Sprintf("REDUNDANCY %d", p.Value)
	}
	return fmt.Sprintf("RECOVERY WINDOW OF %d %s", p.Value,
		map[byte]string{'d': "DAYS", 'w': "WEEKS", 'm': "MONTHS"}[p.Unit])
}

// PolicyError is a retention policy Parse does not accept. Its message is
// Barman's InvalidRetentionPolicy text; barman-cloud-backup-delete logs
// "Could not create retention policy P: <message>" and exits 3.
type PolicyError struct {
	Policy string
}

func (e *PolicyError) Error() string {
	return "Cannot parse option retention_policy: " + e.Policy
}

// pyspace is Python's \s for str patterns (str.isspace): Go's \s is ASCII
// only and lacks \v.
const pyspace = `[\t\n\v\f\r\x1c-\x1f\x85\p{Z}]`

var (
	redundancyRE = regexp.MustCompile(`(?i)^` + pyspace + `*redundancy` + pyspace + `+([0-9]+)` + pyspace + `*$`)
	windowRE     = regexp.MustCompile(`(?i)^` + pyspace + `*recovery` + pyspace + `+window` + pyspace + `+of` +
		pyspace + `+([0-9]+)` + pyspace + `+(day|month|week)s?` + pyspace + `*$`)
)

// Parse reads a retention policy with the grammar of Barman's
// RedundancyRetentionPolicy and RecoveryWindowRetentionPolicy (Python re,
// case-insensitive):
//
//	^\s*redundancy\s+(\d+)\s*$
//	^\s*recovery\s+window\s+of\s+(\d+)\s+(day|month|week)s?\s*$
//
// 0 is allowed; a month is 31 days. Anything else is a *PolicyError.
//
// Deliberate differences from Barman:
//   - "main" (any case) matches Barman's SimpleWALRetentionPolicy, which
//     then crashes ("'NoneType' object has no attribute 'unit'", exit 4).
//     Here it is a bad policy like any other: the tool refuses it cleanly
//     with exit 3.
//   - Digits are ASCII only: Python's \d and int() also take other Unicode
//     decimal digits ("redundancy ٣" is 3 there). Case folding is Go's
//     Unicode simple folding, which has Python's "ſ" for s and KELVIN SIGN
//     for k but not its dotless "ı" for i.
//   - A value too large for an int saturates at the largest int (keep
//     every backup), where Python keeps the big integer for REDUNDANCY and
//     crashes with OverflowError for a window beyond year 1.
func Parse(policy string) (Policy, error) {
	if m := redundancyRE.FindStringSubmatch(policy); m != nil {
		return Policy{Kind: Redundancy, Value: atoiSaturated(m[1])}, nil
	}
	if m := windowRE.FindStringSubmatch(policy); m != nil {
		return Policy{Kind: RecoveryWindow, Value: atoiSaturated(m[1]), Unit: strings.ToLower(m[2])[0]}, nil
	}
	return Policy{}, &PolicyError{Policy: policy}
}

func atoiSaturated(digits string) int {
	n, err := strconv.Atoi(digits)
	if err != nil { // only ErrRange: the regexp admits digits only
		return math.MaxInt
	}
	return n
}

// maxWindowDays bounds the window so that the date arithmetic cannot
// overflow; 10 million days reach back further than any backup.
const maxWindowDays = 10_000_000

// PointOfRecoverability is RecoveryWindowRetentionPolicy
// ._point_of_recoverability: now minus the window. Python subtracts the
// timedelta from the local wall-clock time (an aware datetime keeps its
// wall clock and gets the offset of the new date), which is what AddDate
// does in now's location; so pass the time in time.Local, as Barman uses
// tzlocal().
func (p Policy) PointOfRecoverability(now time.Time) time.Time {
	days := p.Value
	switch p.Unit {
	case 'w':
		days = min(days, maxWindowDays/7) * 7
	case 'm':
		days = min(days, maxWindowDays/31) * 31
	}
	return now.AddDate(0, 0, -min(days, maxWindowDays))
}

// Status is a backup's retention status (BackupInfo's retention constants).
type Status string

const (
	Valid               Status = "VALID"
	Obsolete            Status = "OBSOLETE"
	PotentiallyObsolete Status = "OBSOLETE*" // past the window, kept for minimum redundancy
	NoStatus            Status = "-"         // not DONE: never counted, never deleted
	KeptFull            Status = "KEEP:FULL"
	KeptStandalone      Status = "KEEP:STANDALONE"
)

func keepStatus(k Keep) Status {
	switch k {
	case KeepStandalone:
		return KeptStandalone
	case KeepFull:
		return KeptFull
	}
	return ""
}

// Report is RetentionPolicy._backup_report over every backup of the
// catalog: the status of each backup by ID, and the warnings Barman logs
// while computing it (server names the server in them).
//
// Backups are walked by descending ID. Non-DONE backups are "-". A DONE
// backup with a keep annotation is KEEP:STANDALONE or KEEP:FULL whatever
// the policy. REDUNDANCY r (raised to minRedundancy, with a warning):
// the first r DONE backups are VALID, later ones OBSOLETE, and kept backups
// use up slots too. RECOVERY WINDOW: DONE backups are VALID down to and
// including the newest one that ended before now − window; older ones are
// OBSOLETE, or OBSOLETE* (never deleted) while fewer than minRedundancy
// DONE backups have been walked.
//
// Deliberate difference: a DONE backup without end_time (impossible in a
// backup.info Barman writes) counts as ending inside the window, where
// Python crashes comparing None with a datetime; so it never makes older
// backups obsolete.
func Report(p Policy, backups []Backup, now time.Time, minRedundancy int, server string) (map[string]Status, []string) {
	if p.Kind == Redundancy {
		return redundancyReport(p.Value, backups, minRedundancy)
	}
	return windowReport(p, backups, now, minRedundancy, server)
}

// redundancyReport mirrors RedundancyRetentionPolicy._backup_report.
func redundancyReport(redundancy int, backups []Backup, minRedundancy int) (map[string]Status, []string) {
	var warnings []string
	if redundancy < minRedundancy {
		warnings = append(warnings, fmt.Sprintf(
			"Retention policy redundancy (%d) is lower than the required minimum redundancy (%d). Enforce %d.",
			redundancy, minRedundancy, minRedundancy))
		redundancy = minRedundancy
	}
	report := make(map[string]Status, len(backups))
	i := 0
	for _, b := range byIDDesc(backups) {
		if b.Status != StatusDone {
			report[b.ID] = NoStatus
			continue
		}
		switch {
		case b.Keep != NoKeep:
			report[b.ID] = keepStatus(b.Keep)
		case i < redundancy:
			report[b.ID] = Valid
		default:
			report[b.ID] = Obsolete
		}
		i++ // kept backups use a redundancy slot too
	}
	return report, warnings
}

// windowReport mirrors RecoveryWindowRetentionPolicy._backup_report.
func windowReport(p Policy, backups []Backup, now time.Time, minRedundancy int, server string) (map[string]Status, []string) {
	var warnings []string
	point := p.PointOfRecoverability(now)
	report := make(map[string]Status, len(backups))
	found := false // found the newest backup that ended before point
	valid := 0
	for _, b := range byIDDesc(backups) {
		if b.Status != StatusDone {
			report[b.ID] = NoStatus
			continue
		}
		kept := keepStatus(b.Keep)
		switch {
		case !found:
			report[b.ID] = Valid
			if kept != "" {
				report[b.ID] = kept
			}
			valid++
			if !b.EndTime.IsZero() && b.EndTime.Before(point) {
				found = true
			}
		case valid < minRedundancy:
			report[b.ID] = PotentiallyObsolete
			if kept != "" {
				report[b.ID] = kept
			} else {
				warnings = append(warnings, fmt.Sprintf(
					"Keeping obsolete backup %s for server %s (older than %s) due to minimum redundancy requirements (%d)",
					b.ID, server, pyDatetime(point), minRedundancy))
			}
			valid++
		default:
			report[b.ID] = Obsolete
			if kept != "" {
				report[b.ID] = kept
			}
		}
	}
	return report, warnings
}

// pyDatetime is str() of an aware Python datetime: microseconds only when
// non-zero, offset as +HH:MM.
func pyDatetime(t time.Time) string {
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02 15:04:05.000000-07:00")
	}
	return t.Format("2006-01-02 15:04:05-07:00")
}

// ObsoleteIDs returns the IDs a retention run deletes, in the order it
// deletes them: status exactly OBSOLETE (not OBSOLETE*), ascending ID, as
// cloud_backup_delete.main sorts them.
func ObsoleteIDs(report map[string]Status) []string {
	var ids []string
	for id, s := range report {
		if s == Obsolete {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
