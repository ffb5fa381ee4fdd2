#!/bin/sh
# Exit 0 when add works.
. /repo/calc.sh
[ "$(add 2 3)" = 5 ] && echo "test passed" && exit 0
echo "test failed: add 2 3 = $(add 2 3), expected 5"
exit 1
