package e2e

import (
	"errors"
	"io"
	"testing"
	"time"

	aetheris "github.com/aetheris/aetheris/clients/go"
	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	signalv1 "github.com/aetheris/aetheris/gen/go/aetheris/signal/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// asError decodes err with errors.As, failing the test when it is not an *aetheris.Error.
func asError(t *testing.T, what string, err error) *aetheris.Error {
	t.Helper()
	var e *aetheris.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got %T %v, want an *aetheris.Error", what, err, err)
	}
	return e
}

func TestErrorMapping(t *testing.T) {
	e := loadEnv(t)
	admin := dial(t, e, e.APIKey)
	reader := dial(t, e, e.ReaderKey)
	worker := dial(t, e, e.WorkerKey)
	other := dial(t, e, e.OtherTenantKey)
	queue := unique("go-errors")
	job := createJob(t, admin, "go-errors", queue, map[string]int{"n": 1})

	// Unknown job: NOT_FOUND with its reason and the resource named.
	unknown := aetheris.NewID()
	_, err := admin.Runtime.GetJob(ctxFor(t, 10*time.Second), &runtimev1.GetJobRequest{JobId: unknown})
	notFound := asError(t, "GetJob of an unknown id", err)
	if notFound.Code != codes.NotFound || notFound.Reason != aetheris.ReasonNotFound || notFound.Domain != aetheris.ErrorDomain ||
		notFound.Metadata["resource"] != "job" || notFound.Metadata["id"] != unknown {
		t.Fatalf("unknown job decoded as %+v", notFound)
	}
	if !aetheris.IsNotFound(err) || aetheris.Reason(err) != aetheris.ReasonNotFound || status.Code(err) != codes.NotFound {
		t.Fatalf("helpers disagree on %v", err)
	}
	if again := aetheris.ErrorFromStatus(err); again == nil || again.Reason != notFound.Reason {
		t.Fatalf("ErrorFromStatus(%v) = %+v", err, again)
	}

	// Malformed job id: INVALID_ARGUMENT naming the field in the BadRequest.
	_, err = admin.Runtime.GetJob(ctxFor(t, 10*time.Second), &runtimev1.GetJobRequest{JobId: "not-a-uuid"})
	invalid := asError(t, "GetJob of a malformed id", err)
	if invalid.Code != codes.InvalidArgument || invalid.Reason != aetheris.ReasonInvalidField ||
		len(invalid.FieldViolations) != 1 || invalid.FieldViolations[0].Field != "job_id" || invalid.FieldViolations[0].Description == "" {
		t.Fatalf("malformed job id decoded as %+v", invalid)
	}
	if !aetheris.IsInvalidArgument(err) || invalid.Field() != "job_id" {
		t.Fatalf("helpers disagree on %v", err)
	}
	_, err = admin.Runtime.CreateJob(ctxFor(t, 10*time.Second), &runtimev1.CreateJobRequest{JobType: "no spaces allowed", Queue: queue})
	if e := asError(t, "CreateJob with a bad job type", err); e.Code != codes.InvalidArgument || e.Field() != "job_type" {
		t.Fatalf("bad job type decoded as %+v", e)
	}

	// The reader role cannot write: PERMISSION_DENIED, while it can read the same job.
	_, err = reader.Runtime.CreateJob(ctxFor(t, 10*time.Second), &runtimev1.CreateJobRequest{JobType: "go-errors", Queue: queue})
	denied := asError(t, "CreateJob with the reader key", err)
	if denied.Code != codes.PermissionDenied || denied.Reason != aetheris.ReasonPermissionDenied || !aetheris.IsPermissionDenied(err) {
		t.Fatalf("reader CreateJob decoded as %+v", denied)
	}
	_, err = reader.Runtime.AppendEvents(ctxFor(t, 10*time.Second), &runtimev1.AppendEventsRequest{
		JobId: job.GetId(), Events: []*runtimev1.EventInput{{Type: "x", Payload: []byte("1")}},
	})
	if !aetheris.IsPermissionDenied(err) {
		t.Fatalf("reader AppendEvents: %v, want PERMISSION_DENIED", err)
	}
	if got := getJob(t, reader, job.GetId()); got.GetId() != job.GetId() {
		t.Fatalf("the reader read %v", got)
	}
	// A worker key may not send signals (operator or admin only).
	_, err = worker.Signal.SendSignal(ctxFor(t, 10*time.Second), &signalv1.SendSignalRequest{
		JobId: job.GetId(), Name: "approval", SignalId: aetheris.NewID(),
	})
	if !aetheris.IsPermissionDenied(err) {
		t.Fatalf("worker SendSignal: %v, want PERMISSION_DENIED", err)
	}

	// Another tenant's job is NOT_FOUND, exactly like an unknown one (unary and streaming).
	_, err = other.Runtime.GetJob(ctxFor(t, 10*time.Second), &runtimev1.GetJobRequest{JobId: job.GetId()})
	foreign := asError(t, "GetJob of another tenant's job", err)
	if foreign.Code != codes.NotFound || foreign.Reason != notFound.Reason || foreign.Metadata["resource"] != "job" {
		t.Fatalf("another tenant's job decoded as %+v", foreign)
	}
	stream, err := other.Runtime.StreamEvents(ctxFor(t, 10*time.Second), &runtimev1.StreamEventsRequest{JobId: job.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); !aetheris.IsNotFound(err) || errors.Is(err, io.EOF) {
		t.Fatalf("StreamEvents of another tenant's job: %v, want NOT_FOUND", err)
	}

	// Optimistic concurrency: ABORTED / WRONG_EXPECTED_SEQ with the actual head.
	stale := uint64(0)
	_, err = admin.Runtime.AppendEvents(ctxFor(t, 10*time.Second), &runtimev1.AppendEventsRequest{
		JobId: job.GetId(), ExpectedSeq: &stale, Events: []*runtimev1.EventInput{{Type: "x", Payload: []byte("1")}},
	})
	if e := asError(t, "AppendEvents with a stale expected_seq", err); e.Code != codes.Aborted ||
		e.Reason != aetheris.ReasonWrongExpectedSeq || e.Metadata["actual_seq"] != "1" {
		t.Fatalf("stale expected_seq decoded as %+v", e)
	}

	// A key the server does not know: UNAUTHENTICATED.
	bogus := dial(t, e, "aek_doesnotexist_secret")
	_, err = bogus.Runtime.GetJob(ctxFor(t, 10*time.Second), &runtimev1.GetJobRequest{JobId: job.GetId()})
	if !aetheris.IsUnauthenticated(err) {
		t.Fatalf("unknown key: %v, want UNAUTHENTICATED", err)
	}
}
