package server

import (
	"fmt"

	"github.com/lindung/lindung/disclosure"
)

// statisticsOptions returns the statistics API's disclosure control from the configuration (rounding to
// disclosure.DefaultBase unless StatisticsRounding says otherwise; 1 turns it off), refusing
// settings that would publish what they mean to hide (a rounding base above k turns small counts into
// published zeros).
func (cfg Config) statisticsOptions() (disclosure.Options, error) {
	o := disclosure.Options{K: cfg.StatisticsK, Base: cfg.StatisticsRounding}.Defaults()
	if !o.Valid() {
		return o, fmt.Errorf("statistics: threshold k = %d and rounding base %d: k must be at least 1 and the base at most k",
			o.K, o.Base)
	}
	return o, nil
}
