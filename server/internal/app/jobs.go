package app

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/aftersales/aftersales/server/internal/principal"
)

// Job is a background loop that runs next to the servers, such as the SLA
// breach check. Run should return when its ctx is done.
type Job struct {
	// Name identifies the job in logs and, as "system/{name}", as the
	// principal its context carries.
	Name string
	Run  func(ctx context.Context) error
}

// runJobs starts each job in its own goroutine and returns a channel closed
// when all have returned. A job that returns or panics is logged; the
// process keeps serving, because the APIs are still useful without it.
func runJobs(ctx context.Context, logger *slog.Logger, jobs []Job) <-chan struct{} {
	var wg sync.WaitGroup
	for _, job := range jobs {
		log := logger.With(slog.String("job", job.Name))
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					log.ErrorContext(ctx, "background job panicked", slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				}
			}()
			err := job.Run(principal.NewContext(ctx, principal.NewSystem(job.Name)))
			switch {
			case ctx.Err() != nil:
				log.InfoContext(ctx, "background job stopped")
			case err != nil:
				log.ErrorContext(ctx, "background job failed", slog.Any("error", err))
			default:
				log.WarnContext(ctx, "background job returned early")
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}
