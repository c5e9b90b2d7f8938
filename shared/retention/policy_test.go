package retention

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris for the DST case, on machines without zoneinfo
)

func TestParse(t *testing.T) {
	bad := Policy{}
	tests := []struct {
		in   string
		want Policy // zero = a *PolicyError
	}{
		{"REDUNDANCY 2", Policy{Redundancy, 2, 0}},
		{"redundancy 0", Policy{Redundancy, 0, 0}},
		{"  ReDuNdAnCy \t 3 \n", Policy{Redundancy, 3, 0}},
		{"REDUNDANCY 2\n", Policy{Redundancy, 2, 0}},
		{"redundancy\v2", Policy{Redundancy, 2, 0}},     // Python's \s has \v
		{"redundancy\u00a02", Policy{Redundancy, 2, 0}}, // and Unicode spaces
		{"redundancy\x1c2", Policy{Redundancy, 2, 0}},   // and the separators
		{"redundancy\u20282", Policy{Redundancy, 2, 0}}, // and LINE SEPARATOR
		{"redundancy 007", Policy{Redundancy, 7, 0}},    // int("007")
		{"redundancy 99999999999999999999999", Policy{Redundancy, math.MaxInt, 0}},
		{"RECOVERY WINDOW OF 1 WEEK", Policy{RecoveryWindow, 1, 'w'}},
		{"recovery window of 10 days", Policy{RecoveryWindow, 10, 'd'}},
		{"recovery window of 0 days", Policy{RecoveryWindow, 0, 'd'}},
		{" Recovery  Window\tOf 2 MONTHS ", Policy{RecoveryWindow, 2, 'm'}},
		{"recovery window of 1 month", Policy{RecoveryWindow, 1, 'm'}},
		{"recovery window of 3 weeks", Policy{RecoveryWindow, 3, 'w'}},
		{"recovery window of 1 wee\u212a", Policy{RecoveryWindow, 1, 'w'}}, // KELVIN SIGN folds to k in both
		{"recovery window of 2 day\u017f", Policy{RecoveryWindow, 2, 'd'}}, // LONG S folds to s in both
		{"recovery w\u0131ndow of 2 days", bad},                            // Python folds dotless i to i
		{"redundancy2", bad},
		{"redundancy -1", bad},
		{"redundancy 1.5", bad},
		{"redundancy 1 2", bad},
		{"redundancy", bad},
		{"redundancy \u0663", bad}, // ASCII digits only (Python: 3)
		{"recovery window of 1 monthss", bad},
		{"recovery window of 1 year", bad},
		{"recovery window of 1weeks", bad},
		{"recovery window 1 week", bad},
		{"recoverywindow of 1 week", bad},
		{"main", bad}, // Barman crashes (exit 4); a bad policy here (exit 3)
		{"MAIN", bad},
		{"", bad},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.want == bad {
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Policy != tt.in {
				t.Errorf("Parse(%q) = %v, %v; want a *PolicyError", tt.in, got, err)
			} else if want := "Cannot parse option retention_policy: " + tt.in; err.Error() != want {
				t.Errorf("Parse(%q) error %q, want %q", tt.in, err, want)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestPolicyString(t *testing.T) {
	for in, want := range map[string]string{
		"redundancy 2":                 "REDUNDANCY 2",
		"recovery window of 1 week":    "RECOVERY WINDOW OF 1 WEEKS",
		"recovery window of 2 days":    "RECOVERY WINDOW OF 2 DAYS",
		"recovery window of 3 months ": "RECOVERY WINDOW OF 3 MONTHS",
	} {
		p, err := Parse(in)
		if err != nil || p.String() != want {
			t.Errorf("Parse(%q).String() = %q, %v; want %q", in, p.String(), err, want)
		}
	}
}

func TestPointOfRecoverability(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		policy string
		now    time.Time
		want   time.Time
	}{
		{"recovery window of 1 week", nowC, utc("2024-02-03 00:00")},
		{"recovery window of 10 days", nowC, utc("2024-01-31 00:00")},
		{"recovery window of 1 month", nowC, utc("2024-01-10 00:00")}, // 31 days
		{"recovery window of 2 months", nowC, utc("2023-12-10 00:00")},
		{"recovery window of 0 days", nowC, nowC},
		// Python subtracts from the local wall clock: one day back across
		// the spring-forward night is 23 hours.
		{"recovery window of 1 day", time.Date(2024, 3, 31, 12, 0, 0, 0, paris), time.Date(2024, 3, 30, 12, 0, 0, 0, paris)},
	}
	for _, tt := range tests {
		p, err := Parse(tt.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.PointOfRecoverability(tt.now); !got.Equal(tt.want) {
			t.Errorf("%s at %v: %v, want %v", tt.policy, tt.now, got, tt.want)
		}
	}
	if d := time.Date(2024, 3, 31, 12, 0, 0, 0, paris).Sub(time.Date(2024, 3, 30, 12, 0, 0, 0, paris)); d != 23*time.Hour {
		t.Errorf("the DST case is not one: %v", d)
	}
	huge, _ := Parse("recovery window of 99999999999999999999 months")
	if got := huge.PointOfRecoverability(nowC); !got.Before(utc("0001-01-01 00:00")) {
		t.Errorf("a huge window reaches back to %v only", got)
	}
}

// TestReportC is spec §11.2, every row.
func TestReportC(t *testing.T) {
	const (
		O  = Obsolete
		V  = Valid
		KS = KeptStandalone
		KF = KeptFull
		N  = NoStatus
		OP = PotentiallyObsolete
	)
	ids := []string{"20240101T000000", "20240108T000000", "20240115T000000", "20240122T000000", "20240129T000000", "20240205T000000"}
	tests := []struct {
		policy   string
		min      int
		want     [6]Status
		warnings []string
	}{
		{"REDUNDANCY 1", 0, [6]Status{O, KS, N, O, KF, V}, nil},
		{"REDUNDANCY 2", 0, [6]Status{O, KS, N, O, KF, V}, nil},
		{"REDUNDANCY 3", 0, [6]Status{O, KS, N, V, KF, V}, nil},
		{"REDUNDANCY 0", 0, [6]Status{O, KS, N, O, KF, O}, nil},
		{"REDUNDANCY 1", 3, [6]Status{O, KS, N, V, KF, V}, []string{
			"Retention policy redundancy (1) is lower than the required minimum redundancy (3). Enforce 3."}},
		{"RECOVERY WINDOW OF 1 WEEK", 0, [6]Status{O, KS, N, O, KF, V}, nil},
		{"RECOVERY WINDOW OF 10 DAYS", 0, [6]Status{O, KS, N, O, KF, V}, nil},
		{"RECOVERY WINDOW OF 0 DAYS", 0, [6]Status{O, KS, N, O, KF, V}, nil},
		{"RECOVERY WINDOW OF 1 WEEK", 4, [6]Status{O, KS, N, OP, KF, V}, []string{
			"Keeping obsolete backup 20240122T000000 for server srv (older than 2024-02-03 00:00:00+00:00) due to minimum redundancy requirements (4)"}},
		{"RECOVERY WINDOW OF 3 WEEKS", 0, [6]Status{O, KS, N, V, KF, V}, nil},
		{"RECOVERY WINDOW OF 1 MONTH", 0, [6]Status{O, KS, N, V, KF, V}, nil},
		{"RECOVERY WINDOW OF 2 MONTHS", 0, [6]Status{V, KS, N, V, KF, V}, nil},
	}
	for _, tt := range tests {
		p, err := Parse(tt.policy)
		if err != nil {
			t.Fatal(err)
		}
		got, warnings := Report(p, fixtureC(), nowC, tt.min, "srv")
		want := map[string]Status{}
		for i, id := range ids {
			want[id] = tt.want[i]
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s -m %d:\n got %v\nwant %v", tt.policy, tt.min, got, want)
		}
		if !reflect.DeepEqual(warnings, tt.warnings) {
			t.Errorf("%s -m %d: warnings %q, want %q", tt.policy, tt.min, warnings, tt.warnings)
		}
	}
}

func TestReportEdges(t *testing.T) {
	red := func(n int) Policy { return Policy{Kind: Redundancy, Value: n} }
	week := Policy{Kind: RecoveryWindow, Value: 1, Unit: 'w'}
	done := func(id, end string) Backup {
		return Backup{ID: id, Status: StatusDone, Timeline: 1, BeginWAL: "000000010000000000000001", EndWAL: "000000010000000000000001", EndTime: utc(end)}
	}
	tests := []struct {
		name    string
		policy  Policy
		min     int
		backups []Backup
		want    map[string]Status
	}{
		{"empty catalog", red(1), 0, nil, map[string]Status{}},
		{"order is by ID, not by end time", red(1), 0,
			[]Backup{done("20240102T000000", "2024-01-01 00:00"), done("20240101T000000", "2024-01-05 00:00")},
			map[string]Status{"20240102T000000": Valid, "20240101T000000": Obsolete}},
		{"WAITING_FOR_WALS is not DONE for the report", red(0), 0,
			[]Backup{{ID: "20240101T000000", Status: StatusWaitingForWALs}},
			map[string]Status{"20240101T000000": NoStatus}},
		{"window: kept backup past the window is kept, counted for minimum redundancy", week, 2,
			[]Backup{done("20240209T000000", "2024-02-01 00:00"), func() Backup { b := done("20240201T000000", "2024-01-01 00:00"); b.Keep = KeepFull; return b }(), done("20240101T000000", "2024-01-01 00:00")},
			map[string]Status{"20240209T000000": Valid, "20240201T000000": KeptFull, "20240101T000000": Obsolete}},
		{"window: no end_time counts as inside the window", week, 0,
			[]Backup{{ID: "20240209T000000", Status: StatusDone}, done("20240101T000000", "2024-01-01 00:00"), done("20231201T000000", "2023-12-01 00:00")},
			map[string]Status{"20240209T000000": Valid, "20240101T000000": Valid, "20231201T000000": Obsolete}},
		{"window: every backup inside the window", week, 0,
			[]Backup{done("20240209T000000", "2024-02-09 00:00"), done("20240208T000000", "2024-02-08 00:00")},
			map[string]Status{"20240209T000000": Valid, "20240208T000000": Valid}},
	}
	for _, tt := range tests {
		got, _ := Report(tt.policy, tt.backups, nowC, tt.min, "srv")
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %v\nwant %v", tt.name, got, tt.want)
		}
	}
}

func TestObsoleteIDs(t *testing.T) {
	got := ObsoleteIDs(map[string]Status{"b": Obsolete, "a": Obsolete, "c": PotentiallyObsolete, "d": Valid, "e": KeptFull})
	if want := []string{"a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ObsoleteIDs = %v, want %v", got, want)
	}
}

func TestPyDatetime(t *testing.T) {
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{utc("2024-02-03 00:00"), "2024-02-03 00:00:00+00:00"},
		{time.Date(2024, 1, 2, 3, 4, 5, 120000000, time.FixedZone("", 5*3600+1800)), "2024-01-02 03:04:05.120000+05:30"},
		{time.Date(2024, 1, 2, 3, 4, 5, 999, time.UTC), "2024-01-02 03:04:05+00:00"}, // below a microsecond
	} {
		if got := pyDatetime(tt.t); got != tt.want {
			t.Errorf("pyDatetime(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}
