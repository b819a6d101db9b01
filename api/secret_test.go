package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"medicpx/shared/config"
)

// storeStub is a narrow in-memory stand-in for the secret store (the Lambda test,
// api/cmd/medicpx-api, uses the real SDK against an HTTP stand-in of Secrets Manager).
type storeStub struct {
	mu      sync.Mutex
	value   string
	err     error
	fetches atomic.Int64
}

func (s *storeStub) FetchSecret(context.Context) ([]byte, error) {
	s.fetches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return []byte(s.value), nil
}

func (s *storeStub) set(v string, err error) {
	s.mu.Lock()
	s.value, s.err = v, err
	s.mu.Unlock()
}

func TestSecretRotationWithoutDeploy(t *testing.T) {
	oldSecret, newSecret := strings.Repeat("a", 32), strings.Repeat("b", 32)
	sign := func(secret string) string {
		tok, err := SignHS256([]byte(secret), "u", "student", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	store := &storeStub{value: oldSecret}
	v, err := NewVerifierWithSource(context.Background(), config.JWT{}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v.now = func() time.Time { return now }
	if store.fetches.Load() != 1 {
		t.Fatalf("cold start fetched %d times, want 1", store.fetches.Load())
	}
	if _, err := v.Verify(sign(oldSecret)); err != nil || store.fetches.Load() != 1 {
		t.Fatalf("a valid token: %v (fetches %d; a good token must not fetch)", err, store.fetches.Load())
	}

	// The backend rotates: its new tokens verify after one fetch, old ones stop.
	store.set(newSecret, nil)
	if _, err := v.Verify(sign(newSecret)); err != nil {
		t.Fatalf("a token signed with the rotated secret: %v", err)
	}
	if store.fetches.Load() != 2 {
		t.Fatalf("fetches = %d, want 2", store.fetches.Load())
	}
	if _, err := v.Verify(sign(oldSecret)); err == nil {
		t.Fatal("a token signed with the replaced secret still verifies")
	}

	// Forged tokens: at most one fetch per interval, whatever their number, also concurrently.
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Verify(sign(strings.Repeat("x", 32))); err == nil {
				t.Error("a forged token verifies")
			}
		}()
	}
	wg.Wait()
	if n := store.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d after 50 forged tokens within the interval, want still 2", n)
	}
	now = now.Add(SecretRefetchInterval)
	for range 50 {
		_, _ = v.Verify(sign(strings.Repeat("x", 32)))
	}
	if n := store.fetches.Load(); n != 3 {
		t.Fatalf("fetches = %d after the interval, want 3", n)
	}

	// Tokens that are not HS256 signature failures never fetch.
	for _, raw := range []string{"garbage", "a.b.c", sign(newSecret)[:20]} {
		_, _ = v.Verify(raw)
	}
	if n := store.fetches.Load(); n != 3 {
		t.Fatalf("malformed tokens fetched the secret: %d", n)
	}

	// A failing store keeps the secret we have.
	now = now.Add(SecretRefetchInterval)
	store.set("", errors.New("throttled"))
	if _, err := v.Verify(sign(strings.Repeat("x", 32))); err == nil {
		t.Fatal("forged token verifies")
	}
	if _, err := v.Verify(sign(newSecret)); err != nil {
		t.Fatalf("a store outage broke valid tokens: %v", err)
	}
}

func TestSecretColdStartFailureFailsStartUp(t *testing.T) {
	store := &storeStub{err: errors.New("AccessDeniedException")}
	if _, err := NewVerifierWithSource(context.Background(), config.JWT{}, store, slog.Default()); err == nil {
		t.Fatal("started without the secret")
	}
}
