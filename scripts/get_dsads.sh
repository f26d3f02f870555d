#!/usr/bin/env bash
# Get the complete DSADS (9,120 segment files) into DEST and check it.
#
#   scripts/get_dsads.sh DEST
#
# Uses ../shared/data/dsads/dsads.tar.xz when it sits beside the checkout; otherwise
# downloads the UCI archive (data set 256, CC BY 4.0). Then checks the layout pim expects
# (a01..a19/p1..p8/s01..s60.txt under DEST or DEST/data) and the checksum of the copy
# pim's tests use.
set -euo pipefail
dest=${1:?usage: scripts/get_dsads.sh DEST}
here=$(cd "$(dirname "$0")/.." && pwd)
uci_url="https://archive.ics.uci.edu/static/public/256/daily+and+sports+activities.zip"
expected_listing=45e4299ea2154c7f1a00e378624fbd7aba7eccf7fc62b32bac76766b1c64a00d

if [ -f "$here/../shared/data/dsads/dsads.tar.xz" ]; then
  bash "$here/../shared/data/dsads/extract.sh" "$dest"
else
  mkdir -p "$dest"
  echo "downloading $uci_url"
  curl -fL --retry 3 -o "$dest/dsads.zip" "$uci_url"
  unzip -q -o "$dest/dsads.zip" -d "$dest"
  rm "$dest/dsads.zip"
fi

root="$dest"
[ -d "$root/a01" ] || root="$dest/data"
n=$(find "$root" -path '*/a[0-9][0-9]/p[0-9]/s[0-9][0-9].txt' | wc -l)
if [ "$n" != 9120 ]; then
  echo "expected 9120 segment files under $root, found $n" >&2
  exit 1
fi
listing=$(cd "$root" && LC_ALL=C find . -type f -name 's*.txt' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
if [ "$listing" = "$expected_listing" ]; then
  echo "DSADS ready in $root: 9120 files, checksum matches the copy pim is tested on"
else
  echo "DSADS ready in $root: 9120 files, but its checksum $listing differs from the tested copy" >&2
  echo "($expected_listing); pim reads it, though its numbers may differ from the README's" >&2
fi
echo "next: pim pseudo-label --config configs/dsads.json --data-dir $root --out out/dsads"
