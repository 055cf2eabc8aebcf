#!/usr/bin/env bash
# message-latency.sh [SAMPLES]: how long rida takes from Koji's "build
# complete" message of a batch's last build to the next batch's submission
# at the (fake) hub, over the real RabbitMQ on 127.0.0.1:5672 (or
# RIDA_TEST_AMQP_URL). It runs cmd/rida's TestMessageToNextBatchLatency,
# which builds the example module until SAMPLES (default 200) batch changes
# are measured, and prints p50, p90, p99 and the maximum.
set -euo pipefail
cd "$(dirname "$0")/.."
export RIDA_BENCH_LATENCY="${1:-200}"
export RIDA_TEST_AMQP_URL="${RIDA_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
go test -count=1 -timeout 30m -run '^TestMessageToNextBatchLatency$' -v ./cmd/rida | grep -E 'samples|^(ok|FAIL|---)'
