#!/bin/sh
# Fetches the realistic photos the pipeline benchmark runs on: Debian's plasma-workspace-wallpapers
# holds 5120x2880 JPEGs (2-5 MB each). They are not ours to commit, so they land in the git-ignored
# .cache/samples and this script prints the paths of the 5120x2880 JPEGs, one a line.
#
# Usage: infra/samples.sh            (idempotent: a second run only lists)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.cache/samples"
marker="$dest/.extracted"

if [ ! -f "$marker" ]; then
	mkdir -p "$dest"
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	# apt-get download needs package lists; fetch them only when the first try fails.
	if ! (cd "$work" && apt-get download plasma-workspace-wallpapers >&2); then
		apt-get update >&2
		(cd "$work" && apt-get download plasma-workspace-wallpapers >&2)
	fi
	dpkg -x "$work"/plasma-workspace-wallpapers_*.deb "$dest"
	touch "$marker"
fi

# List the JPEGs whose SOF says 5120x2880 (file(1) prints "precision 8, 5120x2880"): by content,
# not by name, since the package names files by their intended size.
find "$dest" -type f \( -name '*.jpg' -o -name '*.jpeg' \) | sort | while IFS= read -r f; do
	case $(file -b "$f") in
	*", 5120x2880,"*) printf '%s\n' "$f" ;;
	esac
done
