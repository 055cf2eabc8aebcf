package koji

// Koji's bus messages, read as engine nudges. Two namings reach rida:
// upstream Koji's protonmsg plugin (AMQP 1.0; addresses build.complete,
// task.closed, build.tag, repo.done, ...; koji.md §4) and Fedora's
// fedora-messaging bridge (buildsys.build.state.change, buildsys.tag, ...;
// mbs.md §5.2). A message only names the tasks and tags it is about: the
// engine asks Koji what happened (engine.Nudge), so nothing here needs more
// than an id or a name, and duplicated, late or reordered messages are
// harmless.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
)

// Topics says which message topics mean what. A topic matches an entry
// when it equals it or ends with "." + entry, so the prefixes brokers and
// bridges add (org.fedoraproject.prod., VirtualTopic.eng.koji., koji.)
// need no configuration. An entry's word "*" matches any one word of the
// topic ("build.*"). A topic that equals an entry of one list takes that
// list's meaning before any wildcard entry is considered; otherwise the
// lists are tried in field order.
//
// Which naming a message uses is read from its body, not from the list
// that matched: buildsys.repo.done also ends in repo.done, and both shapes
// are read wherever they arrive.
type Topics struct {
	// BuildState are build state changes: a component build's task is
	// named in the message (Fedora's task_id, protonmsg's info.task_id).
	BuildState []string
	// TaskState are task state changes: the task and its parent.
	TaskState []string
	// Tag are tagging and untagging: the tag.
	Tag []string
	// RepoDone are finished repository regenerations: the tag, and the
	// newRepo task when the message names it.
	RepoDone []string
}

// DefaultTopics are both namings: Fedora's buildsys.* and protonmsg's.
// task.assigned and task.free change nothing rida waits for but are
// harmless to pass on; build.deleted is a build rida may still track.
func DefaultTopics() Topics {
	return Topics{
		BuildState: []string{"buildsys.build.state.change",
			"build.building", "build.complete", "build.failed", "build.canceled", "build.deleted"},
		TaskState: []string{"buildsys.task.state.change",
			"task.closed", "task.failed", "task.canceled", "task.open", "task.free", "task.assigned"},
		Tag:      []string{"buildsys.tag", "buildsys.untag", "build.tag", "build.untag"},
		RepoDone: []string{"buildsys.repo.done", "repo.done"},
	}
}

// MessageConfig configures ParseMessage and NewMessageHandler. The
// instance is not part of Topics because it is not a topic but a filter on
// a field of Fedora's bodies.
type MessageConfig struct {
	Topics
	// Instance is the Koji instance rida builds in, as Fedora's messages
	// name it in their "instance" field ("primary"; the secondary-arch hubs
	// publish under the same topics with other names). A message whose
	// instance differs is ignored, MBS's rule. A message without the field
	// is read whatever Instance is: protonmsg never sets it, and a hub's
	// own broker carries only that hub's messages. "" reads every instance.
	Instance string
}

// DefaultMessageConfig is DefaultTopics on Fedora's primary instance.
func DefaultMessageConfig() MessageConfig {
	return MessageConfig{Topics: DefaultTopics(), Instance: "primary"}
}

// kind is what a topic means.
type kind int

const (
	kindNone kind = iota
	kindBuildState
	kindTaskState
	kindTag
	kindRepoDone
)

// kindOf finds what topic means under t: exact entries of every list
// first, then wildcard entries, each pass in field order.
func (t Topics) kindOf(topic string) kind {
	lists := []struct {
		k       kind
		entries []string
	}{{kindBuildState, t.BuildState}, {kindTaskState, t.TaskState}, {kindTag, t.Tag}, {kindRepoDone, t.RepoDone}}
	for _, wild := range []bool{false, true} {
		for _, l := range lists {
			for _, e := range l.entries {
				if strings.Contains(e, "*") == wild && topicMatches(topic, e) {
					return l.k
				}
			}
		}
	}
	return kindNone
}

// topicMatches reports whether topic is entry or ends with "." + entry,
// a "*" word of entry matching any one word.
func topicMatches(topic, entry string) bool {
	if entry == "" {
		return false
	}
	if !strings.Contains(entry, "*") {
		return topic == entry || strings.HasSuffix(topic, "."+entry)
	}
	want := strings.Split(entry, ".")
	got := strings.Split(topic, ".")
	if len(got) < len(want) {
		return false
	}
	got = got[len(got)-len(want):]
	for i, w := range want {
		if w != "*" && w != got[i] {
			return false
		}
	}
	return true
}

