package server

import (
	"fmt"
	"net/http"

	"github.com/lindung/lindung/disclosure"
	"github.com/lindung/lindung/resolvers"
)

// statisticsOptions returns the statistics API's disclosure control from the configuration, refusing
// settings that would publish what they mean to hide (a rounding base above k turns small counts into
// published zeros).
func (cfg Config) statisticsOptions() (disclosure.Options, error) {
	o := disclosure.Options{K: cfg.StatisticsK, Base: cfg.StatisticsRounding}
	if o.K == 0 {
		o.K = disclosure.DefaultK
	}
	if !o.Valid() {
		return o, fmt.Errorf("statistics: threshold k = %d and rounding base %d: k must be at least 1 and the base at most k",
			o.K, o.Base)
	}
	return o, nil
}

// withStatistics gives every GraphQL request the statistics API's disclosure-control settings.
func withStatistics(o disclosure.Options, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(resolvers.WithStatisticsOptions(r.Context(), o)))
	})
}
