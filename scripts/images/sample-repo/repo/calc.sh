#!/bin/sh
# add A B: prints A + B. (Bug: subtracts.)
add() { echo $(( $1 - $2 )); }