// ParseMessage returns what m is about. ok is false for a message rida
// does not care about, which is not an error: a topic c does not list, a
// Fedora message of another Koji instance (MessageConfig.Instance), a
// build without a task (a content generator import, whose state rida
// learns from its own CGImport). An error means a topic rida reads with a
// body it cannot read (not JSON, not an object, ids that are not numbers):
// the caller logs and drops the message, since reading it again would not
// help. ok is never true together with an error.
//
// The body may be bare (fedora-messaging, protonmsg) or wrapped under
// "body" or "msg" (fedmsg's envelope), and ids may be JSON numbers or
// numeric strings. Application properties fill in what a protonmsg body
// leaves out (a task's id and parent, a repo's tag and task).
func ParseMessage(m rida.Message, c MessageConfig) (n engine.Nudge, ok bool, err error) {
	k := c.kindOf(m.Topic)
	if k == kindNone {
		return engine.Nudge{}, false, nil
	}
	body, err := decodeMessageBody(m.Body)
	if err != nil {
		return engine.Nudge{}, false, fmt.Errorf("message %q on %s: %w", m.ID, m.Topic, err)
	}
	if inst, present, err := stringField("instance", body); err != nil {
		return engine.Nudge{}, false, fmt.Errorf("message %q on %s: %w", m.ID, m.Topic, err)
	} else if present && c.Instance != "" && inst != c.Instance {
		return engine.Nudge{}, false, nil
	}
	switch k {
	case kindBuildState:
		n, ok, err = parseBuildState(body)
	case kindTaskState:
		n, ok, err = parseTaskState(body, m.Properties)
	case kindTag:
		n, ok, err = parseTag(body, m.Properties)
	case kindRepoDone:
		n, ok, err = parseRepoDone(body, m.Properties)
	}
	if err != nil {
		return engine.Nudge{}, false, fmt.Errorf("message %q on %s: %w", m.ID, m.Topic, err)
	}
	if !ok {
		return engine.Nudge{}, false, nil
	}
	return n, true, nil
}

// decodeMessageBody reads a JSON object, unwrapping fedmsg's "body" and
// "msg" envelopes. Numbers stay json.Number, so ids keep their digits.
func decodeMessageBody(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the body is empty")
		}
		return nil, fmt.Errorf("the body is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("the body has data after its JSON value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the body is %s, not a JSON object", jsonKind(v))
	}
	for _, wrapper := range []string{"body", "msg"} {
		if inner, ok := obj[wrapper].(map[string]any); ok {
			obj = inner
		}
	}
	return obj, nil
}

// parseBuildState reads a build state change: protonmsg's info.task_id,
// Fedora's task_id. No task (a CG import, an imported build) is not about
// anything rida waits for.
func parseBuildState(body map[string]any) (engine.Nudge, bool, error) {
	info, err := objectField("info", body)
	if err != nil {
		return engine.Nudge{}, false, err
	}
	id, present, err := idField("task_id", info, body)
	if err != nil || !present {
		return engine.Nudge{}, false, err
	}
	return engine.Nudge{TaskIDs: []int64{id}}, true, nil
}

// parseTaskState reads a task state change: the task and its parent, from
// protonmsg's info, Fedora's body or protonmsg's properties.
func parseTaskState(body, props map[string]any) (engine.Nudge, bool, error) {
	info, err := objectField("info", body)
	if err != nil {
		return engine.Nudge{}, false, err
	}
	id, present, err := idField("id", info, body, props)
	if err != nil {
		return engine.Nudge{}, false, err
	}
	if !present {
		return engine.Nudge{}, false, errors.New("the task state change names no task id")
	}
	n := engine.Nudge{TaskIDs: []int64{id}}
	parent, present, err := idField("parent", info, body, props)
	if err != nil {
		return engine.Nudge{}, false, err
	}
	if present && parent != id {
		n.TaskIDs = append(n.TaskIDs, parent)
	}
	return n, true, nil
}

// parseTag reads a tagging or untagging: Fedora's tag is a name,
// protonmsg's a getTag struct (and a name in the properties).
func parseTag(body, props map[string]any) (engine.Nudge, bool, error) {
	tag, present, err := tagField("tag", body, props)
	if err != nil {
		return engine.Nudge{}, false, err
	}
	if !present {
		return engine.Nudge{}, false, errors.New("the tag message names no tag")
	}
	return engine.Nudge{Tags: []string{tag}}, true, nil
}

// parseRepoDone reads a finished repo: the tag (protonmsg's
// repo.tag_name, Fedora's tag, the tag property) and the newRepo task when
// the message names one (protonmsg does; Fedora's does not).
func parseRepoDone(body, props map[string]any) (engine.Nudge, bool, error) {
	repo, err := objectField("repo", body)
	if err != nil {
		return engine.Nudge{}, false, err
	}
	tag, present, err := stringField("tag_name", repo)
	if err == nil && !present {
		tag, present, err = tagField("tag", body, props)
	}
	if err != nil {
		return engine.Nudge{}, false, err
	}
	if !present {
		return engine.Nudge{}, false, errors.New("the repo message names no tag")
	}
	n := engine.Nudge{Tags: []string{tag}}
	id, present, err := idField("task_id", body, repo, props)
	if err != nil {
		return engine.Nudge{}, false, err
	}
	if present {
		n.TaskIDs = []int64{id}
	}
	return n, true, nil
}

// objectField returns the object under key, nil when absent or null.
func objectField(key string, m map[string]any) (map[string]any, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%q is %s, not an object", key, jsonKind(v))
	}
	return obj, nil
}

