package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/bus"
)

// EventReader reads one module build's events from the outbox, which is
// the stream's only source: a stream resumes after any server restart from
// the sequence number the client saw last.
type EventReader interface {
	ModuleBuildEvents(ctx context.Context, moduleID, after int64, limit int) ([]rida.Event, error)
}

// streamEvent is one record of the live event stream: the outbox event, its
// bus message id and topic, and the message body.
type streamEvent struct {
	Seq              int64           `json:"seq"`
	Type             rida.EventType  `json:"type"`
	MessageID        string          `json:"message_id"`
	ModuleBuildID    int64           `json:"module_build_id"`
	ComponentBuildID *int64          `json:"component_build_id"`
	Time             string          `json:"time"`
	Body             json.RawMessage `json:"body"`
}

// streamBatch bounds the events read from the outbox at once.
const streamBatch = 200

// streamPoll is how often a stream reads the outbox without a signal:
// events committed by another process (an engine beside an API replica)
// reach watchers within it.
const streamPoll = time.Second

// streamKeepAlive is how often an idle SSE stream sends a comment, so
// proxies do not close it.
const streamKeepAlive = 15 * time.Second

func (s *Server) registerEventRoutes() {
	s.handle("GET /rida/module-builds/{id}/events", s.streamModuleEvents)
}

// streamModuleEvents serves GET /rida/module-builds/{id}/events: the
// build's state changes, modules' and components', as Server-Sent Events
// (Accept: text/event-stream; resumed with Last-Event-ID) or NDJSON
// (otherwise), from ?after=<seq> (default 0: the whole history). The
// stream ends once the build has ended (ready, garbage, done for a scratch
// build, failed with nothing left running) and every event is sent, or
// at once with ?follow=false.
func (s *Server) streamModuleEvents(w http.ResponseWriter, r *http.Request) error {
	if s.config.Events == nil {
		return rida.Errorf(rida.CodeUnavailable, "This server has no event stream.")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return rida.Errorf(rida.CodeInvalid, "The module build id %q is not a positive integer.", r.PathValue("id"))
	}
	after, err := streamStart(r)
	if err != nil {
		return err
	}
	follow := true
	if v := r.URL.Query().Get("follow"); v != "" {
		if follow, err = strconv.ParseBool(v); err != nil {
			return rida.Errorf(rida.CodeInvalid, "follow must be true or false, not %q.", v)
		}
	}
	// Unknown builds are a 404 before the stream starts.
	if _, err := s.service.FindModuleBuildByID(r.Context(), id, rida.ModuleBuildInclude{}); err != nil {
		return err
	}
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()

	ctx := r.Context()
	poll := time.NewTicker(streamPoll)
	defer poll.Stop()
	lastWrite := time.Now()
	for {
		var changed <-chan struct{}
		if s.config.EventsChanged != nil {
			changed = s.config.EventsChanged()
		}
		// The build's state is read before its events: when it has ended,
		// the events read next include the one that ended it.
		ended, err := s.buildEnded(ctx, id)
		if err != nil {
			s.logger.WarnContext(ctx, "event stream: reading the build", "module_build_id", id, "err", err)
			return nil // the status is sent; the client resumes with after=
		}
		events, err := s.config.Events.ModuleBuildEvents(ctx, id, after, streamBatch)
		if err != nil {
			s.logger.WarnContext(ctx, "event stream: reading events", "module_build_id", id, "err", err)
			return nil
		}
		for _, e := range events {
			if err := writeStreamEvent(w, sse, e, s.config.TopicPrefix); err != nil {
				return nil // the client went away
			}
			after = e.ID
		}
		if len(events) > 0 {
			if rc.Flush() != nil {
				return nil
			}
			lastWrite = time.Now()
		}
		if len(events) == streamBatch {
			continue
		}
		if ended || !follow {
			return nil
		}
		if sse && time.Since(lastWrite) >= streamKeepAlive {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
			lastWrite = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-poll.C:
		}
	}
}

// streamStart is where a stream resumes: ?after, else SSE's Last-Event-ID,
// else the beginning.
func streamStart(r *http.Request) (int64, error) {
	v, name := r.URL.Query().Get("after"), "after"
	if v == "" {
		v, name = r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, rida.Errorf(rida.CodeInvalid, "%s must be a sequence number (a non-negative integer), not %q.", name, v)
	}
	return n, nil
}

// buildEnded reports whether nothing more will happen to the build unless
// someone resumes it.
func (s *Server) buildEnded(ctx context.Context, id int64) (bool, error) {
	m, err := s.service.FindModuleBuildByID(ctx, id, rida.ModuleBuildInclude{Components: true})
	if err != nil {
		return false, err
	}
	switch m.State {
	case rida.ModuleReady, rida.ModuleGarbage:
		return true, nil
	case rida.ModuleDone:
		return m.Scratch, nil
	case rida.ModuleFailed:
		// The engine cancels what still runs after the failure; those
		// events belong to the stream.
		for _, c := range m.Components {
			if c.State == rida.ComponentWaiting || c.State == rida.ComponentBuilding {
				return false, nil
			}
		}
		return true, nil
	}
	return false, nil
}

func writeStreamEvent(w http.ResponseWriter, sse bool, e rida.Event, prefix string) error {
	rec := streamEvent{
		Seq: e.ID, Type: e.Type, MessageID: bus.MessageOf(prefix, e).ID, ModuleBuildID: e.ModuleBuildID,
		Time: e.At.UTC().Format(time.RFC3339Nano), Body: e.Payload,
	}
	if e.ComponentBuildID != 0 {
		rec.ComponentBuildID = &e.ComponentBuildID
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if sse {
		_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
	} else {
		_, err = fmt.Fprintf(w, "%s\n", data)
	}
	return err
}
