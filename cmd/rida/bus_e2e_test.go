package main

// End-to-end tests of rida's messaging against the real RabbitMQ
// (RIDA_TEST_AMQP_URL, RIDA_TEST_AMQP1_URL): "rida serve --backend koji"
// against the fake hub, with the reconciler an hour away, so only Koji's
// messages (the hub's protonmsg-shaped ones, sent through the broker) move
// the build; rida's own messages are read from a queue bound to its topics.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/amqp091"
	"github.com/rida-build/rida/amqp10"
	"github.com/rida-build/rida/bus"
	"github.com/rida-build/rida/httpapi"
	"github.com/rida-build/rida/internal/tcpproxy"
	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji/kojitest"
)

func randomName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// deleteExchange removes a test's exchange and queues from the broker.
func deleteExchange(brokerURL, exchange string, queues ...string) {
	c, err := amqp.Dial(brokerURL)
	if err != nil {
		return
	}
	defer c.Close()
	if ch, err := c.Channel(); err == nil {
		for _, q := range queues {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
		_ = ch.ExchangeDelete(exchange, false, false)
	}
}

// kojiRunner runs every task the hub creates as soon as it says so (its
// task.free message), as a very fast builder would, except build tasks of
// packages in hold, which wait until released.
type kojiRunner struct {
	hub  *kojitest.FakeHub
	mu   sync.Mutex
	hold map[string]chan struct{}
}

func (r *kojiRunner) onMessage(m rida.Message) {
	if m.Topic != "task.free" {
		return
	}
	id, ok := m.Properties["id"].(int64)
	if !ok {
		return
	}
	task, ok := r.hub.Task(id)
	if !ok {
		return
	}
	var wait chan struct{}
	if task.Method == "build" && len(task.Request) > 2 {
		opts, _ := task.Request[2].(xmlrpc.Struct)
		v, _ := opts.Get("mbs_artifact_name")
		pkg, _ := v.(string)
		r.mu.Lock()
		wait = r.hold[pkg]
		r.mu.Unlock()
	}
	go func() {
		if wait != nil {
			<-wait
		}
		_ = r.hub.RunTask(id)
	}()
}

// busServerConfig writes rida's configuration for the messaging tests:
// the reconciler an hour away, the bus as given.
func busServerConfig(t *testing.T, dir, busYAML string) string {
	t.Helper()
	cfg := filepath.Join(dir, "rida.yaml")
	body := "engine:\n  reconcile_interval: 1h\n  lease_ttl: 30s\nkoji:\n  owner: kojiadmin\nbus:\n" + busYAML
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startKojiBusServer(t *testing.T, hub *kojitest.FakeHub, repos, dir, cfg string) (*httpapi.Client, string) {
	t.Helper()
	conf := filepath.Join(dir, "koji.conf")
	if err := os.WriteFile(conf, []byte("[fake]\nserver = "+hub.URL()+"\nauthtype = password\nuser = kojiadmin\npassword = kojiadmin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := runServe(t, map[string]string{"RIDA_SCM_CACHE_DIR": filepath.Join(dir, "git-cache")},
		"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--db", "sqlite:"+filepath.Join(dir, "rida.db"),
		"--workdir", filepath.Join(dir, "builds"), "--allow-scm", "file://"+repos, "--rpms-base", "file://"+repos+"/rpms",
		"--backend", "koji", "--koji-config", conf, "--koji-profile", "fake", "--log-level", "warn")
	return httpapi.NewClient(base, nil), base
}

// messagingHub is a fake hub without AutoRun (the runner runs tasks when
// the hub announces them), with the platform's tag.
func messagingHub(t *testing.T) (*kojitest.FakeHub, *kojiRunner, string) {
	t.Helper()
	requireRealBuilds(t)
	b := &fakeKojiBuilder{fail: map[string]bool{}}
	hub := kojitest.NewHub(t, kojitest.Options{Builder: b.build})
	runner := &kojiRunner{hub: hub, hold: map[string]chan struct{}{}}
	hub.OnMessage(runner.onMessage)
	setupPlatformTag(t, hub)
	return hub, runner, exampleRepos(t)
}

// streamAll reads the build's whole event stream (it has ended).
func streamAll(t *testing.T, client *httpapi.Client, id int64) []httpapi.StreamEvent {
	t.Helper()
	var out []httpapi.StreamEvent
	if _, err := client.StreamModuleEvents(t.Context(), id, 0, func(e httpapi.StreamEvent) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestServeKoji_MessagesOverRabbitMQ(t *testing.T) {
	brokerURL := os.Getenv("RIDA_TEST_AMQP_URL")
	if brokerURL == "" {
		t.Skip("RIDA_TEST_AMQP_URL not set: no RabbitMQ to test against")
	}
	hub, runner, repos := messagingHub(t)
	exchange, kojiQueue, observed := randomName("rida-e2e-"), randomName("rida-koji-"), randomName("rida-observed-")

	// A queue bound to rida's topics, declared before rida sends anything.
	conn, err := amqp.Dial(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(observed, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(observed, "e2e.rida.#", exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteExchange(brokerURL, exchange, kojiQueue, observed) })

	// Koji's messages reach the broker directly, each twice (a duplicate
	// must be harmless); rida reaches the broker through a proxy that the
	// test cuts mid-build.
	kojiPub := amqp091.NewPublisher(amqp091.Config{URL: brokerURL, Exchange: exchange})
	defer kojiPub.Close()
	hub.OnMessage(func(m rida.Message) {
		m.Topic = "koji." + m.Topic
		for range 2 {
			if err := kojiPub.Publish(context.Background(), []rida.Message{m}); err != nil {
				t.Errorf("publishing Koji's %s: %v", m.Topic, err)
			}
		}
	})
	proxy, proxied := tcpproxy.ForURL(t, brokerURL, "5672")
	release := make(chan struct{})
	runner.mu.Lock()
	runner.hold["hello"] = release
	runner.mu.Unlock()

	dir := t.TempDir()
	cfg := busServerConfig(t, dir, fmt.Sprintf("  kind: amqp091\n  url: %s\n  exchange: %s\n  topic_prefix: e2e.rida\n"+
		"  koji:\n    queue: %s\n    bindings: [\"koji.#\"]\n", proxied, exchange, kojiQueue))
	client, _ := startKojiBusServer(t, hub, repos, dir, cfg)
	importPlatform(t, client)
	m := submitExample(t, client, repos)

	// Batches 1 and 2 move on Koji's messages alone. When the last batch
	// is building, the broker "restarts": its last build ends meanwhile,
	// and the message saying so waits in rida's queue.
	waitBuild(t, client, m.ID, 2*time.Minute, "hello building", func(b *rida.ModuleBuild) bool {
		return byPackage(b)["hello"] != nil && byPackage(b)["hello"].TaskID != 0 || b.State.Terminal()
	})
	proxy.Cut()
	close(release)
	time.Sleep(1500 * time.Millisecond) // the outage; no assertion hangs on it
	proxy.Restore()

	got := waitBuild(t, client, m.ID, 2*time.Minute, "end", func(b *rida.ModuleBuild) bool { return b.State.Terminal() })
	if got.State != rida.ModuleReady {
		t.Fatalf("build ended %s: %q", got.State, got.StateReason)
	}

	// Everything rida committed reached the queue: each event of the
	// build's stream has its message there (after dropping repeats), in
	// commit order, with the documented topics and bodies.
	events := streamAll(t, client, m.ID)
	want := map[string]bool{}
	for _, e := range events {
		want[e.MessageID] = true
	}
	byID := map[string]amqp.Delivery{}
	var order []string
	missing := func() bool {
		for id := range want {
			if _, ok := byID[id]; !ok {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(30 * time.Second)
	for missing() && time.Now().Before(deadline) {
		d, ok, err := ch.Get(observed, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if _, seen := byID[d.MessageId]; !seen && want[d.MessageId] {
			// The platform's import has messages too; only the build's
			// are compared.
			order = append(order, d.MessageId)
		}
		byID[d.MessageId] = d
	}
	var moduleStates []string
	for _, e := range events {
		d, ok := byID[e.MessageID]
		if !ok {
			t.Errorf("event %d (%s) never reached the broker", e.Seq, e.Type)
			continue
		}
		if d.RoutingKey != "e2e.rida."+string(e.Type) || d.DeliveryMode != amqp.Persistent || d.ContentType != "application/json" ||
			d.Headers["fedora_messaging_schema"] == nil || string(d.Body) != string(e.Body) {
			t.Errorf("message of event %d: key %q mode %d type %q headers %v", e.Seq, d.RoutingKey, d.DeliveryMode, d.ContentType, d.Headers)
		}
		switch e.Type {
		case rida.EventModuleStateChanged:
			var p rida.ModuleEventPayload
			if err := json.Unmarshal(d.Body, &p); err != nil || p.ID != m.ID || p.Name != "hello-world" {
				t.Errorf("module body %s", d.Body)
			}
			moduleStates = append(moduleStates, p.StateName)
		case rida.EventComponentStateChanged:
			var p rida.ComponentEventPayload
			if err := json.Unmarshal(d.Body, &p); err != nil || p.ModuleNSVC != got.NSVC() || p.Batch < 1 {
				t.Errorf("component body %s", d.Body)
			}
		}
	}
	if want := []string{"init", "wait", "build", "done", "ready"}; !slices.Equal(moduleStates, want) {
		t.Errorf("module messages %v, want %v", moduleStates, want)
	}
	// Commit order per build: the broker's order (first arrivals) is the
	// stream's.
	var streamOrder []string
	for _, e := range events {
		streamOrder = append(streamOrder, e.MessageID)
	}
	if !slices.Equal(order, streamOrder) {
		t.Errorf("messages arrived out of commit order")
	}
}

// TestServeKoji_MessagesOverAMQP10: the same over AMQP 1.0 (Koji's
// protonmsg, UMB): Koji's messages move the build, rida's reach a
// subscriber.
func TestServeKoji_MessagesOverAMQP10(t *testing.T) {
	brokerURL := os.Getenv("RIDA_TEST_AMQP1_URL")
	if brokerURL == "" {
		t.Skip("RIDA_TEST_AMQP1_URL not set: no AMQP 1.0 broker to test against")
	}
	hub, _, repos := messagingHub(t)
	kojiTopic, prefix := randomName("koji"), randomName("rida")

	// rida's messages, as a UMB subscriber would read them.
	var mu sync.Mutex
	var seen []rida.Message
	sub := amqp10.NewConsumer(amqp10.ConsumerConfig{Config: amqp10.Config{URL: brokerURL}, Sources: []string{"/topic/" + prefix + ".#"}})
	subCtx, stopSub := context.WithCancel(context.Background())
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		_ = sub.Run(subCtx, func(_ context.Context, m rida.Message) error {
			mu.Lock()
			seen = append(seen, m)
			mu.Unlock()
			return nil
		})
	}()
	defer func() { stopSub(); <-subDone }()

	kojiPub := amqp10.NewPublisher(amqp10.Config{URL: brokerURL})
	defer kojiPub.Close()
	hub.OnMessage(func(m rida.Message) {
		m.Topic = kojiTopic + "." + m.Topic
		if err := kojiPub.Publish(context.Background(), []rida.Message{m}); err != nil {
			t.Errorf("publishing Koji's %s: %v", m.Topic, err)
		}
	})
	dir := t.TempDir()
	cfg := busServerConfig(t, dir, fmt.Sprintf("  kind: amqp10\n  url: %s\n  topic_prefix: %s\n  koji:\n    sources: [\"/topic/%s.#\"]\n",
		brokerURL, prefix, kojiTopic))
	client, _ := startKojiBusServer(t, hub, repos, dir, cfg)
	// The subscriber and rida's consumer attach asynchronously; the
	// platform import's message says when the subscriber is there.
	importPlatform(t, client)
	m := submitExample(t, client, repos)
	got := waitBuild(t, client, m.ID, 2*time.Minute, "end", func(b *rida.ModuleBuild) bool { return b.State.Terminal() })
	if got.State != rida.ModuleReady {
		t.Fatalf("build ended %s: %q", got.State, got.StateReason)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := 0
		for _, msg := range seen {
			var p rida.ModuleEventPayload
			if msg.Topic == bus.Topic(prefix, rida.EventModuleStateChanged) && json.Unmarshal(msg.Body, &p) == nil && p.ID == m.ID && p.StateName == "ready" {
				n++
			}
		}
		mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("no %s message saying build %d is ready", bus.Topic(prefix, rida.EventModuleStateChanged), m.ID)
}