// stringField returns the non-empty string under key of the first source
// that has the key with a non-null value.
func stringField(key string, sources ...map[string]any) (string, bool, error) {
	v, ok := first(key, sources)
	if !ok {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, fmt.Errorf("%q is %s, not a string", key, jsonKind(v))
	}
	if s == "" {
		return "", false, fmt.Errorf("%q is empty", key)
	}
	return s, true, nil
}

// tagField is a tag under key: a name, or a getTag struct's name.
func tagField(key string, sources ...map[string]any) (string, bool, error) {
	v, ok := first(key, sources)
	if !ok {
		return "", false, nil
	}
	if obj, isObj := v.(map[string]any); isObj {
		name, present, err := stringField("name", obj)
		if err != nil {
			return "", false, fmt.Errorf("%q: %w", key, err)
		}
		if !present {
			return "", false, fmt.Errorf("%q has no name", key)
		}
		return name, true, nil
	}
	return stringField(key, map[string]any{key: v})
}

// idField returns the id under key of the first source that has the key
// with a non-null value: a positive integer as a JSON number, a numeric
// string, or (application properties) a Go integer or float.
func idField(key string, sources ...map[string]any) (int64, bool, error) {
	v, ok := first(key, sources)
	if !ok {
		return 0, false, nil
	}
	id, err := toID(v)
	if err != nil {
		return 0, false, fmt.Errorf("%q: %w", key, err)
	}
	return id, true, nil
}

// first returns the first non-null value under key; nil sources are
// skipped.
func first(key string, sources []map[string]any) (any, bool) {
	for _, s := range sources {
		if v, ok := s[key]; ok && v != nil {
			return v, true
		}
	}
	return nil, false
}

func toID(v any) (int64, error) {
	var (
		id  int64
		err error
	)
	switch x := v.(type) {
	case json.Number:
		id, err = parseID(string(x))
	case string:
		id, err = parseID(x)
	case int:
		id = int64(x)
	case int8:
		id = int64(x)
	case int16:
		id = int64(x)
	case int32:
		id = int64(x)
	case int64:
		id = x
	case uint:
		id, err = fromUint(uint64(x))
	case uint8:
		id = int64(x)
	case uint16:
		id = int64(x)
	case uint32:
		id = int64(x)
	case uint64:
		id, err = fromUint(x)
	case float32:
		id, err = fromFloat(float64(x))
	case float64:
		id, err = fromFloat(x)
	default:
		return 0, fmt.Errorf("%s is not an id", jsonKind(v))
	}
	if err != nil {
		return 0, err
	}
	if id <= 0 {
		return 0, fmt.Errorf("%d is not an id", id)
	}
	return id, nil
}

// parseID reads an integer, written as an integer or as a float with no
// fraction (1234.0, 1.234e3).
func parseID(s string) (int64, error) {
	if id, err := strconv.ParseInt(s, 10, 64); err == nil {
		return id, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return fromFloat(f)
}

func fromUint(u uint64) (int64, error) {
	if u > math.MaxInt64 {
		return 0, fmt.Errorf("%d is out of range", u)
	}
	return int64(u), nil
}

func fromFloat(f float64) (int64, error) {
	// 2^63 is the first float64 above MaxInt64.
	if f != math.Trunc(f) || f < math.MinInt64 || f >= 1<<63 {
		return 0, fmt.Errorf("%v is not an integer", f)
	}
	return int64(f), nil
}

// jsonKind names the JSON type of a decoded value for error texts.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

// NewMessageHandler returns the bus consumer's handler: ParseMessage, then
// nudge (engine.Scheduler.Nudge). A message it cannot read is logged at
// warn and acknowledged (returns nil), since redelivery would not fix it;
// one that is about nothing rida builds (ignored by ParseMessage, or nudge
// found 0 builds) is logged at debug and acknowledged. A nudge error (the
// database is down) is returned, so the broker redelivers the message.
// A nil log discards.
func NewMessageHandler(c MessageConfig, nudge func(context.Context, engine.Nudge) (int, error), log *slog.Logger) rida.MessageHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, m rida.Message) error {
		n, ok, err := ParseMessage(m, c)
		if err != nil {
			log.WarnContext(ctx, "dropping a Koji message rida cannot read", "topic", m.Topic, "message_id", m.ID, "err", err)
			return nil
		}
		if !ok {
			log.DebugContext(ctx, "ignoring a message about nothing rida waits for", "topic", m.Topic, "message_id", m.ID)
			return nil
		}
		count, err := nudge(ctx, n)
		if err != nil {
			return fmt.Errorf("waking the builds Koji message %q on %s concerns: %w", m.ID, m.Topic, err)
		}
		if count == 0 {
			log.DebugContext(ctx, "a Koji message about no build in progress", "topic", m.Topic, "message_id", m.ID,
				"task_ids", n.TaskIDs, "tags", n.Tags)
			return nil
		}
		log.DebugContext(ctx, "a Koji message woke module builds", "topic", m.Topic, "message_id", m.ID,
			"task_ids", n.TaskIDs, "tags", n.Tags, "builds", count)
		return nil
	}
}
