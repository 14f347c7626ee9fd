package qualify_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/qualify"
)

func TestTotalAndPass(t *testing.T) {
	for _, tc := range []struct {
		name    string
		scores  qualify.Dimensions
		weights qualify.Dimensions
		passing int32
		centi   int64
		text    string
		pass    bool
	}{
		{"equal weights", qualify.Dimensions{80, 70, 90, 60}, qualify.DefaultWeights, 70, 7500, "75", true},
		{"weights shift the total", qualify.Dimensions{100, 0, 0, 50}, qualify.Dimensions{10, 20, 30, 40}, 30, 3000, "30", true},
		{"knowledge only", qualify.Dimensions{100, 100, 100, 55}, qualify.Dimensions{0, 0, 0, 100}, 60, 5500, "55", false},
		{"fraction kept exactly", qualify.Dimensions{71, 70, 70, 70}, qualify.Dimensions{10, 30, 30, 30}, 70, 7010, "70.1", true},
		{"exactly at the threshold passes", qualify.Dimensions{70, 70, 70, 70}, qualify.DefaultWeights, 70, 7000, "70", true},
		{"a hundredth below fails", qualify.Dimensions{69, 70, 70, 70}, qualify.Dimensions{1, 33, 33, 33}, 70, 6999, "69.99", false},
		{"quarter points", qualify.Dimensions{70, 70, 70, 69}, qualify.DefaultWeights, 70, 6975, "69.75", false},
		{"zero passing score passes everything", qualify.Dimensions{}, qualify.DefaultWeights, 0, 0, "0", true},
		{"full marks at 100", qualify.Dimensions{100, 100, 100, 100}, qualify.DefaultWeights, 100, 10000, "100", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Empty(t, qualify.CheckWeights(tc.weights))
			c := qualify.TotalCenti(tc.scores, tc.weights)
			require.Equal(t, tc.centi, c)
			require.Equal(t, tc.text, qualify.FormatTotal(c))
			require.InDelta(t, float64(tc.centi)/100, qualify.Total(c), 1e-9)
			require.Equal(t, tc.pass, qualify.Passes(c, tc.passing))
		})
	}
}

func TestCheckWeights(t *testing.T) {
	require.Empty(t, qualify.CheckWeights(qualify.DefaultWeights))
	require.Empty(t, qualify.CheckWeights(qualify.Dimensions{0, 0, 0, 100}))
	require.Equal(t, "must add up to 100, got 99", qualify.CheckWeights(qualify.Dimensions{25, 25, 25, 24}))
	require.Equal(t, "must add up to 100, got 0", qualify.CheckWeights(qualify.Dimensions{}))
	require.Equal(t, "must add up to 100, got 130", qualify.CheckWeights(qualify.Dimensions{100, 10, 10, 10}))
}

func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	later, soon, past := now.Add(48*time.Hour), now.Add(time.Hour), now.Add(-time.Second)
	pass := func(id string, until *time.Time) qualify.Result {
		return qualify.Result{AssessmentID: id, TotalCenti: 8250, Passed: true, PassingScore: 70, ValidUntil: until}
	}
	fail := qualify.Result{AssessmentID: "f", TotalCenti: 5500, PassingScore: 70}
	for _, tc := range []struct {
		name      string
		required  []string
		latest    map[string]qualify.Result
		state     qualify.State
		standings []qualify.Standing
		reasons   []string
		expire    *time.Time
		summary   string
	}{
		{name: "nothing required is qualified", state: qualify.Qualified, summary: "no course is required for the role"},
		{name: "never assessed is a trainee", required: []string{"a"}, state: qualify.Trainee,
			standings: []qualify.Standing{qualify.Missing}, reasons: []string{"never assessed"}, summary: "courses/a: never assessed"},
		{name: "all passed is qualified", required: []string{"a", "b"}, latest: map[string]qualify.Result{"a": pass("1", nil), "b": pass("2", nil)},
			state: qualify.Qualified, standings: []qualify.Standing{qualify.Passed, qualify.Passed},
			reasons: []string{"passed with 82.5 ≥ 70", "passed with 82.5 ≥ 70"}, summary: "passed every required course"},
		{name: "one missing is still a trainee", required: []string{"a", "b"}, latest: map[string]qualify.Result{"a": pass("1", nil)},
			state: qualify.Trainee, standings: []qualify.Standing{qualify.Passed, qualify.Missing}},
		{name: "a failure suspends", required: []string{"a", "b"}, latest: map[string]qualify.Result{"a": pass("1", &later), "b": fail},
			state: qualify.Suspended, standings: []qualify.Standing{qualify.Passed, qualify.Failed},
			reasons: []string{"passed with 82.5 ≥ 70", "failed with 55 < 70"}, summary: "courses/b: failed with 55 < 70"},
		{name: "a failure outweighs a missing course", required: []string{"a", "b"}, latest: map[string]qualify.Result{"b": fail},
			state: qualify.Suspended, standings: []qualify.Standing{qualify.Missing, qualify.Failed}},
		{name: "expiry is the earliest pass", required: []string{"a", "b"}, latest: map[string]qualify.Result{"a": pass("1", &later), "b": pass("2", &soon)},
			state: qualify.Qualified, standings: []qualify.Standing{qualify.Passed, qualify.Passed}, expire: &soon},
		{name: "an expired pass makes a trainee", required: []string{"a", "b"}, latest: map[string]qualify.Result{"a": pass("1", &later), "b": pass("2", &past)},
			state: qualify.Trainee, standings: []qualify.Standing{qualify.Passed, qualify.Expired}},
		{name: "expiring exactly now has expired", required: []string{"a"}, latest: map[string]qualify.Result{"a": pass("1", &now)},
			state: qualify.Trainee, standings: []qualify.Standing{qualify.Expired},
			reasons: []string{"passed with 82.5 ≥ 70; expired at 2026-03-02T09:00:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := qualify.Evaluate(tc.required, tc.latest, now)
			require.Equal(t, tc.state, got.State)
			require.Equal(t, tc.expire, got.ExpireTime)
			var standings []qualify.Standing
			var reasons []string
			for i, c := range got.Courses {
				require.Equal(t, tc.required[i], c.CourseID)
				standings = append(standings, c.Standing)
				reasons = append(reasons, c.Reason)
				if c.Standing == qualify.Missing {
					require.Nil(t, c.Result)
				} else {
					require.Equal(t, tc.latest[c.CourseID].AssessmentID, c.Result.AssessmentID)
				}
			}
			require.Equal(t, tc.standings, standings)
			if tc.reasons != nil {
				require.Equal(t, tc.reasons, reasons)
			}
			if tc.summary != "" {
				require.Equal(t, tc.summary, got.Summary())
			}
		})
	}
}
