package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"sync"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	acquireWait  = time.Second      // AcquireJob long poll
	leaseLength  = 30 * time.Second // AcquireJob lease
	retryBackoff = 100 * time.Millisecond
	checkEvery   = 20 * time.Millisecond
)

// acquire long-polls (acquireWait) for one job of the queue and type on connection i.
// The response has no lease when nothing became runnable in time. The call is never
// cancelled by the driver's stop (only by an interrupt): a cancelled long poll could lose a
// job the server had just leased.
func (d *driver) acquire(ctx context.Context, i int, workerID, queue, jobType string) (*runtimev1.AcquireJobResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, acquireWait+rpcTimeout)
	defer cancel()
	return d.worker.rt(i).AcquireJob(ctx, &runtimev1.AcquireJobRequest{
		WorkerId:      workerID,
		Queues:        []string{queue},
		JobTypes:      []string{jobType},
		Wait:          durationpb.New(acquireWait),
		LeaseDuration: durationpb.New(leaseLength),
	})
}

// createJob creates a job of the type on the queue with the admin key on connection i.
func (d *driver) createJob(ctx context.Context, i int, jobType, queue string, input []byte) (string, error) {
	resp, err := unary(ctx, func(ctx context.Context) (*runtimev1.CreateJobResponse, error) {
		return d.admin.rt(i).CreateJob(ctx, &runtimev1.CreateJobRequest{JobType: jobType, Queue: queue, Input: input})
	})
	if err != nil {
		return "", err
	}
	if resp.GetJob().GetId() == "" {
		return "", fmt.Errorf("CreateJob returned no job")
	}
	return resp.GetJob().GetId(), nil
}

// stopped tells whether ch is closed.
func stopped(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// cancelAt derives a context cancelled at t. Unlike a deadline it is not sent to the server
// (as grpc-timeout), which would end the call with DEADLINE_EXCEEDED a little before t.
func cancelAt(ctx context.Context, t time.Time) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(time.Until(t), cancel)
	return ctx, func() {
		timer.Stop()
		cancel()
	}
}

// pause waits d or until ctx is done.
func pause(ctx context.Context, d time.Duration) {
	sleepUntil(ctx, time.Now().Add(d))
}

// toolCallArgs are the precomputed ledger inputs of tool call i (1-based): the call key, the
// arguments' digest (SHA-256 of canonical {"i":i}) and the result recorded.
type toolCallArgs struct {
	key    string
	digest []byte
	result []byte
}

func makeToolCalls(n int) []toolCallArgs {
	calls := make([]toolCallArgs, n)
	for i := range calls {
		key := strconv.Itoa(i + 1)
		sum := sha256.Sum256([]byte(`{"i":` + key + `}`))
		calls[i] = toolCallArgs{key: key, digest: sum[:], result: []byte(`{"i":` + key + `,"ok":true}`)}
	}
	return calls
}

// jobClock remembers when each job was created and when its completion was acknowledged,
// both on this process's monotonic clock. Joined at the end, so that a worker finishing a
// job before its CreateJob response arrived is no race.
type jobClock struct {
	mu      sync.Mutex
	created map[string]time.Time
	done    map[string]time.Time
}

func newJobClock() *jobClock {
	return &jobClock{created: map[string]time.Time{}, done: map[string]time.Time{}}
}

func (c *jobClock) markCreated(id string, at time.Time) {
	c.mu.Lock()
	c.created[id] = at
	c.mu.Unlock()
}

func (c *jobClock) markDone(id string, at time.Time) {
	c.mu.Lock()
	c.done[id] = at
	c.mu.Unlock()
}

// counts returns how many jobs were created and how many of those are done.
func (c *jobClock) counts() (created, done int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.done {
		if _, ok := c.created[id]; ok {
			done++
		}
	}
	return len(c.created), done
}

// notDone lists the created jobs whose completion was never acknowledged.
func (c *jobClock) notDone() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id := range c.created {
		if _, ok := c.done[id]; !ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// waitAllDone polls until every created job is done, the deadline passes or ctx ends; it
// returns how long it waited.
func (c *jobClock) waitAllDone(ctx context.Context, deadline time.Duration) time.Duration {
	began := time.Now()
	for time.Since(began) < deadline && ctx.Err() == nil {
		if created, done := c.counts(); done >= created {
			break
		}
		pause(ctx, checkEvery)
	}
	return time.Since(began)
}

// forEach runs fn over ids with n goroutines.
func forEach(ids []string, n int, fn func(i int, id string)) {
	var wg sync.WaitGroup
	next := make(chan string)
	for g := range n {
		wg.Go(func() {
			for id := range next {
				fn(g, id)
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
}
