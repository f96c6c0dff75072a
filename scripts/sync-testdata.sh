#!/usr/bin/env bash
# Refresh the LibreNMS device recordings in tests/data/librenms/ from a copy kept
# outside the repository.
#
#   scripts/sync-testdata.sh [-n] [SOURCE]
#
# SOURCE (default: ../shared/testdata beside the repository) holds README.md,
# snmprec/*.snmprec and librenms-expected/*.json. Every file of SOURCE is copied
# byte for byte; files of tests/data/librenms/ that SOURCE no longer has are
# removed, except COPYING and NOTICE, which belong to this repository (the GPL v3
# text and the note on how the recordings are kept). Each added, changed or
# removed file is listed. -n lists them without changing anything.
#
# The tests never read SOURCE: they use tests/data/librenms/ only. After a sync,
# review with `git status` and run the recording tests before committing.
set -euo pipefail

usage() { echo "usage: $0 [-n] [SOURCE]" >&2; exit 2; }

dry_run=0
if [ "${1:-}" = "-n" ]; then dry_run=1; shift; fi
case "${1:-}" in -h|--help) echo "usage: $0 [-n] [SOURCE]"; exit 0 ;; -*) usage ;; esac
[ $# -le 1 ] || usage

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source_dir=${1:-"$repo/../shared/testdata"}
dest="$repo/tests/data/librenms"
keep=(COPYING NOTICE)

die() { echo "sync-testdata: error: $*" >&2; exit 1; }

[ -d "$source_dir/snmprec" ] || die "$source_dir/snmprec not found: give the folder holding snmprec/ and librenms-expected/"
source_dir=$(cd "$source_dir" && pwd)
[ "$source_dir" != "$dest" ] || die "the source is the destination ($dest)"
for name in "${keep[@]}"; do
    [ -f "$dest/$name" ] || die "$dest/$name is missing: restore it (git checkout -- tests/data/librenms/$name) first"
done

is_kept() {
    local name
    for name in "${keep[@]}"; do [ "$1" = "$name" ] && return 0; done
    return 1
}

# Relative paths of regular files, one per line, sorted (none of the names holds a newline).
list_files() { (cd "$1" && find . -type f -printf '%P\n' | LC_ALL=C sort); }

added=0 changed=0 removed=0 same=0
while IFS= read -r rel; do
    if is_kept "$rel"; then
        echo "kept     $rel (the repository's own; the source's copy is ignored)"
        continue
    fi
    if [ ! -e "$dest/$rel" ]; then
        echo "added    $rel"; added=$((added + 1))
    elif ! cmp -s "$source_dir/$rel" "$dest/$rel"; then
        echo "changed  $rel"; changed=$((changed + 1))
    else
        same=$((same + 1)); continue
    fi
    # install: the bytes, with ordinary permissions (the source may be read-only).
    [ "$dry_run" -eq 1 ] || install -D -m 644 "$source_dir/$rel" "$dest/$rel"
done < <(list_files "$source_dir")

if [ -d "$dest" ]; then
    while IFS= read -r rel; do
        is_kept "$rel" && continue
        if [ ! -e "$source_dir/$rel" ]; then
            echo "removed  $rel"; removed=$((removed + 1))
            [ "$dry_run" -eq 1 ] || rm -f "$dest/$rel"
        fi
    done < <(list_files "$dest")
    [ "$dry_run" -eq 1 ] || find "$dest" -mindepth 1 -type d -empty -delete
fi

summary="$added added, $changed changed, $removed removed, $same unchanged"
if [ "$dry_run" -eq 1 ]; then
    echo "sync-testdata: $summary (dry run: nothing written) from $source_dir"
else
    echo "sync-testdata: $summary in tests/data/librenms from $source_dir"
fi
