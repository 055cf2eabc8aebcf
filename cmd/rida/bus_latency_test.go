package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/amqp091"
)

// TestMessageToNextBatchLatency measures, over the real RabbitMQ, how long
// rida takes from Koji's "build complete" message of a batch's last build
// to the next batch's first submission at the hub: the consumer, the nudge,
// recording the end, tagging, newRepo (run by the hub as soon as it is
// created, its repo.done message going through the broker too), and the
// submission. It builds the example again and again (two batch changes per
// build) until RIDA_BENCH_LATENCY samples are taken, and logs p50 and
// p99. It is a measurement, not a test: it asserts nothing about time, and
// runs only when asked (bench/message-latency.sh).
func TestMessageToNextBatchLatency(t *testing.T) {
	want, _ := strconv.Atoi(os.Getenv("RIDA_BENCH_LATENCY"))
	if want <= 0 {
		t.Skip("RIDA_BENCH_LATENCY not set: the latency measurement runs from bench/message-latency.sh")
	}
	brokerURL := os.Getenv("RIDA_TEST_AMQP_URL")
	if brokerURL == "" {
		t.Skip("RIDA_TEST_AMQP_URL not set: no RabbitMQ to measure over")
	}
	hub, _, repos := messagingHub(t)
	exchange, kojiQueue := randomName("rida-bench-"), randomName("rida-bench-koji-")
	kojiPub := amqp091.NewPublisher(amqp091.Config{URL: brokerURL, Exchange: exchange})
	defer kojiPub.Close()

	var (
		mu           sync.Mutex
		lastComplete time.Time
		samples      []time.Duration
	)
	hub.OnMessage(func(m rida.Message) {
		now := time.Now()
		switch m.Topic {
		case "build.complete":
			var body struct {
				Info struct {
					TaskID *int64 `json:"task_id"`
				} `json:"info"`
			}
			_ = json.Unmarshal(m.Body, &body)
			mu.Lock()
			if body.Info.TaskID != nil {
				lastComplete = now
			} else {
				lastComplete = time.Time{} // a module's CG import: no next batch
			}
			mu.Unlock()
		case "task.free":
			if method, _ := m.Properties["method"].(string); method == "build" {
				mu.Lock()
				if !lastComplete.IsZero() {
					samples = append(samples, now.Sub(lastComplete))
					lastComplete = time.Time{}
				}
				mu.Unlock()
			}
		}
		m.Topic = "koji." + m.Topic
		if err := kojiPub.Publish(context.Background(), []rida.Message{m}); err != nil {
			t.Errorf("publishing Koji's %s: %v", m.Topic, err)
		}
	})
	t.Cleanup(func() { deleteExchange(brokerURL, exchange, kojiQueue) })

	dir := t.TempDir()
	// One submitter builds more than the default submission rate allows.
	cfg := busServerConfig(t, dir, fmt.Sprintf("  kind: amqp091\n  url: %s\n  exchange: %s\n  topic_prefix: bench.rida\n"+
		"  koji:\n    queue: %s\n    bindings: [\"koji.#\"]\nauth:\n  submit_rate:\n    limit: 0\n", brokerURL, exchange, kojiQueue))
	client, _ := startKojiBusServer(t, hub, repos, dir, cfg)
	importPlatform(t, client)
	start := time.Now()
	builds := 0
	for {
		mu.Lock()
		n := len(samples)
		mu.Unlock()
		if n >= want {
			break
		}
		if builds > 0 {
			newModuleCommit(t, repos, builds)
		}
		m := submitExample(t, client, repos)
		got := waitBuild(t, client, m.ID, 2*time.Minute, "end", func(b *rida.ModuleBuild) bool { return b.State.Terminal() })
		if got.State != rida.ModuleReady {
			t.Fatalf("build %d ended %s: %q", builds, got.State, got.StateReason)
		}
		builds++
	}
	mu.Lock()
	s := slices.Clone(samples)
	mu.Unlock()
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	t.Logf("Koji build.complete → next batch's build call at the hub, over RabbitMQ: %d samples from %d builds in %v: "+
		"p50 %v, p90 %v, p99 %v, max %v",
		len(s), builds, time.Since(start).Round(time.Second), q(0.50).Round(10*time.Microsecond),
		q(0.90).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond))
}

// newModuleCommit makes a new commit of the example module (a new module
// version, one minute later per build), so it can be built again.
func newModuleCommit(t *testing.T, repos string, n int) {
	t.Helper()
	dir := filepath.Join(repos, "hello-world")
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute).Format(time.RFC3339)
	cmd := exec.Command("git", "-C", dir, "-c", "user.name=rida bench", "-c", "user.email=bench@example.org",
		"-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", "commit", "-q", "--allow-empty", "-m", "bench "+strconv.Itoa(n))
	cmd.Env = append(gitEnv(t), "GIT_COMMITTER_DATE="+when, "GIT_AUTHOR_DATE="+when)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git commit in %s: %v\n%s", dir, err, out)
	}
}
