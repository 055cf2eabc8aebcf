#!/bin/sh
# Prints the path of a Go toolchain at least as new as go.mod asks for.
# Uses the go on PATH (or /usr/local/go) when it is new enough; otherwise
# fetches the official toolchain from the Go module proxy into .toolchain/,
# which works on a fresh Debian machine whose own golang is too old.
# Progress goes to stderr: stdout carries only the path.
set -eu
want=1.26.8
root=$(cd "$(dirname "$0")/.." && pwd)

new_enough() {
	v=$("$1" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
	[ -n "$v" ] || return 1
	major=$(echo "$v" | cut -d. -f1)
	minor=$(echo "$v" | cut -d. -f2)
	[ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -ge 26 ]; }
}

for candidate in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go "$root/.toolchain/go/bin/go"; do
	if [ -n "$candidate" ] && [ -x "$candidate" ] && new_enough "$candidate"; then
		echo "$candidate"
		exit 0
	fi
done

echo "ensure-go: no Go >= 1.26 found; fetching go$want from the Go module proxy" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
missing=""
for tool in curl unzip; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	$sudo apt-get update -qq >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing ca-certificates >&2
fi
proxy=$(echo "${GOPROXY:-https://proxy.golang.org}" | cut -d, -f1)
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) echo "ensure-go: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
mod="v0.0.1-go$want.linux-$arch"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL "$proxy/golang.org/toolchain/@v/$mod.zip" -o "$tmp/go.zip" >&2
unzip -q "$tmp/go.zip" -d "$tmp" >&2
rm -rf "$root/.toolchain/go"
mkdir -p "$root/.toolchain"
mv "$tmp/golang.org/toolchain@$mod" "$root/.toolchain/go"
# Module zips do not record file modes.
chmod +x "$root/.toolchain/go/bin/"* "$root/.toolchain/go/pkg/tool/"*/*
echo "$root/.toolchain/go/bin/go"
