package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rida-build/rida"
)

// StreamEvent is one record of a module build's live event stream.
type StreamEvent struct {
	// Seq orders the stream; resuming after it continues without a gap.
	Seq              int64
	Type             rida.EventType
	MessageID        string
	ModuleBuildID    int64
	ComponentBuildID int64
	Time             time.Time
	// Body is the bus message body (docs/messages.md).
	Body json.RawMessage
}

// StreamModuleEvents reads the build's event stream (NDJSON) from after,
// calling fn for each event in order, until the server ends the stream
// (the build ended), ctx is done or fn returns an error. It returns the
// last sequence number handled, so a caller whose stream broke resumes
// from there.
func (c *Client) StreamModuleEvents(ctx context.Context, id, after int64, fn func(StreamEvent) error) (int64, error) {
	u := c.baseURL + "/rida/module-builds/" + strconv.FormatInt(id, 10) + "/events?" +
		url.Values{"after": {strconv.FormatInt(after, 10)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return after, err
	}
	req.Header.Set("Accept", "application/x-ndjson")
	// The stream lasts as long as the build: the client's overall timeout
	// must not cut it.
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return after, &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("GET %s: the server did not answer", u), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("GET %s: %s", u, resp.Status)
		}
		return after, &rida.Error{Code: codeOf(resp.StatusCode), Message: e.Message}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var rec streamEvent
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return after, fmt.Errorf("event stream of module build %d: bad record after %d: %w", id, after, err)
		}
		ev := StreamEvent{Seq: rec.Seq, Type: rec.Type, MessageID: rec.MessageID, ModuleBuildID: rec.ModuleBuildID, Body: rec.Body}
		if rec.ComponentBuildID != nil {
			ev.ComponentBuildID = *rec.ComponentBuildID
		}
		ev.Time, _ = time.Parse(time.RFC3339Nano, rec.Time)
		if err := fn(ev); err != nil {
			return after, err
		}
		after = rec.Seq
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return after, &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("event stream of module build %d broke after %d", id, after), Err: err}
	}
	return after, ctx.Err()
}
