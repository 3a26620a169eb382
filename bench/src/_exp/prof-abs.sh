#!/bin/bash
# usage: prof-abs.sh scenario requests
s=$1; n=${2:-40000}
rm -rf /tmp/prof-$s; NODE_ENV=production timeout 300 node --cpu-prof --cpu-prof-dir=/tmp/prof-$s dist/profile.js $s $n
for f in /tmp/prof-$s/*; do if grep -q scenarios.js $f; then echo $f; fi; done
