package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/server"
	"github.com/lindung/lindung/telemetry"
)

// otlpReceiver is an OTLP/HTTP trace receiver in the test process, standing in for a collector.
type otlpReceiver struct {
	mu   sync.Mutex
	reqs []*coltracepb.ExportTraceServiceRequest
	raw  bytes.Buffer
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, _ := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.reqs = append(o.reqs, &req)
	o.raw.Write(b)
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// receivedSpan is a span as the collector got it, with its resource's attributes.
type receivedSpan struct {
	span     *tracepb.Span
	resource map[string]string
}

func (o *otlpReceiver) spans() []receivedSpan {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []receivedSpan
	for _, req := range o.reqs {
		for _, rs := range req.ResourceSpans {
			res := map[string]string{}
			for _, a := range rs.GetResource().GetAttributes() {
				res[a.Key] = a.GetValue().GetStringValue()
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					out = append(out, receivedSpan{s, res})
				}
			}
		}
	}
	return out
}

// TestTraceContinuesIntoLindung configures tracing only through the OpenTelemetry environment variables,
// as an operator of any OpenTelemetry SDK would, and exports to a collector in the test process. A request
// carrying a W3C traceparent, directly and through each gateway, continues that trace in Lindung's spans;
// a request without one starts a root trace, which the configured sampler (parentbased_always_off) drops.
// The spans name the service, its version and its instance, and hold no victim data.
func TestTraceContinuesIntoLindung(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "lindung-under-test")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.namespace=moha,deployment.environment.name=test")
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_off")
	tp, shutdown, err := telemetry.Tracing(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	h := newHubWith(t, func(c *server.Config) { c.Tracer = tp })
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}})
	token := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	q := `query Read($id: ID!) { victim(id: $id) { ...All } }` + "\n" + allVictimFields

	send := func(url, traceparent string, query string, vars map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || bytes.Contains(b, []byte(`"errors"`)) {
			t.Fatalf("HTTP %d: %s", res.StatusCode, truncate(b))
		}
	}
	const parent = "00f067aa0ba902b7"
	traces := map[string]string{ // who sent the traceparent → its trace id
		"direct": "4bf92f3577b34da6a3ce929d0e0e4736",
		"apollo": "5bf92f3577b34da6a3ce929d0e0e4737",
		"hive":   "6bf92f3577b34da6a3ce929d0e0e4738",
	}
	send(h.URL+"/graphql", "00-"+traces["direct"]+"-"+parent+"-01", q, map[string]any{"id": v.ID})
	send(h.URL+"/graphql", "", q, map[string]any{"id": v.ID}) // a root trace, not sampled
	for _, g := range gateways {
		gw := startGateway(t, h, g.name, []string{v.CaseRef})
		send(gw, "00-"+traces[g.name]+"-"+parent+"-01",
			`query Permits { workPermits { permitNumber holder { ...All } } }`+"\n"+allVictimFields, nil)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := recv.spans()
	byTrace := map[string]int{}
	for _, s := range spans {
		id := hex.EncodeToString(s.span.TraceId)
		byTrace[id]++
		if s.span.Name == "POST /graphql" && hex.EncodeToString(s.span.ParentSpanId) == "" {
			t.Errorf("a request span without a parent: the root trace was sampled, or the traceparent ignored")
		}
		for k, want := range map[string]string{"service.name": "lindung-under-test", "service.namespace": "moha",
			"deployment.environment.name": "test"} {
			if s.resource[k] != want {
				t.Errorf("resource %s = %q, want %q", k, s.resource[k], want)
			}
		}
		for _, k := range []string{"service.version", "service.instance.id"} {
			if s.resource[k] == "" {
				t.Errorf("the spans carry no %s", k)
			}
		}
	}
	for who, id := range traces {
		if byTrace[id] == 0 {
			t.Errorf("%s: no span of Lindung's continues trace %s (traces: %v)", who, id, byTrace)
		}
	}
	if len(byTrace) != len(traces) {
		t.Errorf("spans of %d traces, want only the %d continued ones: %v", len(byTrace), len(traces), byTrace)
	}
	recv.mu.Lock()
	raw := recv.raw.Bytes()
	recv.mu.Unlock()
	assertNoLeak(t, raw, append(v.markers(lindung.AllCategories), v.ID, v.CaseRef))
}
