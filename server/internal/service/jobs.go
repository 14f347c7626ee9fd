package service

import (
	"context"
	"log/slog"
	"time"
)

// idempotencyRetention is how long a request_id is remembered: retries
// come within seconds or minutes, so three days is generous, and it
// bounds the table.
const idempotencyRetention = 72 * time.Hour

// runLeased calls pass every interval on whichever replica holds the
// named lease, so that several replicas share one database without doing
// the work twice. It returns when ctx ends, releasing the lease so another
// replica takes over at once.
func (b *base) runLeased(ctx context.Context, lease, holder string, interval time.Duration, pass func(context.Context) (int, error)) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	log := b.log.With(slog.String("lease", lease))
	for {
		select {
		case <-ctx.Done():
			// ctx is done, so release with a short fresh one.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = b.db.ReleaseLease(rctx, lease, holder)
			cancel()
			return nil
		case <-ticker.C:
		}
		held, err := b.db.AcquireLease(ctx, lease, holder, 3*interval)
		if err != nil {
			log.WarnContext(ctx, "lease", slog.Any("error", err))
			continue
		}
		if !held {
			continue
		}
		if n, err := pass(ctx); err != nil {
			log.WarnContext(ctx, "background pass", slog.Any("error", err))
		} else if n > 0 {
			log.InfoContext(ctx, "background pass", slog.Int("changed", n))
		}
	}
}

// purgeIdempotencyKeys forgets request ids older than the retention.
func (b *base) purgeIdempotencyKeys(ctx context.Context) (int, error) {
	n, err := b.db.PurgeIdempotencyKeys(ctx, b.now().Add(-idempotencyRetention))
	return int(n), err
}
