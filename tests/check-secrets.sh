#!/usr/bin/env bash
# check-secrets.sh DIR - no secret in anything the suite wrote: every
# test's output and every file the integration tests left (logs, audit
# logs, databases, health and metrics answers), kept in DIR by
# run-all.sh and lib.sh, is searched for the fixture token's PINs
# (user, SO, the wrong one) and for every secret a test registered
# (secret_file: the Sectigo passwords, copies of the PIN). Exit 1 naming
# the files that hold one.
set -u
dir=${1:?usage: check-secrets.sh DIR}
FX=${HSMAGENT_FIXTURES:?}
values=$(mktemp)
trap 'rm -f "$values"' EXIT
for f in "$FX/pin" "$FX/so-pin" "$FX/wrong-pin"; do
	[ -s "$f" ] || { echo "check-secrets: no $f"; exit 1; }
	cat "$f"; echo
done >"$values"
[ -f "$dir/.secret-values" ] && cat "$dir/.secret-values" >>"$values"
# Secrets of fewer than 8 bytes would match by chance: none are made.
sort -u "$values" | awk 'length($0) >= 8' >"$values.u" && mv "$values.u" "$values"
nsecrets=$(wc -l <"$values")
nfiles=$(find "$dir" -type f ! -name .secret-values | wc -l)
[ "$nfiles" -gt 0 ] || { echo "check-secrets: nothing to scan in $dir"; exit 1; }
hits=$(grep -rlaF -f "$values" --exclude=.secret-values "$dir" || true)
if [ -n "$hits" ]; then
	echo "check-secrets: a secret appears in:"
	printf '  %s\n' $hits
	exit 1
fi
echo "check-secrets: $nsecrets secrets, $nfiles files of test output: none found"
