package resolvers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// recordingFind is a store method that returns each id's own value and records the ids of every call.
type recordingFind struct {
	mu    sync.Mutex
	calls [][]string
	err   error
}

func (f *recordingFind) find(_ context.Context, ids []string) ([]string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, slices.Clone(ids))
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "value of " + id
	}
	return out, nil
}

// TestLoaderReadIsOneCall: a read asks the store once for all the keys not cached yet, however many there
// are and however long queuing them takes. Queued through the dataloader one by one, 20,000 keys take far
// longer than its window, and the batch is cut into several calls.
func TestLoaderReadIsOneCall(t *testing.T) {
	ctx := context.Background()
	f := &recordingFind{}
	l := newLoader(f.find)
	l.Prime(ctx, "k0", "primed")

	keys := make([]string, 20_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i%19_999) // "k0" again at the end
	}
	values, err := l.read(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 1 {
		t.Fatalf("read took %d calls of the store, want 1", len(f.calls))
	}
	if got := len(f.calls[0]); got != 19_998 {
		t.Errorf("the call asked for %d ids, want the 19,998 distinct ones not cached", got)
	}
	if slices.Contains(f.calls[0], "k0") {
		t.Error("the call asked again for a key the cache held")
	}
	if values[0] != "primed" || values[19_999] != "primed" || values[1] != "value of k1" || len(values) != len(keys) {
		t.Errorf("values not aligned with keys: %q %q %q (%d)", values[0], values[1], values[19_999], len(values))
	}

	// What a read cached, a field resolver finds without asking the store.
	if v, err := load(ctx, l, "k7"); err != nil || v != "value of k7" {
		t.Errorf("load after read = %q, %v", v, err)
	}
	if again, _ := l.read(ctx, keys[:100]); len(f.calls) != 1 || again[5] != "value of k5" {
		t.Errorf("a second read of cached keys called the store (%d calls) or got %q", len(f.calls), again[5])
	}
}

// TestLoaderReadCachesErrors: a failed read is reported to the reader and to every resolver that loads one
// of its keys afterwards, without another call of the store.
func TestLoaderReadCachesErrors(t *testing.T) {
	ctx := context.Background()
	failure := errors.New("store failed")
	f := &recordingFind{err: failure}
	l := newLoader(f.find)
	if _, err := l.read(ctx, []string{"a", "b"}); !errors.Is(err, failure) {
		t.Fatalf("read error = %v, want the store's", err)
	}
	if _, err := load(ctx, l, "b"); !errors.Is(err, failure) {
		t.Errorf("load after a failed read: error %v, want the store's", err)
	}
	if len(f.calls) != 1 {
		t.Errorf("%d calls of the store, want 1", len(f.calls))
	}
}

// TestLoaderConcurrentReadsAskOnce: reads running at once (sibling fields of one request) never ask the
// store for the same key twice; the later one waits for the value being read.
func TestLoaderConcurrentReadsAskOnce(t *testing.T) {
	ctx := context.Background()
	f := &recordingFind{}
	l := newLoader(f.find)
	keys := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			values, err := l.read(ctx, keys)
			if err != nil || values[3] != "value of d" {
				t.Errorf("read = %q, %v", values, err)
			}
		})
	}
	wg.Wait()
	asked := map[string]int{}
	for _, c := range f.calls {
		for _, id := range c {
			asked[id]++
		}
	}
	for _, k := range keys {
		if asked[k] != 1 {
			t.Errorf("key %s asked of the store %d times, want 1", k, asked[k])
		}
	}
}
