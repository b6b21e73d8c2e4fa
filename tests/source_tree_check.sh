#!/bin/sh
# The suite leaves the source tree as it found it: `before` records
# `git status --porcelain` of the checkout (a CTest fixture set-up, run
# first), `after` (its clean-up, run last) fails when it differs, naming
# what the tests wrote. Outside a git checkout there is nothing to compare.
#   source_tree_check.sh before|after SOURCE_DIR STATE_FILE
set -eu
mode="$1"; src="$2"; state="$3"
if ! git -c safe.directory="$src" -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "source_tree_check: $src is not a git checkout; nothing to check"
  exit 0
fi
now="$(git -c safe.directory="$src" -C "$src" status --porcelain --untracked-files=all)"
case "$mode" in
  before)
    printf '%s\n' "$now" > "$state"
    echo "source_tree_check: recorded the status of $src"
    ;;
  after)
    before="$(cat "$state" 2>/dev/null || true)"
    if [ "$now" != "$before" ]; then
      echo "source_tree_check: the test suite changed the source tree $src:" >&2
      printf '%s\n' "$now" > "$state.after"
      diff "$state" "$state.after" >&2 || true
      exit 1
    fi
    echo "source_tree_check: $src is as the suite found it"
    ;;
  *) echo "usage: source_tree_check.sh before|after SOURCE_DIR STATE_FILE" >&2; exit 2 ;;
esac
