#!/usr/bin/env bash
# make-repos.sh DEST: turn the example modules into the git repositories rida
# reads, one per component and one for the module:
#
#   DEST/rpms/<component>   the component's spec at the root, branch main
#   DEST/hello-world        hello-world.yaml at the root, branch main
#
# Then serve with --allow-scm file://DEST --rpms-base file://DEST/rpms and
# submit file://DEST/hello-world?#main (see examples/README.md).
#
# DEST must not exist or be empty: the script never deletes anything, so a
# typo cannot wipe a directory. Commits are made with an inline identity so
# it works on a machine without git configuration.
set -euo pipefail

usage() {
	echo "usage: $0 DEST" >&2
	echo "  creates DEST/rpms/<component> and DEST/hello-world git repositories (branch main)" >&2
	exit 2
}
[ $# -eq 1 ] || usage
case $1 in -h | --help) usage ;; esac

dest=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=hello-world
src=$here/$module

if [ -e "$dest" ] && { [ ! -d "$dest" ] || [ -n "$(ls -A "$dest")" ]; }; then
	echo "$0: $dest already exists and is not an empty directory; remove it or choose another DEST" >&2
	exit 1
fi
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

# git settings that would make the result depend on the caller's
# configuration (signing, hooks, default branch) are pinned here.
git_() {
	git -c user.name="rida example" -c user.email="rida@example.org" \
		-c commit.gpgsign=false -c core.hooksPath=/dev/null -c init.defaultBranch=main "$@"
}

# repo DIR FILE...: a repository at DIR holding FILEs at its root, one commit
# on branch main.
repo() {
	local dir=$1
	shift
	mkdir -p "$dir"
	cp -- "$@" "$dir/"
	git_ init -q -b main "$dir"
	git_ -C "$dir" add -A
	git_ -C "$dir" commit -q -m "Import from rida's examples/$module"
	echo "$dir $(git -C "$dir" rev-parse HEAD)"
}

for spec in "$src"/*/*.spec; do
	component=$(basename "$(dirname "$spec")")
	repo "$dest/rpms/$component" "$(dirname "$spec")"/*
done
repo "$dest/$module" "$src/$module.yaml"
