package aetheris_test

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"os"
	"time"

	aetheris "github.com/aetheris/aetheris/clients/go"
	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
)

func ExampleDial() {
	ctx := context.Background()
	client, err := aetheris.Dial(ctx, "127.0.0.1:50051", aetheris.WithAPIKey(os.Getenv("AETHERIS_API_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	created, err := client.Runtime.CreateJob(ctx, &runtimev1.CreateJobRequest{
		JobType: "refund-agent", Queue: "refunds", Input: []byte(`{"order":"A-1"}`), IdempotencyKey: "refund-A-1",
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Runtime.GetJob(ctx, &runtimev1.GetJobRequest{JobId: created.GetJob().GetId()})
	if aetheris.IsNotFound(err) {
		log.Print("unknown, or another tenant's")
	}
	var e *aetheris.Error
	if errors.As(err, &e) {
		log.Print(e.Code, e.Reason, e.Metadata, e.Field())
	}
}

func ExampleWorker() {
	ctx := context.Background()
	client, err := aetheris.Dial(ctx, "127.0.0.1:50051", aetheris.WithAPIKey(os.Getenv("AETHERIS_WORKER_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	lookup := func(input json.RawMessage) (any, error) { return map[string]any{"order": input}, nil }
	refund := func(order json.RawMessage, idempotencyKey string) (any, error) {
		return map[string]any{"refunded": order, "key": idempotencyKey}, nil
	}

	worker := &aetheris.Worker{Client: client, Queue: "refunds", LeaseDuration: 30 * time.Second}
	worker.Register("refund-agent", func(ctx context.Context, job *aetheris.JobContext) ([]byte, error) {
		order, err := job.Tool("lookup-order", job.Input, func(string) (any, error) { return lookup(job.Input) })
		if err != nil {
			return nil, err
		}
		approval, err := job.AwaitSignal("approval", 24*time.Hour) // parks the job: ErrJobParked
		if err != nil {
			return nil, err
		}
		result, err := job.Tool("issue-refund", order, func(idempotencyKey string) (any, error) {
			return refund(order, idempotencyKey) // same key on every attempt: job_id:call_key
		}, aetheris.Idempotent())
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"refund": result, "approved_by": approval.Payload})
	})
	if err := worker.Run(ctx); err != nil { // until ctx ends
		log.Fatal(err)
	}
}

func ExampleVerifyChain() {
	var events []*runtimev1.Event // ReadEvents or StreamEvents of one job, in seq order
	if err := aetheris.VerifyChain("acme", events); err != nil {
		var broken *aetheris.ChainError
		if errors.As(err, &broken) {
			log.Printf("tampered at seq %d: %s", broken.Seq, broken.Problem)
		}
	}
}
