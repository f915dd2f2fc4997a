package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"
)

// newClientID names this process's River client: host, pid and a random
// suffix, unique across replicas and restarts.
func newClientID() string {
	host, _ := os.Hostname()
	host = strings.NewReplacer(".", "_", "-", "_").Replace(host)
	if len(host) > 40 {
		host = host[:40]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s_%d_%s", host, os.Getpid(), hex.EncodeToString(b))
}

// startLease keeps this process's worker lease alive and, on every renewal,
// makes jobs available again that a dead process left running. The first
// rescue happens before River starts. The returned func stops renewing and
// drops the lease.
func (a *App) startLease(ctx context.Context) (func(), error) {
	ttl := a.Config.WorkerLeaseTTL
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	if err := a.Store.RenewLease(ctx, a.clientID, ttl); err != nil {
		return nil, fmt.Errorf("worker lease: %w", err)
	}
	a.rescue(ctx)
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 4)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				if err := a.Store.RenewLease(lctx, a.clientID, ttl); err != nil && lctx.Err() == nil {
					a.Logger.Warn("renewing worker lease failed", "error", err)
				}
				a.rescue(lctx)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer dcancel()
		_ = a.Store.DropLease(dctx, a.clientID)
	}, nil
}

func (a *App) rescue(ctx context.Context) {
	ttl := a.Config.WorkerLeaseTTL
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	// A replica is dead once its lease has been expired for a whole TTL
	// more: twice the silence, so that a renewal late under load is not
	// taken for a death.
	n, err := a.Store.RescueOrphanedJobs(ctx, a.clientID, ttl)
	if err != nil {
		if ctx.Err() == nil {
			a.Logger.Warn("rescuing jobs of dead workers failed", "error", err)
		}
		return
	}
	if n > 0 {
		a.Logger.Info("made jobs of dead workers available again", "jobs", n)
	}
}
